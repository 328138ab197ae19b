"""The reports against the Azure AI Search adapter, at its HTTP boundary (the service answers
from a script): until the facet aggregations are built, every report stops with the adapter's
one-line `Unsupported` before sending anything, never a wrong or partial answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from query import reports
from query.reports import ReportRequest, Window
from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.clock import FixedClock
from shared.errors import Unsupported
from shared.principal import Principal
from shared.settings import Settings
from tests.support.search_transport import ENDPOINT, FakeSearchService

INDEX = "ascend-jobs"
CLOCK = FixedClock(datetime(2026, 3, 14, 12, tzinfo=UTC))


@pytest.mark.parametrize(
    "report",
    [
        reports.failures,
        lambda r: reports.cost(r, ["project"]),
        lambda r: reports.storage(r, ["tier"]),
        reports.images,
        reports.packages,
    ],
    ids=["failures", "cost", "storage", "images", "packages"],
)
def test_every_report_on_azure_is_a_clear_unsupported(
    report: Callable[[ReportRequest], object],
) -> None:
    """Each report names what Azure AI Search cannot compute yet, and sends no request."""
    service = FakeSearchService(INDEX)
    retry = SearchRetry(attempts=2, max_seconds=5, base=0.01, cap=0.02, sleep=lambda s: None)
    settings = Settings(search_endpoint=ENDPOINT, search_index=INDEX, search_api_key="key")
    index = AzureSearchIndex.from_settings(settings, retry=retry, transport=service.transport)
    request = ReportRequest(index, Principal.of("root", "admin"), "", Window(), CLOCK)
    with pytest.raises(Unsupported, match="Azure AI Search"):
        report(request)
    assert service.transport.requests == []
