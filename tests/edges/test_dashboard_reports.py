"""The dashboard's reports page through the ASGI client: its four sections with the caller's
rows only, and a bad `since` shown as a message, not an error page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from ascend_cli.azurite import Azurite
from shared.units import human_bytes
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


def test_storage_sizes_are_shown_in_human_units_as_the_api_counts_them(client: TestClient) -> None:
    """Each storage row shows its logs, copies, artifacts and tiers as `1.4 MiB`, the API's
    byte counts in the CLI's units (a small deployment read 0.00 GiB everywhere)."""
    bob = {HEADER: encode_client_principal("bob")}
    params = {"since": "", "by": "user"}
    html = client.get("/reports", params=params, headers=bob).text
    rows = client.get("/api/reports/storage", params={"by": "user"}, headers=bob).json()["rows"]
    shown = re.findall(r"<tr data-storage-row>(.*?)</tr>", html, re.S)
    assert rows
    assert len(shown) == len(rows)
    for row, cells in zip(rows, shown, strict=True):
        texts = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", cells)]
        sizes = [
            row[f"{kind}_bytes"] for kind in ("log", "copy", "artifact", "hot", "cool", "archive")
        ]
        assert texts[2:8] == [human_bytes(n, grouped=False) for n in sizes]
        assert "GiB" not in cells or any(n >= 1 << 30 for n in sizes)
