"""The dashboard's pages through the ASGI client, on real jobs in Azurite and a real index:
the API's scope on every page, fragment, download and stream, and no CDN anywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api import create_app
from ascend_cli.azurite import Azurite
from shared.layout import metadata_path
from shared.metadata import JobMetadata
from shared.services import Services
from tests.support.dashboard_data import (
    X_CASES,
    error_records,
    job_with_artifact,
    job_with_log,
)
from tests.support.jobs_data import NOW, make_services
from web.auth import HEADER, encode_client_principal


@dataclass(frozen=True)
class World:
    services: Services
    client: TestClient
    mine: JobMetadata
    bobs: JobMetadata
    artifact: JobMetadata


@pytest.fixture(scope="module")
def world(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """alice's job with errors and metrics, one with an artifact, and bob's job."""
    services = make_services(azurite, tmp_path_factory.mktemp("dash"))
    mine = job_with_log(services, [], rows=X_CASES["epoch"][0])
    mine = job_with_log(services, error_records(mine), rows=X_CASES["epoch"][0])
    bobs = job_with_log(services, rows=X_CASES["epoch"][0], user="bob")
    artifact = job_with_artifact(services, user="bob")
    with TestClient(create_app(lambda: services)) as client:
        client.headers[HEADER] = encode_client_principal("alice")
        yield World(services, client, mine, bobs, artifact)


def _paths(job: JobMetadata, other: JobMetadata) -> list[str]:
    j = job.job_id
    return [
        f"/jobs/{j}",
        f"/jobs/{j}/log",
        f"/jobs/{j}/log/stream",
        f"/jobs/{j}/metrics.json",
        f"/jobs/{j}/metrics.csv",
        f"/jobs/{j}/metrics.jsonl",
        f"/jobs/{j}/artifacts/model.bin",
        f"/compare?jobs={other.job_id},{j}",
    ]


def test_another_users_job_is_the_same_404_as_a_missing_one(world: World) -> None:
    """Every page, fragment, download and stream of bob's job answers alice exactly as for a
    job ID that does not exist (status and body, with the ID swapped)."""
    missing = world.bobs.job_id[:-8] + "00000000"
    for theirs, absent in zip(
        _paths(world.bobs, world.mine), _paths_of(missing, world.mine), strict=True
    ):
        got, expected = world.client.get(theirs), world.client.get(absent)
        assert got.status_code == expected.status_code == 404, theirs
        assert got.text.replace(world.bobs.job_id, "ID") == expected.text.replace(missing, "ID"), (
            theirs
        )


def _paths_of(job_id: str, other: JobMetadata) -> list[str]:
    return [
        p.replace("JOB", job_id)
        for p in [
            "/jobs/JOB",
            "/jobs/JOB/log",
            "/jobs/JOB/log/stream",
            "/jobs/JOB/metrics.json",
            "/jobs/JOB/metrics.csv",
            "/jobs/JOB/metrics.jsonl",
            "/jobs/JOB/artifacts/model.bin",
            f"/compare?jobs={other.job_id},JOB",
        ]
    ]


def test_an_admin_of_the_project_sees_bobs_job_and_downloads_its_artifact(world: World) -> None:
    """admin:frauddetect reads bob's page and gets the artifact's bytes with their digest."""
    headers = {HEADER: encode_client_principal("carol", ("admin:frauddetect",))}
    job = world.artifact.job_id
    assert world.client.get(f"/jobs/{job}", headers=headers).status_code == 200
    response = world.client.get(f"/jobs/{job}/artifacts/model.bin", headers=headers)
    assert (response.status_code, response.content) == (200, b"model weights")
    assert response.headers["repr-digest"].startswith("sha-256=:")


def test_the_job_page_has_its_sections_and_coloured_levels(world: World) -> None:
    """The four sections are there and each log line carries its level."""
    html = world.client.get(f"/jobs/{world.mine.job_id}").text
    for section in ("metadata", "logs", "metrics", "artifacts"):
        assert f'data-section="{section}"' in html
    levels = re.findall(r'data-level="([A-Z]+)"', html)
    assert levels[:4] == ["INFO", "WARNING", "ERROR", "CRITICAL"]
    assert '<details class="tb">' in html  # the traceback is folded


def test_a_query_that_does_not_parse_is_shown_inline_with_its_column(world: World) -> None:
    """A bad query is a 200 page with the parser's message and column, not an error page."""
    response = world.client.get("/", params={"q": "status:failed bogus:1"})
    assert response.status_code == 200
    assert 'data-column="15"' in response.text
    assert "column 15" in response.text


def test_pages_and_api_docs_load_nothing_from_another_host(world: World) -> None:
    """No page references a script, stylesheet or font on another origin."""
    for path in (
        "/",
        f"/jobs/{world.mine.job_id}",
        f"/compare?jobs={world.mine.job_id}",
        "/api/docs",
    ):
        html = world.client.get(path).text
        assert not re.search(r'(src|href)=["\'](https?:)?//', html), path


def test_the_admin_page_previews_the_sweep_and_shows_each_caller_their_rejections(
    world: World,
) -> None:
    """An admin sees the next sweep's actions for an old job, and nothing is changed by
    looking; alice sees only her own rejected inputs and no sweep."""
    from indexer.rejected import record_rejection

    old = job_with_log(world.services, rows=X_CASES["step"][0], when=NOW - timedelta(days=800))
    blobs = world.services.blobs
    before = {p.name: (p.etag, p.tier) for p in blobs.list("projects/frauddetect/")}
    for user, job in (("alice", world.mine), ("bob", world.bobs)):
        record_rejection(
            blobs,
            blob=metadata_path(job.parsed_job_id),
            at=NOW,
            etag="e1",
            reason=f"{user}'s bad metadata",
            event_id=f"e-{user}",
        )
    admin = {HEADER: encode_client_principal("root", ("admin",))}
    html = world.client.get("/admin", headers=admin).text
    assert f'<a href="/jobs/{old.job_id}">' in html
    assert "data-sweep-action" in html
    assert {p.name: (p.etag, p.tier) for p in blobs.list("projects/frauddetect/")} == before
    mine = world.client.get("/admin").text
    assert "alice&#39;s bad metadata" in mine
    assert "bob&#39;s bad metadata" not in mine
    assert "data-sweep-action" not in mine


def test_a_long_series_is_downsampled_for_drawing_and_whole_in_the_downloads(world: World) -> None:
    """20,000 metrics records draw as at most 2,000 points (a spike kept); the CSV and JSON
    downloads carry all 20,000 (bench.dashboard times 100,000)."""
    rows = [{"step": i, "loss": 99.0 if i == 7_777 else 1.0 / (1 + i)} for i in range(20_000)]
    job = job_with_log(world.services, rows=rows).job_id
    data = world.client.get(f"/jobs/{job}/metrics.json").json()
    assert (data["x"], data["points"]) == ("step", 20_000)
    xs, losses = data["chart"]["data"]
    assert len(xs) <= 2000
    assert max(v for v in losses if v is not None) == 99.0
    assert len(data["table"]["rows"]) == 500
    assert data["table"]["rows"][0]["values"] == [19_999, 1.0 / 20_000]
    csv_lines = world.client.get(f"/jobs/{job}/metrics.csv").text.splitlines()
    assert len(csv_lines) == 20_001
    assert len(world.client.get(f"/jobs/{job}/metrics.jsonl").text.splitlines()) == 20_000


def test_an_artifact_whose_bytes_do_not_match_its_sha256_is_not_delivered_whole(
    world: World,
) -> None:
    """A tampered artifact's download breaks off with the reason instead of completing."""
    from shared.errors import StorageError
    from shared.layout import artifact_path

    job = job_with_artifact(world.services, data=b"the real weights")
    world.services.blobs.write(
        artifact_path(job.parsed_job_id, "model.bin"),
        b"tampered bytes!!",
        content_type="application/octet-stream",
    )
    # The status line went out before the last byte, so the server aborts the response: the
    # ASGI client reports that as the error raised after the response started.
    with pytest.raises(RuntimeError, match="response already started") as raised:
        world.client.get(f"/jobs/{job.job_id}/artifacts/model.bin")
    assert isinstance(raised.value.__cause__, StorageError)
    assert "sha256" in str(raised.value.__cause__)


def test_a_queued_job_without_a_log_has_a_page_saying_so(world: World) -> None:
    """A job with metadata but no log yet still opens; the log section says there is none."""
    from tests.support.builders import seed_job

    job = seed_job(world.services.blobs, world.services.index, status="queued").job_id
    response = world.client.get(f"/jobs/{job}")
    assert response.status_code == 200
    assert "does not exist (yet)" in response.text
    assert world.client.get(f"/jobs/{job}/metrics.json").json()["points"] == 0
