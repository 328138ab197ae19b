"""The `SearchIndex` port's contract, run against both adapters: the SQLite index (a real file) and
the Azure AI Search adapter (the real SDK through the recording transport and fake service)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.core.credentials import AzureKeyCredential
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import (
    FIELDS,
    FieldType,
    SearchDocument,
    as_document,
    empty_document,
    format_datetime,
)
from shared.errors import InvalidInput
from shared.ports import SearchIndex
from shared.querytree import Equals, Query, Sort
from tests.support.search_transport import ENDPOINT, FakeSearchService


def azure_index() -> AzureSearchIndex:
    service = FakeSearchService("ascend-jobs")
    index = AzureSearchIndex.connect(
        ENDPOINT,
        "ascend-jobs",
        AzureKeyCredential("k"),
        transport=service.transport,
        retry=SearchRetry(attempts=2, sleep=lambda s: None),
    )
    index.ensure()
    return index


def sqlite_index_at(path: Path) -> SqliteIndex:
    index = SqliteIndex(path)
    index.ensure()
    return index


@pytest.fixture(params=["sqlite", "azure"])
def port(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    """Each adapter in turn, empty."""
    if request.param == "sqlite":
        index = sqlite_index_at(tmp_path / "index.sqlite3")
        yield index
        index.close()
    else:
        yield azure_index()


def doc(
    n: int, updated: str = "2025-12-04T14:35:23.456Z", version: str = "v1", **fields: Any
) -> SearchDocument:
    built: dict[str, Any] = dict(empty_document(f"20251204-143022-alice-demo-a3f5d2c8-{n:08x}"))
    built.update(
        created_at="2025-12-04T14:30:22.000Z",
        updated_at=updated,
        source_version=version,
        status="completed",
        user="alice",
        project="demo",
        packages=["numpy==1.24.0"],
        package_names=["numpy"],
        use_gpu=False,
        duration_seconds=12.5,
        exit_code=0,
        cost_usd=0.01,
        tags=["a=b"],
        retain=False,
        metrics_last={"loss": 0.125},
        artifact_bytes=10,
        log_errors=1,
        log_lines=9,
    )
    built.update(fields)
    return as_document(built)


def test_a_written_document_reads_back_equal(port: SearchIndex) -> None:
    """upsert returns the key and get returns the same document."""
    assert port.upsert([doc(1)]) == [doc(1)["job_id"]]
    assert port.get(doc(1)["job_id"]) == doc(1)


def test_an_older_document_never_replaces_a_newer_one(port: SearchIndex) -> None:
    """A late event's older document is skipped; the newer one stays."""
    port.upsert([doc(1, updated="2025-12-05T00:00:00.000Z", status="failed")])
    assert port.upsert([doc(1, updated="2025-12-04T00:00:00.000Z", status="running")]) == []
    stored = port.get(doc(1)["job_id"])
    assert stored is not None
    assert stored["status"] == "failed"


def test_a_newer_document_replaces_the_older(port: SearchIndex) -> None:
    """A later updated_at replaces every field, lists included."""
    port.upsert([doc(1)])
    newer = doc(1, updated="2025-12-06T00:00:00.000Z", tags=[], metrics_last={})
    assert port.upsert([newer]) == [newer["job_id"]]
    assert port.get(newer["job_id"]) == newer


def test_a_duplicate_delivery_writes_again_harmlessly(port: SearchIndex) -> None:
    """The same version again is accepted (idempotent) and leaves the document unchanged."""
    port.upsert([doc(1)])
    assert port.upsert([doc(1)]) == [doc(1)["job_id"]]
    assert port.get(doc(1)["job_id"]) == doc(1)


def test_in_one_batch_the_newest_version_of_a_key_wins(port: SearchIndex) -> None:
    """Two versions of one job in a batch: the newer is written, once."""
    old, new = doc(1, version="0001", status="running"), doc(1, version="0002")
    assert port.upsert([new, old]) == [new["job_id"]]
    assert port.get(new["job_id"]) == new
    assert port.count() == 1


def test_delete_counts_only_documents_that_existed(port: SearchIndex) -> None:
    """delete() returns how many of the keys were present and removes them."""
    port.upsert([doc(1), doc(2)])
    assert port.delete([doc(1)["job_id"], doc(9)["job_id"]]) == 1
    assert port.get(doc(1)["job_id"]) is None
    assert port.count() == 1


def test_keys_lists_every_document_in_key_order_with_its_version(port: SearchIndex) -> None:
    """keys() yields (job_id, updated_at, source_version), sorted by job_id."""
    port.upsert([doc(3), doc(1, version="v7"), doc(2)])
    assert list(port.keys()) == [
        (doc(1)["job_id"], "2025-12-04T14:35:23.456Z", "v7"),
        (doc(2)["job_id"], "2025-12-04T14:35:23.456Z", "v1"),
        (doc(3)["job_id"], "2025-12-04T14:35:23.456Z", "v1"),
    ]


def test_ensure_is_idempotent_and_keeps_documents(port: SearchIndex) -> None:
    """ensure() again neither fails nor loses what is stored."""
    port.upsert([doc(1)])
    port.ensure()
    assert port.count() == 1


def test_a_missing_document_is_none(port: SearchIndex) -> None:
    """get() of an unknown job is None, not an error."""
    assert port.get(doc(5)["job_id"]) is None


def test_find_count_facets_and_aggregate_answer_the_same_query_alike(port: SearchIndex) -> None:
    """One tree, both adapters: the same documents, count, facet and per-status counts."""
    port.upsert(
        [
            doc(1, status="failed", tags=["a=b", "x=y"]),
            doc(2, status="failed"),
            doc(3),
            doc(4, user="bob"),
        ]
    )
    alice = Query((Equals("user", ("alice",)),), Sort("created_at", descending=False))
    assert [d["job_id"] for d in port.find(alice, limit=2)] == [doc(1)["job_id"], doc(2)["job_id"]]
    assert port.count(alice) == 3
    assert port.facets(alice, ["status", "tags"]) == {
        "status": {"failed": 2, "completed": 1},
        "tags": {"a=b": 3, "x=y": 1},
    }
    assert port.aggregate(alice, ["status"]) == [
        {"status": "failed", "count": 2},
        {"status": "completed", "count": 1},
    ]


def test_set_tier_records_the_stage_and_keeps_the_version(port: SearchIndex) -> None:
    """set_tier changes `tier` only; a job without a document is skipped, not an error."""
    port.upsert([doc(1)])
    assert port.set_tier([doc(1)["job_id"], doc(9)["job_id"]], "Cool") == 1
    assert port.get(doc(1)["job_id"]) == {**doc(1), "tier": "Cool"}
    assert port.upsert([doc(1)]) == [doc(1)["job_id"]]  # the same version is still "not older"


# ---- any document, both adapters ------------------------------------------------------------

_text = st.text(max_size=40)
_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(format_datetime)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_key = st.from_regex(r"[A-Za-z0-9=\-][A-Za-z0-9_=\-]{0,60}", fullmatch=True)
_VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.STRING: st.none() | _text,
    FieldType.DATETIME: st.none() | _times,
    FieldType.BOOL: st.none() | st.booleans(),
    FieldType.INT: st.none() | st.integers(-(2**62), 2**62),
    FieldType.FLOAT: st.none() | _floats,
    FieldType.STRINGS: st.lists(_text, max_size=5),
    FieldType.METRICS: st.dictionaries(st.text(min_size=1, max_size=20), _floats, max_size=4),
}


@st.composite
def documents(draw: Callable[..., Any]) -> SearchDocument:
    built = {f.name: draw(_VALUES[f.type]) for f in FIELDS}
    built["job_id"] = draw(_key)
    built["updated_at"] = draw(_times)
    return as_document(built)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_any_document_reads_back_the_same_from_both_adapters(
    document: SearchDocument, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the text, numbers, lists and metrics, both adapters return what was written."""
    sqlite = sqlite_index_at(tmp_path_factory.mktemp("prop") / "index.sqlite3")
    azure = azure_index()
    try:
        for index in (sqlite, azure):
            assert index.upsert([document]) == [document["job_id"]]
        assert azure.get(document["job_id"]) == sqlite.get(document["job_id"]) == document
    finally:
        sqlite.close()


def test_find_json_sends_what_find_returns_with_the_cursor_values(port: SearchIndex) -> None:
    """Each JSON text is the document `find` returns, with its sort value, time and key."""
    port.upsert([doc(1, cost_usd=3.5), doc(2, cost_usd=None, use_gpu=True), doc(3, tags=[])])
    by_cost = Query((), Sort("cost_usd", descending=True))
    found = port.find_json(by_cost, limit=10)
    assert [orjson.loads(d.json) for d in found] == port.find(by_cost, limit=10)
    assert [(d.sort_value, d.created_at, d.job_id) for d in found] == [
        (d["cost_usd"], d["created_at"], d["job_id"]) for d in port.find(by_cost, limit=10)
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_any_document_is_sent_as_json_exactly_as_written(
    document: SearchDocument, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The JSON text each adapter makes decodes to the document written, whatever its values."""
    sqlite = sqlite_index_at(tmp_path_factory.mktemp("json") / "index.sqlite3")
    azure = azure_index()
    try:
        for index in (sqlite, azure):
            index.upsert([document])
            (found,) = index.find_json(Query(), limit=5)
            assert orjson.loads(found.json) == document
    finally:
        sqlite.close()


def test_find_rows_gives_the_fields_find_gives_in_the_same_order(port: SearchIndex) -> None:
    """Each row is the named fields of the document `find` returns, in its sort and limit."""
    port.upsert([doc(1, cost_usd=3.5, retain=True), doc(2, cost_usd=None), doc(3, tags=[])])
    by_cost = Query((), Sort("cost_usd", descending=True))
    fields = ("job_id", "retain", "cost_usd", "tags", "metrics_last", "tier")
    rows = port.find_rows(by_cost, fields, limit=2)
    found: list[dict[str, Any]] = [dict(d) for d in port.find(by_cost, limit=2)]
    assert rows == [tuple(d[f] for f in fields) for d in found]
    assert rows[0][1] is True


def test_find_rows_of_a_name_that_is_not_a_field_is_refused_in_one_line(
    port: SearchIndex,
) -> None:
    """A field the document does not have is a usage error naming it, not an index failure."""
    with pytest.raises(InvalidInput, match="'secret'"):
        port.find_rows(Query(), ("job_id", "secret"), limit=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents(), fields=st.lists(st.sampled_from([f.name for f in FIELDS]), min_size=1))
def test_any_fields_of_any_document_read_back_alike_from_both_adapters(
    document: SearchDocument, fields: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the values and whichever fields (repeated or not), both adapters' rows are the
    document's values of those fields."""
    sqlite = sqlite_index_at(tmp_path_factory.mktemp("rows") / "index.sqlite3")
    azure = azure_index()
    try:
        for index in (sqlite, azure):
            index.upsert([document])
            values: dict[str, Any] = dict(document)
            assert index.find_rows(Query(), fields, limit=5) == [tuple(values[f] for f in fields)]
    finally:
        sqlite.close()
