"""Bulk load of metadata.json JSON Lines into a real SQLite index (`indexer.load`)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.load import BadLine, load_lines
from shared.adapters.sqlite_index import SqliteIndex
from shared.settings import DEFAULT_NODE_PRICES
from tests.support.builders import make_metadata


def _line(**overrides: Any) -> bytes:
    return orjson.dumps(make_metadata(**overrides))


def test_good_lines_are_indexed_as_the_pipeline_would(sqlite_index: SqliteIndex) -> None:
    """Each valid line becomes the job's search document, derived fields included."""
    meta = make_metadata(status="failed", tags={"retain": "true"})
    summary = load_lines([orjson.dumps(meta) + b"\n"], sqlite_index, prices=DEFAULT_NODE_PRICES)
    assert summary.as_dict() == {"lines": 1, "indexed": 1, "skipped": 0, "bad": 0}
    doc = sqlite_index.get(meta["job_id"])
    assert doc is not None
    assert (doc["status"], doc["retain"], doc["dep_hash"]) == (
        "failed",
        True,
        meta["job_id"].split("-")[4],
    )
    assert "torch" in doc["package_names"]


def test_bad_lines_are_reported_by_number_and_the_rest_still_load(
    sqlite_index: SqliteIndex,
) -> None:
    """A malformed line and an invalid document are reported; the good lines around them load."""
    good = [make_metadata(user=f"user{n}") for n in range(3)]
    lines = [
        orjson.dumps(good[0]),
        b"{not json",
        b"",
        orjson.dumps(good[1]),
        _line(status="exploded"),
        orjson.dumps(good[2]),
    ]
    reported: list[BadLine] = []
    summary = load_lines(
        lines, sqlite_index, prices=DEFAULT_NODE_PRICES, batch=2, on_bad=reported.append
    )
    assert [b.number for b in reported] == [2, 5]
    assert "not valid JSON" in reported[0].reason
    assert "status" in reported[1].reason
    assert summary.as_dict() == {"lines": 5, "indexed": 3, "skipped": 0, "bad": 2}
    assert sqlite_index.count() == 3


def test_a_line_over_the_size_limit_is_refused(sqlite_index: SqliteIndex) -> None:
    """A line larger than the metadata size limit is a bad line, not a load."""
    summary = load_lines(
        [_line(function_name="f" * 200)], sqlite_index, prices=DEFAULT_NODE_PRICES, max_bytes=100
    )
    assert summary.bad == [BadLine(1, "line: is larger than 100 bytes")]
    assert sqlite_index.count() == 0


def test_a_loaded_document_never_replaces_a_newer_one(sqlite_index: SqliteIndex) -> None:
    """Loading an older metadata.json of an indexed job leaves the newer document in place."""
    newer = make_metadata(status="completed", updated_at="2025-12-04T16:00:00Z")
    older = {**newer, "status": "running", "updated_at": "2025-12-04T15:00:00Z"}
    load_lines([orjson.dumps(newer)], sqlite_index, prices=DEFAULT_NODE_PRICES)
    summary = load_lines([orjson.dumps(older)], sqlite_index, prices=DEFAULT_NODE_PRICES)
    assert (summary.indexed, summary.skipped) == (0, 1)
    doc = sqlite_index.get(newer["job_id"])
    assert doc is not None
    assert doc["status"] == "completed"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_bytes_never_abort_a_load(sqlite_index: SqliteIndex, junk: list[bytes]) -> None:
    """Any bytes as lines are either loaded or reported; the good line after them still loads."""
    good = make_metadata()
    lines = [line.replace(b"\n", b" ") for line in junk] + [orjson.dumps(good)]
    summary = load_lines(lines, sqlite_index, prices=DEFAULT_NODE_PRICES)
    assert summary.indexed + summary.skipped + len(summary.bad) == summary.lines
    assert sqlite_index.get(good["job_id"]) is not None


def _index_names(index: SqliteIndex) -> set[str]:
    rows = index.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql != ''")
    return {name for (name,) in rows}


def test_a_load_into_an_empty_index_makes_its_indexes_after_and_answers_the_same(
    sqlite_index: SqliteIndex,
) -> None:
    """Inside `deferred_indexes` an empty index has no query index; after it every one is back,
    the plans use them and the loaded jobs are found; a second load changes no index."""
    made = _index_names(sqlite_index)
    metas = [make_metadata(user=f"user{n}", status="failed") for n in range(5)]
    with sqlite_index.deferred_indexes() as deferred:
        assert deferred
        assert _index_names(sqlite_index) == set()
        load_lines([orjson.dumps(m) for m in metas], sqlite_index, prices=DEFAULT_NODE_PRICES)
    assert _index_names(sqlite_index) == made
    plan = sqlite_index.conn.execute(
        "EXPLAIN QUERY PLAN SELECT job_id FROM jobs WHERE status = 'failed' "
        "ORDER BY created_at DESC"
    ).fetchall()
    assert "jobs_status_created" in str(plan)
    assert sqlite_index.count() == 5
    with sqlite_index.deferred_indexes() as deferred:
        assert not deferred
        assert _index_names(sqlite_index) == made
