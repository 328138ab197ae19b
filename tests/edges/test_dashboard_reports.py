"""The dashboard's reports page through the ASGI client: its four sections with the caller's
rows only, and a bad `since` shown as a message, not an error page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from ascend_cli.azurite import Azurite
from tests.support.jobs_data import make_services
from tests.support.reports import seeded_jobs
from web.auth import HEADER, encode_client_principal

JOBS = seeded_jobs(120, seed=9)


@pytest.fixture(scope="module")
def client(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    services = make_services(azurite, tmp_path_factory.mktemp("dash-reports"))
    services.index.upsert([j.document for j in JOBS])
    with TestClient(create_app(lambda: services)) as test_client:
        yield test_client


def test_the_page_has_the_four_reports_of_the_callers_jobs(client: TestClient) -> None:
    """bob sees failures, cost, storage and images sections, with only his images."""
    page = client.get(
        "/reports",
        params={"since": "", "by": "user"},
        headers={HEADER: encode_client_principal("bob")},
    )
    assert page.status_code == 200
    html = page.text
    for section in ("failures", "cost", "storage", "images"):
        assert f'data-report="{section}"' in html
    images = set(re.findall(r'data-image="([^"]+)"', html))
    assert images == {j.image for j in JOBS if j.meta["user"] == "bob"}
    signatures = re.findall(r'data-signature="([0-9a-f]{12})"', html)
    assert len(signatures) == len({j.crash for j in JOBS if j.crash and j.meta["user"] == "bob"})


def test_a_bad_since_is_a_message_on_the_page(client: TestClient) -> None:
    """`since=soon` keeps the page and says what is wrong."""
    page = client.get(
        "/reports",
        params={"since": "soon"},
        headers={HEADER: encode_client_principal("root", ("admin",))},
    )
    assert page.status_code == 200
    assert "data-error" in page.text
    assert "--since" in page.text
