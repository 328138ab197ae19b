"""`ascend report` through the CLI runner on Azure AI Search (the adapter at its HTTP boundary,
the service answering in the documented shapes): the same JSON rows as on the embedded index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.core.credentials import AzureKeyCredential

import shared.services
from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.adapters.sqlite_index import SqliteIndex
from shared.ports import SearchIndex
from shared.services import Services
from shared.settings import Settings
from tests.support.cli import invoke_cli
from tests.support.reports import seeded_jobs
from tests.support.search_transport import ENDPOINT, FakeSearchService

JOBS = seeded_jobs(120, seed=3)


def _rows(out: str) -> list[dict[str, Any]]:
    def rounded(value: Any) -> Any:
        return round(value, 3) if isinstance(value, float) else value

    return [{k: rounded(v) for k, v in orjson.loads(line).items()} for line in out.splitlines()]


def _run(index: SearchIndex, settings: Settings, *args: str) -> list[dict[str, Any]]:
    shared.services.install(Services(settings, index=index))
    code, out, err = invoke_cli("report", *args, "--json")
    assert (code, err) == (0, "")
    return _rows(out)


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "--by", "project,node"),
        ("cost", "--by", "week"),
        ("failures",),
        ("images",),
        ("images", "--packages"),
    ],
    ids=["cost-project-node", "cost-week", "failures", "images", "packages"],
)
def test_a_report_on_azure_prints_the_rows_the_embedded_index_prints(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Every row and column of `ascend report ... --json` is the same on both backends."""
    settings = Settings(index_path=tmp_path / "index.sqlite3", user="root", roles=("admin",))
    embedded = SqliteIndex(settings.index_path)
    service = FakeSearchService("ascend-jobs")
    azure = AzureSearchIndex.connect(
        ENDPOINT,
        "ascend-jobs",
        AzureKeyCredential("key"),
        retry=SearchRetry(attempts=1, sleep=lambda s: None),
        transport=service.transport,
    )
    for index in (embedded, azure):
        index.ensure()
        index.upsert([j.document for j in JOBS])
    try:
        expected = _run(embedded, settings, *args)
        assert expected
        assert _run(azure, settings, *args) == expected
    finally:
        embedded.close()
        shared.services.reset()
