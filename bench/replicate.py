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

`replica` says it in Python (the tests hold every copied row to it); `replicate` does it in
SQL: the source file attached to a new empty index, each copy one INSERT ... SELECT of the
`jobs` rows (oldest first) inside `deferred_indexes()` (the query indexes made once, after
the rows), then the index's own code fills what it derives from the rows: the package rows
(`_fill_package_jobs`, as its migrations do) and the facet counts (dropped: `ensure()` counts
them again). No SQL here writes those tables, and nothing holds more than a row in Python.
Through `SqliteIndex.upsert` instead (documents read, copied and written back in batches) the
same file took twice the CPU (117 against 60 µs a job at 200k, same run), four times for the
rows alone.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.peer_data import DAYS, NOW
from shared.adapters.sqlite_index import COLUMNS, SqliteIndex, _is_current, row_to_document
from shared.documents import SearchDocument, as_document, format_datetime, parse_datetime

SPAN = timedelta(days=DAYS)
MAX_COPIES = 16  # copy k is the run hash's first hex digit
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ROWS = f"SELECT rowid, {', '.join(COLUMNS)} FROM jobs"  # noqa: S608 (names from FIELDS): every source row with its rowid


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


def _ms(time: str) -> str:
    """SQL: a document time as integer epoch milliseconds (exact: see `sql_query.epoch_ms`)."""
    return f"CAST(round((julianday({time}) - 2440587.5) * 86400000) AS INTEGER)"


def _text(ms: str) -> str:
    """SQL: epoch milliseconds as the documents' time text (`format_datetime`)."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', {ms} / 1000, 'unixepoch') || printf('.%03dZ', {ms} % 1000)"
    )


def _copy_sql(source: str) -> str:
    """SQL: copy :k of the rows of `source`.jobs that `{where}` picks, as `replica` makes each,
    oldest first; :now, :shift and :span in epoch milliseconds."""
    new = ":now - ((:now - c_ms - :shift) % :span + :span) % :span"
    updated = f"({_ms('updated_at')} + new_ms - c_ms)"
    made = {
        "job_id": "strftime('%Y%m%d-%H%M%S', new_ms / 1000, 'unixepoch') "
        "|| substr(job_id, 16, length(job_id) - 23) || printf('%x%07x', :k, rid)",
        "created_at": _text("new_ms"),
        "updated_at": f"CASE WHEN updated_at IS NOT NULL THEN {_text(updated)} END",
        "created_month": "CASE WHEN created_month IS NOT NULL THEN "
        "strftime('%Y-%m', new_ms / 1000, 'unixepoch') END",
        "created_week": "CASE WHEN created_week IS NOT NULL THEN "
        "date(new_ms / 1000, 'unixepoch', '-6 days', 'weekday 1') END",
    }
    values = ", ".join(made.get(c, c) for c in COLUMNS)
    return (
        f"INSERT INTO jobs ({', '.join(COLUMNS)}) SELECT {values} FROM "  # noqa: S608
        f"(SELECT *, {new} AS new_ms FROM (SELECT *, rowid AS rid, {_ms('created_at')} AS c_ms "
        f"FROM {source}.jobs WHERE {{where}} ORDER BY created_at))"
    )


def replicate(source_path: Path, path: Path, copies: int) -> int:
    """Write `copies` times the jobs of the index at `source_path` into a new index at `path`
    (made under a temporary name, renamed when whole); returns the number of jobs."""
    if not 1 <= copies <= MAX_COPIES:
        raise ValueError(f"copies {copies}: must be 1 to {MAX_COPIES}")
    source = SqliteIndex(source_path)
    source.ensure()
    source.close()
    building = path.with_name(path.name + ".building")
    for leftover in (building, *(building.with_name(building.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    index = SqliteIndex(building)
    index.ensure()
    conn = index.conn
    conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB: the key B-tree, the index sorts
    conn.execute("ATTACH DATABASE ? AS source", (str(source_path),))
    started, copy, rows = time.perf_counter(), _copy_sql("source"), _count(conn, "source")
    if rows >= 16**7:
        raise ValueError(f"{source_path}: row {rows:,} past the run hash's 7 hex digits")
    with index.deferred_indexes():
        for k in range(copies):
            wrap = format_datetime(NOW - shift(k, copies))
            params = {"k": k, "now": (NOW - _EPOCH) // _MS, "span": SPAN // _MS}
            params["shift"] = shift(k, copies) // _MS
            if k == 0:
                conn.execute(
                    f"INSERT INTO jobs ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "  # noqa: S608
                    "FROM source.jobs ORDER BY rowid"
                )
            else:
                for where in ("created_at > :wrap", "created_at <= :wrap"):
                    conn.execute(copy.format(where=where), {**params, "wrap": wrap})
            _progress((k + 1) * rows, started, "rows written")
        conn.execute("DETACH DATABASE source")
        _progress(_count(conn, "main"), started, "rows; making the query indexes")
    _progress(_count(conn, "main"), started, "jobs; filling package rows")
    index._fill_package_jobs(conn)  # the index's own fill, as a migration uses it
    conn.execute("DROP TABLE facet_counts")  # counted by upserts only: `ensure` counts them
    index.close()
    index.ensure()
    written = index.count()
    index.close()
    building.rename(path)
    _progress(written, started, f"jobs: {path}")
    return written


def _count(conn: Any, schema: str) -> int:
    return int(conn.execute(f"SELECT max(rowid) FROM {schema}.jobs").fetchone()[0] or 0)  # noqa: S608


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
        rowid, *values = source.conn.execute(f"{ROWS} ORDER BY rowid {order} LIMIT 1").fetchone()
        expected = replica(row_to_document(values), rowid, copies - 1, copies)
        found = index.get(expected["job_id"])
        if found != expected:
            raise AssertionError(f"copy {expected['job_id']} reads back as {found}")
        checked += 1
    return {"spot_checked": checked}
