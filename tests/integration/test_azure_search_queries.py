"""Every query the lifecycle and the query module send to Azure AI Search, compiled from the tree.

The service cannot run here: it answers from a script (tests.support.search_transport), and each
test checks the request the real adapter and SDK put on the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

import query
from lifecycle.apply import update_document
from lifecycle.inventory import candidates
from lifecycle.plan import JobPlan
from lifecycle.policy import PolicyBook
from shared.adapters.azure_search import AzureSearchIndex
from shared.clock import FixedClock
from shared.documents import FIELD_NAMES
from shared.principal import Principal
from shared.tiers import Tier
from tests.support.search_transport import (
    FakeSearchService,
    fake_search_index,
    search_results,
)

INDEX = "ascend-jobs"
NOW = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
CLOCK = FixedClock(NOW)
ALICE = Principal.of("alice")


@pytest.fixture
def service() -> FakeSearchService:
    return FakeSearchService(INDEX)


@pytest.fixture
def index(service: FakeSearchService) -> AzureSearchIndex:
    return fake_search_index(service)


def bodies(service: FakeSearchService) -> list[dict[str, Any]]:
    return [r.json() for r in service.transport.of("search")]


def doc(n: int) -> dict[str, Any]:
    return {
        "job_id": f"20250101-000000-alice-fraud-a3f5d2c8-{n:08x}",
        "project": "fraud",
        "created_at": "2025-01-01T00:00:00Z",
    }


def test_the_sweeps_candidate_queries_reach_the_service_as_these_filters(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """One filtered search per stage, oldest first, with no value outside a literal."""
    service.script = [search_results(INDEX, []) for _ in range(5)]
    assert list(candidates(index, PolicyBook(), NOW)) == []
    sent = bodies(service)
    assert [b["filter"] for b in sent] == [
        "tier eq null and created_at le 2026-02-12T02:30:00.000Z",
        "tier eq 'Hot' and created_at le 2026-02-12T02:30:00.000Z",
        "tier eq 'Cool' and created_at le 2025-12-14T02:30:00.000Z",
        "retain eq false and created_at le 2025-03-14T02:30:00.000Z",
        "retain eq null and created_at le 2025-03-14T02:30:00.000Z",
    ]
    assert {b["orderby"] for b in sent} == {"created_at asc,job_id asc"}
    assert {b["top"] for b in sent} == {1000}
    assert {b["select"] for b in sent} == {"job_id,project,created_at,tier,retain,status"}


def test_a_project_sweep_scopes_each_filter_to_that_project(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """`--project o'x` is one quoted literal AND-ed to every candidate filter."""
    service.script = [search_results(INDEX, []) for _ in range(5)]
    list(candidates(index, PolicyBook(), NOW, project="o'x"))
    assert all(b["filter"].endswith(" and project eq 'o''x'") for b in bodies(service))


def test_candidates_past_one_page_are_fetched_by_keyset_never_skip(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """2,500 matches of the first query come in three requests, each after the last key seen."""
    docs = [doc(n) for n in range(2500)]
    service.script = [
        search_results(INDEX, docs[:1000]),
        search_results(INDEX, docs[1000:2000]),
        search_results(INDEX, docs[2000:]),
        *(search_results(INDEX, []) for _ in range(4)),
    ]
    found = list(candidates(index, PolicyBook(), NOW))
    assert [c.job_id for c in found] == [d["job_id"] for d in docs]
    second = bodies(service)[1]
    assert "skip" not in second
    assert second["filter"] == (
        "tier eq null and created_at le 2026-02-12T02:30:00.000Z and "
        "(created_at gt 2025-01-01T00:00:00.000Z or (created_at eq 2025-01-01T00:00:00.000Z "
        f"and job_id gt '{docs[999]['job_id']}'))"
    )


def test_a_new_stage_is_merged_into_the_document_alone(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """The sweep records `tier` by merging that field alone; a document gone since is fine."""
    plan = JobPlan(doc(1)["job_id"], (), Tier.COOL, False, None, None)
    update_document(index, plan)
    (request,) = service.transport.of("index")
    assert request.json() == {
        "value": [{"@search.action": "merge", "job_id": doc(1)["job_id"], "tier": "Cool"}]
    }


def test_a_scoped_count_asks_for_the_total_without_documents(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """query.count sends the scoped filter with count=true and top=0, and reads @odata.count."""
    service.script = [search_results(INDEX, [], count=42)]
    assert query.count(index, ALICE, "status:failed", clock=CLOCK) == 42
    (body,) = bodies(service)
    assert body == {
        "search": "*",
        "filter": "status eq 'failed' and user eq 'alice'",
        "count": True,
        "top": 0,
    }


def test_scoped_facets_are_one_request_for_every_field(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """query.facets asks each field's buckets within the principal's scope."""
    service.script = [
        search_results(
            INDEX,
            [],
            facets={
                "status": [{"value": "failed", "count": 3}],
                "packages": [{"value": "torch==2.0.0", "count": 2}],
            },
        )
    ]
    found = query.facets(index, ALICE, "gpu:true", ["status", "packages"], clock=CLOCK, limit=5)
    assert found == {"status": {"failed": 3}, "packages": {"torch==2.0.0": 2}}
    (body,) = bodies(service)
    assert body["filter"] == "use_gpu eq true and user eq 'alice'"
    assert body["facets"] == ["status,count:5", "packages,count:5"]


def test_an_aggregate_of_counts_by_one_field_is_a_facet(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Jobs per user come from the facet of `user`, as rows with the key and `count`."""
    service.script = [
        search_results(
            INDEX,
            [],
            facets={"user": [{"value": "bob", "count": 5}, {"value": "alice", "count": 2}]},
        )
    ]
    rows = query.aggregate(
        index, Principal.of("root", "admin"), "status:failed", ["user"], clock=CLOCK
    )
    assert rows == [{"user": "bob", "count": 5}, {"user": "alice", "count": 2}]
    assert bodies(service)[0]["facets"] == ["user,count:10000"]


def test_a_json_page_selects_the_document_fields_and_sends_each_once(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """query.search_json asks for the document's fields only ($select), one more than the page
    for the cursor, and returns each hit as its JSON text."""
    service.script = [search_results(INDEX, [doc(1), doc(2), doc(3)])]
    page = query.search_json(index, ALICE, "status:failed", limit=2, clock=CLOCK)
    (body,) = bodies(service)
    assert body["select"] == ",".join(FIELD_NAMES)
    assert (body["top"], body["filter"]) == (3, "status eq 'failed' and user eq 'alice'")
    assert [orjson.loads(line)["job_id"] for line in page.lines] == [
        doc(1)["job_id"],
        doc(2)["job_id"],
    ]
    assert page.next_cursor is not None
