"""`/api/reports/...` through the ASGI client: the same rows as the CLI, scoped to the caller of
the client principal header, bad parameters as 400 with the reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from ascend_cli.azurite import Azurite
from shared.services import Services
from tests.support.jobs_data import make_services
from tests.support.reports import seeded_jobs
from web.auth import HEADER, encode_client_principal

JOBS = seeded_jobs(150, seed=5)


@pytest.fixture(scope="module")
def client(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    services: Services = make_services(azurite, tmp_path_factory.mktemp("api-reports"))
    services.index.upsert([j.document for j in JOBS])
    with TestClient(create_app(lambda: services)) as test_client:
        yield test_client


def _as(user: str, *roles: str) -> dict[str, str]:
    return {HEADER: encode_client_principal(user, roles)}


def test_cost_rows_nest_by_keys_for_an_admin(client: TestClient) -> None:
    """`by=project,user` gives one row per pair; the counts add up to every job."""
    response = client.get(
        "/api/reports/cost", params={"by": "project,user"}, headers=_as("root", "admin")
    )
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert sum(r["count"] for r in rows) == len(JOBS)
    assert len({(r["project"], r["user"]) for r in rows}) == len(rows)


def test_a_project_admin_sees_only_that_project(client: TestClient) -> None:
    """admin:nlp (and its own jobs) is all a carol-less caller's report counts."""
    response = client.get(
        "/api/reports/storage", params={"by": "project"}, headers=_as("dave", "admin:nlp")
    )
    rows = response.json()["rows"]
    assert [r["project"] for r in rows] == ["nlp"]
    assert rows[0]["count"] == sum(j.meta["project"] == "nlp" for j in JOBS)


def test_failures_images_and_packages_answer_rows(client: TestClient) -> None:
    """The other reports answer `{"rows": [...]}` with counts of the caller's jobs."""
    headers = _as("alice")
    mine = [j for j in JOBS if j.meta["user"] == "alice"]
    failures = client.get("/api/reports/failures", headers=headers).json()["rows"]
    assert sum(r["count"] for r in failures) == sum(j.crash is not None for j in mine)
    images = client.get("/api/reports/images", headers=headers).json()["rows"]
    assert {r["image"] for r in images} == {j.image for j in mine}
    packages = client.get("/api/reports/packages", headers=headers).json()["rows"]
    assert {r["package"] for r in packages} == {
        p for j in mine for p in j.meta["dependencies"]["packages"]
    }


@pytest.mark.parametrize("params", [{"by": "colour"}, {"since": "soon"}, {"q": "status:nope"}])
def test_bad_parameters_are_400_with_the_reason(client: TestClient, params: dict[str, str]) -> None:
    """An unknown key, a bad time or a bad query: 400 naming what is wrong."""
    response = client.get("/api/reports/cost", params=params, headers=_as("root", "admin"))
    assert response.status_code == 400
    assert response.json()["detail"]


def test_without_a_client_principal_a_report_is_refused(client: TestClient) -> None:
    """No header, no report: 401."""
    assert client.get("/api/reports/failures").status_code == 401
