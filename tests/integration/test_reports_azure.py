"""The reports against the Azure AI Search adapter, at its HTTP boundary: the preview facet
requests each report sends (api-version, filter, facet hierarchy and metrics), and how the
documented answer becomes rows. The reports' numbers against seeded metadata are checked for
both adapters by tests/integration/test_reports.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from hypothesis import given, settings
from hypothesis import strategies as st

import query
from query import reports
from query.reports import ReportRequest, Window
from shared.adapters.azure_search import MAX_GROUP_SEARCHES, AzureSearchIndex, SearchRetry
from shared.adapters.azure_search_payloads import MAX_FACET_VALUES, index_definition_body
from shared.adapters.odata_facets import PREVIEW_API_VERSION, FacetsTruncated
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import Unsupported
from shared.principal import Principal
from shared.querytree import Measure, Query
from tests.support.query import documents, job
from tests.support.search_transport import (
    ENDPOINT,
    FakeSearchService,
    RecordedRequest,
    fake_search_index,
    search_results,
)

INDEX = "ascend-jobs"
CLOCK = FixedClock(datetime(2026, 3, 14, 12, tzinfo=UTC))
ADMIN = Principal.of("root", "admin")
N = MAX_FACET_VALUES


@pytest.fixture
def service() -> FakeSearchService:
    return FakeSearchService(INDEX)


@pytest.fixture
def index(service: FakeSearchService) -> AzureSearchIndex:
    return fake_search_index(service)


def searches(service: FakeSearchService) -> list[RecordedRequest]:
    return service.transport.of("search")


def answer(count: int, facets: dict[str, Any]) -> Any:
    """A Search Documents answer with `@odata.count` and `@search.facets`, no documents."""
    return search_results(INDEX, [], count=count, facets=facets)


def test_cost_is_one_preview_request_nesting_the_groups_with_sums_under_them(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """`cost --by project,node` asks one hierarchy (the keys, then status and GPU) with the
    duration and cost summed under its last level, on the preview api-version, top 0, under
    the caller's scope and the query's filter (its quote escaped)."""
    service.script = [answer(0, {})]
    alice = Principal.of("alice", "admin:fraud")
    request = ReportRequest(index, alice, 'function:"it\'s"', Window(), CLOCK)
    assert reports.cost(request, ["project", "node"]) == []
    (sent,) = searches(service)
    assert sent.query["api-version"] == PREVIEW_API_VERSION == "2025-11-01-Preview"
    assert sent.json() == {
        "search": "*",
        "filter": "function_name eq 'it''s' and (project eq 'fraud' or user eq 'alice')",
        "top": 0,
        "count": True,
        "facets": [
            f"project,count:{N} > (node_type,count:{N} > (status,count:{N} > "
            f"(use_gpu,count:{N} > (duration_seconds,metric:sum ; cost_usd,metric:sum))))"
        ],
    }


@pytest.mark.parametrize(
    ("report", "facets"),
    [
        (
            reports.failures,
            f"error_signature,count:{N} > (user,count:{N} > (project,count:{N} > "
            f"(image_hash,count:{N})))",
        ),
        (
            lambda r: reports.storage(r, ["user"]),
            f"user,count:{N} > (status,count:{N} > (tier,count:{N} > (retain,count:{N} > "
            "(log_bytes,metric:sum ; artifact_bytes,metric:sum))))",
        ),
        (
            lambda r: reports.cost(r, ["month"]),
            f"created_month,count:{N} > (status,count:{N} > (use_gpu,count:{N} > "
            "(duration_seconds,metric:sum ; cost_usd,metric:sum)))",
        ),
        (reports.images, f"user,count:{N} > (image_hash,count:{N} > (status,count:{N}))"),
    ],
    ids=["failures", "storage", "cost-month", "images"],
)
def test_each_report_asks_its_groups_as_one_facet_hierarchy(
    index: AzureSearchIndex, service: FakeSearchService, report: Any, facets: str
) -> None:
    """Each report's first request is a preview facet aggregation of its groups, with the
    numeric measures under the last level and the caller's scope in the filter."""
    request = ReportRequest(index, Principal.of("bob"), "", Window(), CLOCK)
    assert report(request) == []
    first = searches(service)[0]
    assert first.query["api-version"] == PREVIEW_API_VERSION
    assert first.json()["facets"] == [facets]
    assert "user eq 'bob'" in first.json()["filter"]


def test_the_documented_answer_becomes_the_rows_the_embedded_index_gives(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Nested buckets and their `sum` entries are read into one row per group; sums of an
    integer field stay integers; jobs missing from a level's buckets (a null value) are asked
    again with `field eq null`, the parent's value escaped as an OData literal."""
    service.script = [
        answer(
            7,
            {
                "function_name": [
                    {
                        "value": "it's",
                        "count": 7,
                        "@search.facets": {
                            "tier": [
                                {
                                    "value": "Hot",
                                    "count": 5,
                                    "@search.facets": {
                                        "log_bytes": [{"sum": 1200.0}],
                                        "cost_usd": [{"sum": 2.5}],
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        ),
        answer(2, {"log_bytes": [{"sum": 40.0}], "cost_usd": [{"sum": 0.25}]}),
    ]
    rows = query.aggregate(
        index,
        ADMIN,
        "",
        ["function_name", "tier"],
        [Measure("sum", "log_bytes"), Measure("sum", "cost_usd")],
        clock=CLOCK,
    )
    assert rows == [
        {
            "function_name": "it's",
            "tier": "Hot",
            "count": 5,
            "sum_log_bytes": 1200,
            "sum_cost_usd": 2.5,
        },
        {
            "function_name": "it's",
            "tier": None,
            "count": 2,
            "sum_log_bytes": 40,
            "sum_cost_usd": 0.25,
        },
    ]
    first, again = (r.json() for r in searches(service))
    assert first["filter"] is None
    assert again["filter"] == "function_name eq 'it''s' and tier eq null"
    assert again["facets"] == ["log_bytes,metric:sum", "cost_usd,metric:sum"]


def test_first_and_last_values_of_text_fields_are_one_sorted_search_per_group(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Facet metrics are numeric only: the first `created_at` and the newest `job_id` of a
    group are its first document ordered by that field, within the group's filter."""
    jobs = [
        job(1, user="bob", project="nlp", hours_ago=30, status="failed", error_signature="ab12"),
        job(2, user="bob", project="nlp", hours_ago=5, status="failed", error_signature="ab12"),
        job(3, user="bob", project="nlp", hours_ago=1, status="completed"),
    ]
    index.upsert(jobs)
    service.transport.requests.clear()
    rows = query.aggregate(
        index,
        ADMIN,
        "status:failed",
        ["error_signature"],
        [Measure("min", "created_at"), Measure("max", "job_id")],
        clock=CLOCK,
    )
    assert rows == [
        {
            "error_signature": "ab12",
            "count": 2,
            "min_created_at": jobs[0]["created_at"],
            "max_job_id": jobs[1]["job_id"],
        }
    ]
    facet, *sorted_searches = (r.json() for r in searches(service))
    assert facet["facets"] == [f"error_signature,count:{N}"]
    group = "(status eq 'failed') and error_signature eq 'ab12'"
    assert sorted((b["filter"], b["orderby"], b["top"]) for b in sorted_searches) == [
        (f"{group} and created_at ne null", "created_at asc", 1),
        (f"{group} and job_id ne null", "job_id desc", 1),
    ]


def test_a_level_that_fills_its_count_is_an_error_not_a_partial_answer(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """As many buckets as asked means some may be missing: the report stops and says so."""
    buckets = [{"value": f"u{n}", "count": 1} for n in range(N)]
    service.script = [answer(N, {"user": buckets})]
    with pytest.raises(FacetsTruncated, match=f"user: {N} or more values"):
        query.aggregate(index, ADMIN, "", ["user"], clock=CLOCK)


def test_too_many_groups_for_sorted_searches_is_refused_before_sending_them(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """More groups than `MAX_GROUP_SEARCHES` sorted searches: a one-line `Unsupported`."""
    groups = MAX_GROUP_SEARCHES + 1
    buckets = [{"value": f"job{n}", "count": 1} for n in range(groups)]
    service.script = [answer(groups, {"user": buckets})]
    with pytest.raises(Unsupported, match="narrow the query"):
        query.aggregate(index, ADMIN, "", ["user"], [Measure("max", "job_id")], clock=CLOCK)
    assert len(searches(service)) == 1


def test_the_index_marks_every_field_a_report_groups_or_measures_facetable() -> None:
    """Facets group only facetable fields and facet metrics read only facetable numeric
    fields; the signature and its masked pattern are in the index."""
    fields = {f["name"]: f for f in index_definition_body(INDEX)["fields"]}
    grouped = ["error_signature", "user", "project", "image_hash", "status", "use_gpu"]
    grouped += ["node_type", "function_name", "created_week", "created_month", "tier", "retain"]
    measured = ["duration_seconds", "cost_usd", "log_bytes", "artifact_bytes"]
    assert all(fields[name]["facetable"] for name in grouped + measured)
    assert fields["error_pattern"]["type"] == "Edm.String"
    assert fields["created_at"]["sortable"]
    assert fields["job_id"]["sortable"]


GROUPS = ["status", "user", "project", "node_type", "use_gpu", "image_hash", "packages"]
MEASURES = [
    Measure("sum", "duration_seconds"),
    Measure("avg", "cost_usd"),
    Measure("max", "cost_usd"),
    Measure("min", "created_at"),
    Measure("max", "job_id"),
]


def _keyed(rows: list[dict[str, Any]], group_by: list[str]) -> dict[tuple[str, ...], Any]:
    """Rows by group key; a sum over no values is 0 here (SQL says NULL, a facet metric 0)."""
    zero = {k: 0.0 for r in rows for k, v in r.items() if k.startswith("sum_") and v is None}
    return {
        tuple(str(r[f]) for f in group_by): r
        | {k: zero[k] for k in r if k in zero and r[k] is None}
        for r in rows
    }


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), max_size=25, unique=True).flatmap(
        lambda ns: st.tuples(*[documents(n) for n in ns])
    ),
    st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
    st.lists(st.sampled_from(MEASURES), max_size=3, unique=True),
)
def test_aggregate_on_azure_equals_the_embedded_index_on_random_jobs(
    docs: tuple[dict[str, Any], ...], group_by: list[str], measures: list[Measure]
) -> None:
    """Any groups (null values and collections included) and measures: the same rows, the
    same counts and the same numbers as SQL's GROUP BY over the same documents."""
    service = FakeSearchService(INDEX)
    azure = AzureSearchIndex.connect(
        ENDPOINT,
        INDEX,
        AzureKeyCredential("k"),
        retry=SearchRetry(attempts=1),
        transport=service.transport,
    )
    embedded = SqliteIndex(":memory:")
    for index in (azure, embedded):
        index.ensure()
        index.upsert(list(docs))  # type: ignore[arg-type]
    got = _keyed(azure.aggregate(Query(), group_by, measures), group_by)
    expected = _keyed(embedded.aggregate(Query(), group_by, measures), group_by)
    assert got.keys() == expected.keys()
    for key, row in expected.items():
        assert got[key] == pytest.approx(row)
