"""The HTTP API through its ASGI client (httpx), on real jobs in Azurite and a real index file."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api import create_app
from ascend_cli.azurite import Azurite
from shared.metadata import JobMetadata
from shared.principal import Principal
from shared.services import Services
from tests.support.builders import log_lines, seed_job
from tests.support.jobs_data import NOW, make_services
from web.auth import HEADER, encode_client_principal

LEVELS = ["INFO", "ERROR", "DEBUG", "CRITICAL"]


@dataclass(frozen=True)
class World:
    services: Services
    client: TestClient
    jobs: dict[str, JobMetadata]


@pytest.fixture(scope="module")
def world(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Jobs of alice and bob in frauddetect and of carol in vision, indexed, with logs."""
    services = make_services(azurite, tmp_path_factory.mktemp("api"))
    jobs = {
        "alice_old": seed_job(
            services.blobs, services.index, NOW - timedelta(days=3), levels=LEVELS
        ),
        "alice_failed": seed_job(
            services.blobs, services.index, NOW - timedelta(days=1), status="failed", levels=LEVELS
        ),
        "bob": seed_job(services.blobs, services.index, user="bob", levels=LEVELS),
        "carol": seed_job(
            services.blobs, services.index, user="carol", project="vision", levels=LEVELS
        ),
    }
    with TestClient(create_app(lambda: services)) as client:
        yield World(services, client, jobs)


def as_user(user: str, *roles: str) -> dict[str, str]:
    return {HEADER: encode_client_principal(user, roles)}


ALICE = as_user("alice")


def test_a_request_without_a_client_principal_is_refused(world: World) -> None:
    """No X-MS-CLIENT-PRINCIPAL header: 401, saying the header is missing."""
    response = world.client.get("/api/jobs")
    assert response.status_code == 401
    assert HEADER in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "not base64!!",
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b"{").decode(),
        base64.b64encode(orjson.dumps({"claims": [{"typ": "roles", "val": "admin"}]})).decode(),
    ],
)
def test_a_malformed_client_principal_is_refused(world: World, header: str) -> None:
    """A header that is not base64 JSON of a principal with a name claim: 401, never a guess."""
    response = world.client.get("/api/jobs", headers={HEADER: header})
    assert response.status_code == 401


def test_an_email_of_an_unconfigured_domain_is_refused(world: World) -> None:
    """Without ASCEND_USER_DOMAIN, `alice@contoso.com` is not folded into alice: 401."""
    response = world.client.get("/api/jobs", headers=as_user("alice@contoso.com"))
    assert response.status_code == 401


def test_search_returns_the_callers_documents_newest_first(world: World) -> None:
    """GET /api/jobs lists alice's jobs only, newest first, with no next cursor at the end."""
    body = world.client.get("/api/jobs", headers=ALICE).json()
    assert [d["job_id"] for d in body["documents"]] == [
        world.jobs["alice_failed"].job_id,
        world.jobs["alice_old"].job_id,
    ]
    assert body["next_cursor"] is None


def test_pages_follow_the_cursor_without_repeats(world: World) -> None:
    """limit=1 with the returned cursor walks every visible job exactly once."""
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = world.client.get("/api/jobs", headers=as_user("root", "admin"), params=params).json()
        seen += [d["job_id"] for d in body["documents"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(m.job_id for m in world.jobs.values())


def test_the_query_language_filters_the_search(world: World) -> None:
    """`q=status:failed` returns only the failed job."""
    body = world.client.get("/api/jobs", headers=ALICE, params={"q": "status:failed"}).json()
    assert [d["job_id"] for d in body["documents"]] == [world.jobs["alice_failed"].job_id]


@pytest.mark.parametrize(
    "params",
    [{"q": "status:"}, {"q": "bogus:1"}, {"limit": "0"}, {"limit": "many"}, {"cursor": "garbage"}],
)
def test_bad_query_input_is_a_400_with_a_one_line_reason(
    world: World, params: dict[str, str]
) -> None:
    """A query that does not parse, or a bad limit or cursor, is a 400 naming the problem."""
    response = world.client.get("/api/jobs", headers=ALICE, params=params)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "\n" not in detail


def test_one_job_has_its_metadata_and_its_document(world: World) -> None:
    """GET /api/jobs/{id} gives the whole metadata and the search document."""
    job = world.jobs["alice_old"]
    body = world.client.get(f"/api/jobs/{job.job_id}", headers=ALICE).json()
    assert body["metadata"]["function_name"] == "train_model"
    assert body["document"]["job_id"] == job.job_id
    assert body["document"]["image_hash"] == job.dependencies.hash
    assert body["problems"] == []


def test_another_users_job_is_a_404_like_a_missing_one(world: World) -> None:
    """Bob's job and a job that never existed give alice the very same 404 body shape."""
    theirs = world.jobs["bob"].job_id
    missing = theirs[:-8] + "00000000"
    for job_id in (theirs, missing):
        response = world.client.get(f"/api/jobs/{job_id}", headers=ALICE)
        assert response.status_code == 404
        assert response.json() == {"detail": f"job {job_id}: not found"}


def test_logs_stream_as_json_lines_filtered_by_level(world: World) -> None:
    """The log endpoint streams application/x-ndjson: the stored lines at or above `level`."""
    job = world.jobs["alice_old"]
    response = world.client.get(
        f"/api/jobs/{job.job_id}/logs", headers=ALICE, params={"level": "ERROR"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = log_lines(job, LEVELS).splitlines(keepends=True)
    assert response.content == lines[1] + lines[3]


def test_logs_of_another_users_job_are_a_404(world: World) -> None:
    """Alice cannot read Bob's log."""
    response = world.client.get(f"/api/jobs/{world.jobs['bob'].job_id}/logs", headers=ALICE)
    assert response.status_code == 404


def test_an_unknown_level_is_a_400(world: World) -> None:
    """`level=LOUD` is refused with the allowed levels."""
    job = world.jobs["alice_old"]
    response = world.client.get(
        f"/api/jobs/{job.job_id}/logs", headers=ALICE, params={"level": "LOUD"}
    )
    assert response.status_code == 400
    assert "must be one of" in response.json()["detail"]


def test_a_project_admin_sees_that_project_only(world: World) -> None:
    """`admin:frauddetect` sees alice's and bob's jobs, not carol's in vision."""
    body = world.client.get("/api/jobs", headers=as_user("dave", "admin:frauddetect")).json()
    assert {d["project"] for d in body["documents"]} == {"frauddetect"}
    assert len(body["documents"]) == 3
    response = world.client.get(
        f"/api/jobs/{world.jobs['carol'].job_id}", headers=as_user("dave", "admin:frauddetect")
    )
    assert response.status_code == 404


def test_openapi_and_docs_are_served_under_api(world: World) -> None:
    """The OpenAPI document lists the three endpoints; the docs page is served."""
    spec = world.client.get("/api/openapi.json").json()
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/logs"} <= set(spec["paths"])
    assert world.client.get("/api/docs").status_code == 200


users = st.sampled_from(["alice", "bob", "carol", "dave"]) | st.from_regex(
    r"[a-z][a-z0-9]{0,10}", fullmatch=True
)
roles = st.lists(
    st.sampled_from(["admin:frauddetect", "admin:vision", "admin:other"]), max_size=2, unique=True
)
queries = st.sampled_from(
    [
        "",
        "status:failed",
        "user:bob",
        "project:vision",
        "-user:alice",
        "user:alice,bob,carol",
        "project:frauddetect user:carol",
        "function:train_model",
        "created:>=-30d",
        "sort:-created",
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=users, granted=roles, text=queries)
def test_no_principal_ever_sees_a_job_it_may_not_see(
    world: World, user: str, granted: list[str], text: str
) -> None:
    """Whatever the principal and the query, every endpoint shows exactly what its roles allow."""
    principal = Principal.of(user, tuple(granted))
    headers = as_user(user, *granted)
    response = world.client.get("/api/jobs", headers=headers, params={"q": text, "limit": 100})
    assert response.status_code == 200
    for doc in response.json()["documents"]:
        assert principal.can_see(doc["user"], doc["project"])
    for meta in world.jobs.values():
        allowed = principal.can_see(meta.user, meta.project)
        for path in (f"/api/jobs/{meta.job_id}", f"/api/jobs/{meta.job_id}/logs"):
            answer = world.client.get(path, headers=headers)
            assert answer.status_code == (200 if allowed else 404)
            if not allowed:
                assert answer.json() == {"detail": f"job {meta.job_id}: not found"}


printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(job_id=(printable | st.text(max_size=40)).filter(lambda t: t not in {"", ".", ".."}))
@example(job_id="/")
@example(job_id="//")
def test_any_job_id_text_is_answered_cleanly(world: World, job_id: str) -> None:
    """Whatever text is asked for as a job ID, the API answers 404 or 400, never an error."""
    path = quote(job_id, safe="")
    for url in (f"/api/jobs/{path}", f"/api/jobs/{path}/logs"):
        response = world.client.get(url, headers=ALICE)
        assert response.status_code in {400, 404, 405}, (url, response.text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=printable | printable.map(lambda t: base64.b64encode(t.encode()).decode()))
def test_any_principal_header_is_either_a_user_or_a_401(world: World, header: str) -> None:
    """Garbage in X-MS-CLIENT-PRINCIPAL is a 401; it never crashes the API or widens access."""
    response = world.client.get("/api/jobs", headers={HEADER: header})
    assert response.status_code in {200, 401}
    if response.status_code == 200:
        assert {d["user"] for d in response.json()["documents"]} <= {"alice", "bob", "carol"}


def test_serve_as_cli_user_answers_anonymous_requests_as_that_user(world: World) -> None:
    """`ascend serve --as-cli-user`: no header acts as the CLI's user; a header still wins."""
    app = create_app(lambda: world.services, anonymous_as=Principal.of("bob"))
    with TestClient(app) as client:
        anonymous = client.get("/api/jobs").json()["documents"]
        assert [d["job_id"] for d in anonymous] == [world.jobs["bob"].job_id]
        signed = client.get("/api/jobs", headers=ALICE).json()["documents"]
        assert {d["user"] for d in signed} == {"alice"}


def test_follow_on_a_finished_job_returns_its_whole_log_and_ends(world: World) -> None:
    """`follow=true` on a job that is already final drains the log once and closes the stream."""
    job = world.jobs["alice_failed"]
    response = world.client.get(
        f"/api/jobs/{job.job_id}/logs", headers=ALICE, params={"follow": "true"}
    )
    assert response.status_code == 200
    assert response.content == log_lines(job, LEVELS)


def test_an_unreadable_index_is_a_503_that_says_so(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A corrupt index file makes the search answer 503 with the reason, not a crash."""
    broken = tmp_path_factory.mktemp("broken") / "index.sqlite3"
    broken.write_bytes(b"not a database" * 100)
    degraded = Services(
        world.services.settings.model_copy(update={"index_path": broken}),
        blobs=world.services.blobs,
    )
    with TestClient(create_app(lambda: degraded)) as client:
        response = client.get("/api/jobs", headers=ALICE)
        assert response.status_code == 503
        assert "file is not a database" in response.json()["detail"]
        job = world.jobs["alice_old"]
        details = client.get(f"/api/jobs/{job.job_id}", headers=ALICE).json()
        assert details["metadata"]["job_id"] == job.job_id
        assert details["problems"][0].startswith("index unavailable")


def test_search_sends_each_document_as_the_index_made_it(world: World) -> None:
    """GET /api/jobs's documents are the search documents, as GET /api/jobs/{id} returns them."""
    body = world.client.get("/api/jobs", headers=ALICE).json()
    for listed in body["documents"]:
        one = world.client.get(f"/api/jobs/{listed['job_id']}", headers=ALICE).json()
        assert listed == one["document"]


def test_the_readmes_curl_header_signs_in_as_alice_admin() -> None:
    """The README's `printf ... | base64` principal is accepted: alice with role admin."""
    import re as regex
    from pathlib import Path

    from web.auth import principal_from_header

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = regex.search(r"printf '%s' '(\{.*?\})' \| base64", readme)
    assert found is not None
    header = base64.b64encode(found[1].encode()).decode()
    who = principal_from_header(header)
    assert (who.user, who.is_admin) == ("alice", True)
