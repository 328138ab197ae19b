"""`bench.replicate`: the 10M-job bench index made from copies of a smaller one (real SQLite)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.peer_data import NOW
from bench.query import synthetic_jobs, write_index
from bench.replicate import (
    ROWS,
    SPAN,
    is_current,
    moved,
    replica,
    replicate,
    shift,
    spot_check,
)
from query.parser import parse_query
from shared.adapters.sqlite_index import SqliteIndex, row_to_document
from shared.documents import SearchDocument, as_document, format_datetime, parse_datetime
from shared.jobdocument import week_of
from shared.jobid import JOB_ID_PATTERN
from shared.querytree import Query

SOURCE_JOBS, COPIES = 300, 4


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[SqliteIndex, SqliteIndex]:
    """A 300-job source index and its four-fold copy."""
    folder = tmp_path_factory.mktemp("replicate")
    source_path, path = folder / "source.sqlite3", folder / "copied.sqlite3"
    write_index(source_path, map(_with_derived_times, synthetic_jobs(SOURCE_JOBS)), SOURCE_JOBS)
    replicate(source_path, path, COPIES)
    return SqliteIndex(source_path), SqliteIndex(path)


def _with_derived_times(doc: SearchDocument) -> SearchDocument:
    """A synthetic job as the indexer makes it: creation week and month, a later update."""
    created = parse_datetime(doc["created_at"] or "")
    return as_document(
        {
            **doc,
            "updated_at": format_datetime(created + timedelta(minutes=41, milliseconds=7)),
            "created_week": week_of(created),
            "created_month": f"{created:%Y-%m}",
        }
    )


def _all(index: SqliteIndex) -> list[tuple[str, str, str, str]]:
    return index.conn.execute(
        "SELECT job_id, created_at, created_week, created_month FROM jobs"
    ).fetchall()


def test_every_copy_has_a_unique_well_formed_id_matching_its_time(
    indexes: tuple[SqliteIndex, SqliteIndex],
) -> None:
    """Copies x source jobs, IDs unique, of the job ID shape, their time, week and month the
    job's creation time's."""
    _, copied = indexes
    rows = _all(copied)
    assert len(rows) == len({job_id for job_id, *_ in rows}) == SOURCE_JOBS * COPIES
    for job_id, created, week, month in rows:
        assert re.fullmatch(JOB_ID_PATTERN, job_id), job_id
        moment = parse_datetime(created)
        assert (job_id[:15], week, month) == (
            f"{moment:%Y%m%d-%H%M%S}",
            week_of(moment),
            f"{moment:%Y-%m}",
        )


def test_copies_stay_in_the_span_and_spread_over_it(
    indexes: tuple[SqliteIndex, SqliteIndex],
) -> None:
    """Every time is in the source's 180 days, and each tenth of the span gets its share."""
    _, copied = indexes
    ages = [NOW - parse_datetime(created) for _, created, *_ in _all(copied)]
    assert all(timedelta(0) <= age < SPAN for age in ages)
    tenths = Counter(int(age / SPAN * 10) for age in ages)
    assert sorted(tenths) == list(range(10))
    assert min(tenths.values()) > len(ages) / 10 / 2  # uniform: ~120 each


def test_the_source_jobs_are_kept_and_copies_read_back_whole(
    indexes: tuple[SqliteIndex, SqliteIndex],
) -> None:
    """Copy 0 is the source's documents; every copy SQL made reads back as `replica` makes it."""
    source, copied = indexes
    assert spot_check(source, copied, COPIES) == {"spot_checked": 2}
    for rowid, *values in source.conn.execute(ROWS):
        for k in range(COPIES):
            made = replica(row_to_document(values), rowid, k, COPIES)
            assert copied.get(made["job_id"]) == made


def test_the_copy_is_a_current_index_with_its_own_package_rows_and_counts(
    indexes: tuple[SqliteIndex, SqliteIndex],
) -> None:
    """ensure() has nothing to do; package queries and facet counts see every copy."""
    source, copied = indexes
    assert is_current(copied)
    for text in ('package:"torch>=2.0.0"', "status:failed", "gpu:true"):
        query = parse_query(text)
        assert copied.count(query) == COPIES * source.count(query), text
    kept = copied.facets(Query(), ["status"])["status"]
    assert kept == {v: COPIES * n for v, n in source.facets(Query(), ["status"])["status"].items()}


@given(
    age=st.integers(min_value=0, max_value=SPAN // timedelta(milliseconds=1) - 1),
    copies=st.integers(min_value=1, max_value=16),
    data=st.data(),
)
def test_a_moved_time_wraps_into_the_span(age: int, copies: int, data: st.DataObject) -> None:
    """Any time in the span, moved by any copy's shift, lands in the span, shifted mod 180 days."""
    k = data.draw(st.integers(min_value=0, max_value=copies - 1))
    created = NOW - timedelta(milliseconds=age)
    new = moved(created, shift(k, copies))
    assert NOW - SPAN < new <= NOW
    assert (new - created - shift(k, copies)) % SPAN == timedelta(0)


def test_a_copy_outside_the_run_hash_range_is_refused(tmp_path: Path) -> None:
    """Copy 16 or a row past 16**7 cannot be written into an 8-hex run hash: a clear error."""
    doc = next(synthetic_jobs(1))
    with pytest.raises(ValueError, match="run hash"):
        replica(doc, 1, 16, 17)
    with pytest.raises(ValueError, match="copies 17"):
        replicate(tmp_path / "none.sqlite3", tmp_path / "out.sqlite3", 17)
