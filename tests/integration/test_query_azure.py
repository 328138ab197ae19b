"""The OData backend through the real Azure AI Search adapter and SDK, at the HTTP boundary.

Azure AI Search cannot run here: the service answers from a script (tests.support.
search_transport), and the tests check what the search sends: facet resolution first, then the
compiled `$filter`/`$orderby` with the principal's scope and the keyset of the cursor.
"""

from __future__ import annotations

from typing import Any

import pytest

from query import search
from shared.adapters.azure_search import AzureSearchIndex
from shared.clock import FixedClock
from shared.principal import Principal
from tests.support.query import NOW, job
from tests.support.search_transport import (
    FakeSearchService,
    fake_search_index,
    search_results,
)

INDEX = "ascend-jobs"
CLOCK = FixedClock(NOW)


@pytest.fixture
def service() -> FakeSearchService:
    return FakeSearchService(INDEX)


@pytest.fixture
def index(service: FakeSearchService) -> AzureSearchIndex:
    return fake_search_index(service)


def hit(n: int, **fields: Any) -> dict[str, Any]:
    """A document as Azure AI Search holds it: `metrics_last` as a list of name/value pairs."""
    doc: dict[str, Any] = dict(job(n, hours_ago=n, **fields))
    doc["metrics_last"] = [{"name": k, "value": v} for k, v in doc["metrics_last"].items()]
    return doc


def bodies(service: FakeSearchService) -> list[dict[str, Any]]:
    return [r.json() for r in service.transport.requests]


def test_a_package_specifier_is_resolved_by_a_facet_then_filtered_by_search_in(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """The facet of torch jobs' packages is filtered with packaging; search.in does the rest."""
    service.script = [
        search_results(
            INDEX,
            [],
            facets={
                "packages": [
                    {"value": "torch==1.13.1", "count": 3},
                    {"value": "torch==2.1.0", "count": 2},
                    {"value": "numpy==1.24.0", "count": 5},
                    {"value": "Torch==2.0.0", "count": 1},
                ]
            },
        ),
        search_results(INDEX, [hit(1)]),
    ]
    page = search(index, Principal.of("alice"), 'package:"torch>=2.0.0" status:failed', clock=CLOCK)
    facet, query = bodies(service)
    assert facet["filter"] == "package_names/any(p: p eq 'torch')"
    assert facet["facets"] == ["packages,count:10000"]
    assert query["filter"] == (
        "packages/any(p: search.in(p, 'Torch==2.0.0,torch==2.1.0', ','))"
        " and status eq 'failed' and user eq 'alice'"
    )
    assert query["orderby"] == "created_at desc,job_id desc"
    assert query["top"] == 21
    assert [d["job_id"] for d in page.documents] == [job(1, hours_ago=1)["job_id"]]
    assert page.next_cursor is None


def test_a_quote_in_a_value_is_doubled_in_the_filter(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """`function:"o'neil"` reaches the service as one literal, and the scope still applies."""
    service.script = [search_results(INDEX, [])]
    search(
        index, Principal.of("bob", "admin:vision"), "function:\"x' or 1 eq 1 or 'y\"", clock=CLOCK
    )
    assert bodies(service)[0]["filter"] == (
        "function_name eq 'x'' or 1 eq 1 or ''y' and (project eq 'vision' or user eq 'bob')"
    )


def test_the_next_page_asks_for_rows_after_the_cursor(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A full page yields a cursor; the next request carries the keyset in the filter."""
    service.script = [search_results(INDEX, [hit(1, cost_usd=3.0), hit(2, cost_usd=2.0)])]
    first = search(
        index, Principal.of("root", "admin"), "gpu:true sort:-cost", limit=1, clock=CLOCK
    )
    assert first.next_cursor is not None
    service.script = [search_results(INDEX, [hit(2, cost_usd=2.0)])]
    search(
        index,
        Principal.of("root", "admin"),
        "gpu:true sort:-cost",
        limit=1,
        cursor=first.next_cursor,
        clock=CLOCK,
    )
    created = "2026-03-14T11:00:00.000Z"
    assert bodies(service)[1]["filter"] == (
        "use_gpu eq true and (cost_usd eq null or cost_usd lt 3.0 or (cost_usd eq 3.0 and "
        f"(created_at lt {created} or (created_at eq {created} and job_id lt "
        f"'{job(1, hours_ago=1)['job_id']}'))))"
    )
    assert bodies(service)[1]["orderby"] == "cost_usd desc,created_at desc,job_id desc"


def test_tag_without_value_is_resolved_to_the_indexed_values_of_that_key(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """`-tag:retain` becomes a negated search.in over the `retain=...` values that exist."""
    service.script = [
        search_results(
            INDEX,
            [],
            facets={
                "tags": [
                    {"value": "retain=true", "count": 3},
                    {"value": "retained=x", "count": 1},
                    {"value": "retain=", "count": 1},
                ]
            },
        ),
        search_results(INDEX, []),
    ]
    search(index, Principal.of("root", "admin"), "-tag:retain created:>=-7d", clock=CLOCK)
    assert bodies(service)[1]["filter"] == (
        "not (tags/any(t: search.in(t, 'retain=,retain=true', ','))) and "
        "created_at ge 2026-03-07T12:00:00.000Z"
    )
