"""A bench index `copies` times the size of a built one: its jobs and shifted copies of them.

`bench.query --jobs 10000000` used to generate every document in Python (~3 hours on this
machine); this builds it from the 1,000,000-job file instead. Copy 0 is the source's jobs as
they are; copy k (1..15) is each job with

- its creation time moved `k * span / copies` later within the same span (`DAYS` days ending at
  `NOW`), wrapping past `NOW` to the span's start: the same 180 days, `copies` times denser. That
  is the harder case for the questions bounded by time (at 10x, ten times the failed jobs of
  the last week for the index to walk past), where a 10x longer history would keep the last
  week as it was at 1M;
- `updated_at` moved by as much, `created_week` and `created_month` recomputed if present;
- a new job ID of the same shape: the new time in front, then the source's user, project and
  dependency hash, and a run hash of `k` then the source row's rowid in 7 hex digits (the
  synthetic jobs' own run hashes are their counter, < 16**7, so they start with 0: no copy
  meets another or the source).

Every document goes in through `SqliteIndex.upsert` in batches, so the package rows, package
versions and facet counts are the index's own (no SQL of ours writes its tables), inside
`deferred_indexes()` (the query indexes are made once, after the rows). The copies are merged
by their new creation time, so every row is appended in time order, like a real history.
Memory stays at one batch plus one row per copy.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.peer_data import DAYS, NOW
from shared.adapters.sqlite_index import COLUMNS, SqliteIndex, _is_current, row_to_document
from shared.documents import SearchDocument, as_document, format_datetime, parse_datetime

SPAN = timedelta(days=DAYS)
MAX_COPIES = 16  # copy k is the run hash's first hex digit
BATCH = 5000
_MS = timedelta(milliseconds=1)
_SELECT = f"SELECT rowid, {', '.join(COLUMNS)} FROM jobs"  # noqa: S608 (names from FIELDS)


def shift(k: int, copies: int) -> timedelta:
    """How much later copy `k` of `copies` is created (before wrapping into the span), in
    whole seconds (a job ID's time has seconds)."""
    return timedelta(seconds=SPAN // timedelta(seconds=1) * k // copies)


def moved(created: datetime, by: timedelta, now: datetime = NOW) -> datetime:
    """`created` moved `by` later, wrapped into the span (`now - SPAN`, `now`]."""
    age_ms = ((now - created) - by) // _MS % (SPAN // _MS)
    return now - age_ms * _MS


def replica(doc: SearchDocument, rowid: int, k: int, copies: int) -> SearchDocument:
    """Copy `k` of the source document `doc` (row `rowid` of its index); copy 0 is `doc`."""
    if k == 0:
        return doc
    if not 0 < k < MAX_COPIES or not 0 < rowid < 16**7:
        raise ValueError(f"copy {k} of row {rowid}: out of the run hash's range")
    created = parse_datetime(doc["created_at"] or "")
    new = moved(created, shift(k, copies))
    job_id = doc["job_id"]
    copy = dict(doc)
    copy["job_id"] = f"{new:%Y%m%d-%H%M%S}{job_id[15:-8]}{k:x}{rowid:07x}"
    copy["created_at"] = format_datetime(new)
    if doc.get("updated_at"):
        updated = parse_datetime(doc["updated_at"] or "")
        copy["updated_at"] = format_datetime(updated + (new - created))
    if doc.get("created_month"):
        copy["created_month"] = f"{new:%Y-%m}"
    if doc.get("created_week"):
        copy["created_week"] = (new.date() - timedelta(days=new.weekday())).isoformat()
    return as_document(copy)


def _copy_stream(source: SqliteIndex, k: int, copies: int) -> Iterator[SearchDocument]:
    """Copy `k` of every source job, in order of its new creation time: first the source's
    newest jobs, which the shift wraps to the span's start, then the rest."""
    wrap = format_datetime(NOW - shift(k, copies))  # created after this: wrapped
    for where in ("created_at > ?", "created_at <= ?") if k else ("created_at IS NOT NULL",):
        params = (wrap,) if k else ()
        rows = source.conn.execute(f"{_SELECT} WHERE {where} ORDER BY created_at", params)
        for rowid, *values in rows:
            yield replica(row_to_document(values), rowid, k, copies)


def documents(source: SqliteIndex, copies: int) -> Iterator[SearchDocument]:
    """Every copy of every source job, oldest first."""
    streams = [_copy_stream(source, k, copies) for k in range(copies)]
    return heapq.merge(*streams, key=lambda doc: (doc["created_at"], doc["job_id"]))


def replicate(source_path: Path, path: Path, copies: int) -> int:
    """Write `copies` times the jobs of the index at `source_path` into a new index at `path`
    (made under a temporary name, renamed when whole); returns the number of jobs."""
    if not 1 <= copies <= MAX_COPIES:
        raise ValueError(f"copies {copies}: must be 1 to {MAX_COPIES}")
    source = SqliteIndex(source_path)
    source.ensure()
    building = path.with_name(path.name + ".building")
    for leftover in (building, *(building.with_name(building.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    index = SqliteIndex(building)
    index.ensure()
    index.conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB: the key and package B-trees
    started, written, batch = time.perf_counter(), 0, []
    with index.deferred_indexes():
        for doc in documents(source, copies):
            batch.append(doc)
            if len(batch) == BATCH:
                written += len(index.upsert(batch))
                batch = []
                if written % 1_000_000 == 0:
                    _progress(written, started)
        written += len(index.upsert(batch))
        _progress(written, started, "rows written; making the query indexes")
    index.close()
    source.close()
    building.rename(path)
    _progress(written, started, f"jobs: {path}")
    return written


def _progress(written: int, started: float, what: str = "rows written") -> None:
    seconds = time.perf_counter() - started
    print(f"  {written:,} {what} ({seconds:.0f} s)", flush=True)


def is_current(index: SqliteIndex) -> bool:
    """Whether `index.ensure()` would leave the file as it is (read only)."""
    return _is_current(index.conn)


def spot_check(source: SqliteIndex, index: SqliteIndex, copies: int) -> dict[str, Any]:
    """The last copy of the source's first and last rows reads back whole from `index`."""
    checked = 0
    for order in ("ASC", "DESC"):
        rowid, *values = source.conn.execute(f"{_SELECT} ORDER BY rowid {order} LIMIT 1").fetchone()
        expected = replica(row_to_document(values), rowid, copies - 1, copies)
        found = index.get(expected["job_id"])
        if found != expected:
            raise AssertionError(f"copy {expected['job_id']} reads back as {found}")
        checked += 1
    return {"spot_checked": checked}
