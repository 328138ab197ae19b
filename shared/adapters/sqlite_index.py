"""`SearchIndex` in one SQLite file (WAL): the embedded index of the local stack.

Schema, generated from `shared.documents.FIELDS`:

- `jobs`: one row per document, one column per field; list and metrics fields are JSON text,
  booleans 0/1, times the documents' sortable text (`2025-12-04T14:30:22.000Z`).
- `package_jobs(version_id, created, job_id)` (WITHOUT ROWID, all three the key): one row
  per requirement of each job, the id of its (PEP 503 name, pinned version) pair (`''` when
  unpinned) and its creation time as epoch milliseconds (`sql_query.epoch_ms`: the integers
  sort as the time texts do; the job_id is kept for the listing's tie-break), for `package:`
  queries: a listing is driven by it (each matching version's jobs newest first, merged;
  `sql_query`), anything else probes it by the row's own keys. Kept by the writes below from
  each row's `packages` and `created_at` before and after; an update that keeps both (a job's
  status events) does not touch it. Version 5 keyed it by the texts: 104 B a row against 59
  now, 4 rows a job (`ensure()` makes it again from the jobs).
- `package_versions(id, name, version)`: every (name, version) ever indexed, with the id the
  rows use, so that a PEP 440 specifier resolves to version texts without reading the jobs
  (stale pairs of deleted jobs only add versions that match no job; ids are never reused).

`tag:` and `metric:` terms read the job's own JSON columns (`json_each`), probed per candidate
row like any other condition. Version-3 files answered `package:` the same way, from a
`package_pins` JSON column, scanning every row newest first: 28x MLflow where the plain schema
of `bench.peer` with such a table was 3.6x faster; `ensure()` migrates older files in place.

Query indexes: (x, created_at) for the filters that come with a newest-first listing (the
job_id tie-break is a partial sort of equal times), cost, GPU by cost, and the lifecycle's
(tier, created_at) and (retain, created_at), and (error_signature, created_at) for `signature:`,
partial (only failed jobs have a signature: 85% of its inserts and bytes saved).
Each index costs about 5% of the upsert rate. Four covering indexes serve the reports
(`query.reports`): their leading columns are the GROUP BY of the failures, cost and storage
reports by project, and the images report, so SQLite reads a narrow index in group order instead
of every wide row (`bench/reports.py`). The failures and images ones keep each group's newest
first (`created_at DESC, job_id DESC`): `max()` then meets its answer on the group's first entry
and only compares the rest, where in ascending order every entry was a new maximum, copied (the
images report's scan took 40% less CPU). The failures one holds only failed jobs (`WHERE status
= 'failed'`, 18 B/job against 123 over every job): SQLite takes it for the report's bound
`status = ?` by planning again once 'failed' is bound; it keeps `status` as a column, as SQLite
3.40 counts a column of the WHERE as needed to cover (tests pin both plans). The cost one has
created_at before the summed columns: a new job's entry goes at the end of its group, where by
duration it fell anywhere in it (one random leaf per job: at 1M, 11.7 page writes per new job
against 13.6, 12-15% less upsert CPU, same run; +24 B/job).

Facets (the dashboard's jobs page): `facet_counts(field, value, n)` keeps the jobs per value of
`COUNTED_FACETS` over the whole index, moved by every upsert, delete and in-place set in its own
transaction (from the rows' values read before and after), so an unfiltered facet request reads
a few rows instead of grouping 1M (0.9-5 s); `jobs_user_facets (user, status, project,
node_type)` covers a user's facets (their jobs, optionally of one status) as an index range.
The two cost about 15% of the upsert rate (`bench/ingest.py`, same run); `bench/dashboard.py`.

Upserts go in one transaction per batch, and only replace a row whose
(updated_at, source_version) is not newer than the incoming document's: a late or duplicated
event can never make the index older. Tuning for ingest (see `bench/ingest.py`): requirement
parsing is cached, rows go in key order, rows are built by position, new files use 4 KiB
pages, and checkpoints run on a thread of their own (`_Checkpointer`).
"""

from __future__ import annotations

import contextlib
import functools
import operator
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from shared.adapters.sql_query import (
    VERSION_ID,
    SqlQuery,
    SqlSelect,
    aggregate_sql,
    compile_listing,
    compile_sql,
    count_sql,
    document_json_sql,
    epoch_ms,
    facet_sql,
    json_document,
    ordered,
    rows_sql,
)
from shared.documents import (
    FIELD_BY_NAME,
    FIELDS,
    FieldType,
    JsonDocument,
    SearchDocument,
    as_document,
    value_text,
)
from shared.errors import SearchIndexError, TransientError
from shared.packages import matching_versions, split_requirement
from shared.querytree import (
    Measure,
    Package,
    Query,
    Term,
    check_fields,
    check_group_fields,
    map_terms,
)

_SQL_TYPES = {
    FieldType.STRING: "TEXT",
    FieldType.DATETIME: "TEXT",
    FieldType.BOOL: "INTEGER",
    FieldType.INT: "INTEGER",
    FieldType.FLOAT: "REAL",
    FieldType.STRINGS: "TEXT",
    FieldType.METRICS: "TEXT",
}
COLUMNS = tuple(f.name for f in FIELDS)
_JSON_FIELDS = frozenset(f.name for f in FIELDS if f.is_collection)
_BOOL_FIELDS = frozenset(f.name for f in FIELDS if f.type is FieldType.BOOL)
_MAX_VARIABLES = 900
_SELECTED = ", ".join(f"jobs.{c}" for c in COLUMNS)

SCHEMA_VERSION = 6
FLAT_TABLE_VERSION = 2  # files older than this still have side tables: `_migrate` them
PARTIAL_SIGNATURE_VERSION = 5  # files older than this index every job's signature
INTEGER_PACKAGES_VERSION = 6  # files older than this key package_jobs by texts: rebuilt
_PINS = "package_pins"  # version 3's column, dropped by the migration to 4
_PACKAGE_VERSIONS = """CREATE TABLE IF NOT EXISTS package_versions (id INTEGER PRIMARY KEY,
    name TEXT NOT NULL, version TEXT NOT NULL, UNIQUE (name, version));
"""
_PACKAGE_JOBS = """CREATE TABLE IF NOT EXISTS package_jobs (version_id INTEGER NOT NULL,
    created INTEGER NOT NULL, job_id TEXT NOT NULL,
    PRIMARY KEY (version_id, created, job_id)) WITHOUT ROWID;
"""
# Rows of `_package_rows`: (name, version, created_at, job_id), the pair already a version.
_ADD_VERSION = "INSERT OR IGNORE INTO package_versions (name, version) VALUES (?, ?)"
_ADD_PACKAGE_JOB = (
    f"INSERT INTO package_jobs VALUES ({VERSION_ID}, {epoch_ms('?')}, ?) "  # noqa: S608
    "ON CONFLICT DO NOTHING"
)
_DROP_PACKAGE_JOB = (
    f"DELETE FROM package_jobs WHERE version_id = {VERSION_ID} "  # noqa: S608
    f"AND created = {epoch_ms('?')} AND job_id = ?"
)
# Every job's rows in key order, from `package_sets (packages, version_id)`: each distinct
# `packages` text of the jobs with the ids of its pins.
_FILL_PACKAGE_JOBS = (
    f"INSERT INTO package_jobs SELECT s.version_id, {epoch_ms('j.created_at')}, j.job_id "  # noqa: S608
    "FROM jobs j JOIN temp.package_sets s ON s.packages = j.packages ORDER BY 1, 2, 3"
)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs ("
    + ", ".join(
        f'"{f.name}" {_SQL_TYPES[f.type]}' + (" PRIMARY KEY NOT NULL" if f.key else "")
        for f in FIELDS
    )
    + ");\n"
    + _PACKAGE_VERSIONS
    + _PACKAGE_JOBS
    + """
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_user_created ON jobs (user, created_at);
CREATE INDEX IF NOT EXISTS jobs_project_created ON jobs (project, created_at);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_function_created ON jobs (function_name, created_at);
CREATE INDEX IF NOT EXISTS jobs_dep_hash ON jobs (dep_hash, created_at);
CREATE INDEX IF NOT EXISTS jobs_gpu_cost ON jobs (use_gpu, cost_usd);
CREATE INDEX IF NOT EXISTS jobs_cost ON jobs (cost_usd);
CREATE INDEX IF NOT EXISTS jobs_tier_created ON jobs (tier, created_at);
CREATE INDEX IF NOT EXISTS jobs_retain_created ON jobs (retain, created_at);
CREATE INDEX IF NOT EXISTS jobs_signature_created ON jobs (error_signature, created_at)
    WHERE error_signature IS NOT NULL;
DROP INDEX IF EXISTS jobs_report_failures;
DROP INDEX IF EXISTS jobs_report_failures_newest;
CREATE INDEX IF NOT EXISTS jobs_report_failed ON jobs (status, error_signature, user, project,
    image_hash, created_at DESC, job_id DESC) WHERE status = 'failed';
DROP INDEX IF EXISTS jobs_report_cost;
CREATE INDEX IF NOT EXISTS jobs_report_cost_created ON jobs (project, status, use_gpu, created_at,
    duration_seconds, cost_usd);
DROP INDEX IF EXISTS jobs_report_storage;
CREATE INDEX IF NOT EXISTS jobs_report_bytes ON jobs (project, status, tier, retain, created_at,
    log_bytes, artifact_bytes);
DROP INDEX IF EXISTS jobs_report_images;
CREATE INDEX IF NOT EXISTS jobs_report_images_newest ON jobs (user, image_hash, status,
    created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS jobs_user_facets ON jobs (user, status, project, node_type);
"""
)
_PACKAGE_TEXTS = "SELECT DISTINCT packages FROM jobs WHERE packages IS NOT NULL"
_PACKAGE_SETS = (
    "CREATE TEMP TABLE package_sets (packages TEXT NOT NULL, version_id INTEGER NOT NULL, "
    "PRIMARY KEY (packages, version_id)) WITHOUT ROWID"
)
_ADD_PACKAGE_SET = f"INSERT OR IGNORE INTO temp.package_sets VALUES (?, {VERSION_ID})"  # noqa: S608
# Jobs per value of the dashboard's facet fields over the whole index, kept exact by the writes
# below in their own transactions (counting 1M rows per request took seconds). Kept in Python
# from the rows read before and after each batch: triggers made upserts 3x slower.
COUNTED_FACETS = ("status", "project", "user", "node_type")
_FACET_COUNTS = "facet_counts"
_FACET_COUNTS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {_FACET_COUNTS} (field TEXT NOT NULL, "
    "value NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (field, value)) "
    "WITHOUT ROWID"
)
# What `SCHEMA` and the facet counts table make and drop, for the read-only check below.
_MADE = frozenset(
    re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", SCHEMA + _FACET_COUNTS_TABLE)
)
_QUERY_INDEXES = tuple(re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", SCHEMA))
_DROPPED = frozenset(re.findall(r"DROP INDEX IF EXISTS (\w+)", SCHEMA))


def _is_current(conn: sqlite3.Connection) -> bool:
    """Whether `ensure` would change nothing in this file: it is at `SCHEMA_VERSION` with every
    table, index and column the schema makes and none it drops. Reads only, so opening an index
    that is up to date (every `ascend` command) writes nothing and starts no checkpointer."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        return False
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if not names >= _MADE or _DROPPED & names:
        return False
    return set(COLUMNS) <= {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}


_FILL_FACET_COUNTS = [
    f"INSERT INTO {_FACET_COUNTS} SELECT '{f}', \"{f}\", count(*) FROM jobs "  # noqa: S608
    f'WHERE "{f}" IS NOT NULL GROUP BY "{f}"'
    for f in COUNTED_FACETS
]
_ADD_FACET_COUNT = (
    f"INSERT INTO {_FACET_COUNTS} (field, value, n) VALUES (?, ?, ?) "  # noqa: S608
    "ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n"
)
_FACET_COLUMNS = ", ".join(f'"{f}"' for f in COUNTED_FACETS)
FacetValues = dict[str, tuple[Any, ...]]
_SIDE_TABLES_OF_VERSION_1 = ("job_packages", "job_tags", "job_metrics")

# Column names come from FIELDS (code, not input); every value is a bound parameter.
_WRITTEN = COLUMNS
_UPSERT = (
    f"INSERT INTO jobs ({', '.join(_WRITTEN)}) VALUES ({', '.join('?' for _ in _WRITTEN)}) "  # noqa: S608
    "ON CONFLICT(job_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITTEN if c != "job_id")
    # The same test as `_not_older` (a NULL time is ''), so the rows written are the winners.
    + " WHERE (coalesce(excluded.updated_at, ''), coalesce(excluded.source_version, '')) >= "
    "(coalesce(jobs.updated_at, ''), coalesce(jobs.source_version, ''))"
)


def _counted_sql(field: str, limit: int) -> SqlSelect:
    """`facet_sql` of the whole index for a field of `COUNTED_FACETS`: its kept counts."""
    return SqlSelect(
        f"SELECT value, n FROM {_FACET_COUNTS} WHERE field = ? AND n > 0 "  # noqa: S608
        "ORDER BY n DESC, value LIMIT ?",
        (field, limit),
    )


class SqliteIndex:
    """The embedded search index; safe to share between threads of one process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: _Checkpointer | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # New files only. 4 KiB, not 16: a commit writes each page it dirtied to the WAL,
            # and one job dirties a leaf of every index, so an event-at-a-time upsert into
            # 200k jobs cost 2x the CPU with 16 KiB pages (batches: the same).
            conn.execute("PRAGMA page_size=4096")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA cache_size=-65536")
            # Writers leave checkpoints (and their fsyncs) to `_Checkpointer`'s thread, up to
            # 64 MiB of WAL (16,384 pages), when they do one themselves.
            conn.execute("PRAGMA wal_autocheckpoint=16384")
            conn.execute("PRAGMA journal_size_limit=67108864")
            self._conn = conn
        return self._conn

    @contextlib.contextmanager
    def deferred_indexes(self) -> Iterator[bool]:
        """For a bulk load: when the index is empty, its query indexes are dropped for the
        writes inside and made again after them (yields True). A B-tree built from sorted
        rows costs far less than one insert per job each, and its pages come out full: 100k
        jobs at 58-62 µs of CPU each against 105-108, 1,577 B/job against 1,674 (same run).
        A load into an index that has jobs changes nothing (yields False); a process that dies
        inside leaves the indexes to the next `ensure()`, which makes every missing one."""
        with self._lock:
            empty = self.conn.execute("SELECT 1 FROM jobs LIMIT 1").fetchone() is None
            if empty:
                for name in _QUERY_INDEXES:
                    self.conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        try:
            yield empty
        finally:
            if empty:
                with self._lock:
                    self.conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def ensure(self) -> None:
        """Create the schema, or bring an older file up to `SCHEMA_VERSION` in place; a file
        that cannot be opened as an index is a `SearchIndexError` naming it."""
        try:
            self._ensure()
        except sqlite3.Error as exc:
            raise SearchIndexError(f"index unavailable: {self.path}: {exc}") from exc

    def _ensure(self) -> None:
        with self._lock:
            conn = self.conn
            if _is_current(conn):
                return
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'jobs'").fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if found and version < FLAT_TABLE_VERSION:
                self._migrate(conn)
            if found:
                self._add_new_columns(conn)
            if found and version < PARTIAL_SIGNATURE_VERSION:  # SCHEMA makes it partial
                conn.execute("DROP INDEX IF EXISTS jobs_signature_created")
            if found and version < INTEGER_PACKAGES_VERSION:  # SCHEMA makes them anew
                conn.execute("DROP TABLE IF EXISTS package_jobs")
                conn.execute("DROP TABLE IF EXISTS package_versions")
            conn.executescript(SCHEMA)
            if found and version < INTEGER_PACKAGES_VERSION:
                self._fill_package_jobs(conn)
            self._ensure_facet_counts(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _ensure_facet_counts(self, conn: sqlite3.Connection) -> None:
        """Create the facet counts, filled from the rows, in one write transaction (so no
        write of another process falls between the fill and the table)."""
        with self._transaction():
            made = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (_FACET_COUNTS,)
            ).fetchone()
            conn.execute(_FACET_COUNTS_TABLE)
            if not made:
                for statement in _FILL_FACET_COUNTS:
                    conn.execute(statement)

    @staticmethod
    def _add_new_columns(conn: sqlite3.Connection) -> None:
        """Fields added to `FIELDS` since the file was made become NULL columns (version 3:
        `error_signature`, `error_pattern`, `log_bytes`, filled from the logs by `pipeline
        reconcile`; `created_week`, `created_month`, filled here from `created_at`)."""
        present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        for f in FIELDS:
            if f.name not in present:
                conn.execute(f'ALTER TABLE jobs ADD COLUMN "{f.name}" {_SQL_TYPES[f.type]}')
        if "created_week" not in present:  # derived from created_at: filled here, at once
            conn.execute(
                "UPDATE jobs SET created_month = substr(created_at, 1, 7), "
                "created_week = date(substr(created_at, 1, 10), '-6 days', "
                "'weekday 1')"
            )

    def _fill_package_jobs(self, conn: sqlite3.Connection) -> None:
        """`package_jobs` made again from each job's `packages` (the migration to version 6,
        and a file whose jobs were written by SQL), `package_versions` completed (ids kept),
        version 3's `package_pins` column dropped. Each distinct requirement list is parsed
        once; SQLite joins the jobs to their lists' version ids and sorts the rows into key
        order (on disk past its cache), so 10M jobs need neither 40M tuples in Python nor
        random inserts."""
        with self._transaction():
            texts = [text for (text,) in conn.execute(_PACKAGE_TEXTS)]
            pins = {text: _stored_pins(text) for text in texts}
            conn.executemany(_ADD_VERSION, sorted({p for found in pins.values() for p in found}))
            conn.execute(_PACKAGE_SETS)
            conn.executemany(
                _ADD_PACKAGE_SET, [(text, *pin) for text, found in pins.items() for pin in found]
            )
            conn.execute("DELETE FROM package_jobs")
            conn.execute(_FILL_PACKAGE_JOBS)
            conn.execute("DROP TABLE temp.package_sets")
            if _PINS in {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}:
                conn.execute(f"ALTER TABLE jobs DROP COLUMN {_PINS}")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """From version 1: the side tables dropped, and the query indexes dropped (`SCHEMA`
        re-creates them as they are now; `_fill_package_jobs` fills the packages')."""
        with self._transaction():
            for table in _SIDE_TABLES_OF_VERSION_1:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            indexes = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name = 'jobs' AND sql IS NOT NULL"
            ).fetchall()
            for (name,) in indexes:
                conn.execute(f'DROP INDEX "{name}"')

    # ---- writing -----------------------------------------------------------------------------

    def upsert(self, documents: Sequence[SearchDocument]) -> list[str]:
        if not documents:
            return []
        latest = _newest_per_key(documents)
        with self._lock, self._transaction() as conn:
            current = _current_rows(conn, list(latest))
            # Key order keeps each B-tree's inserts local: fewer pages touched per batch.
            winners = sorted(
                (d for k, d in latest.items() if _not_older(d, current.get(k))),
                key=lambda d: d["job_id"],
            )
            conn.executemany(_UPSERT, [_row(d) for d in winners])
            # The upsert's own WHERE is `_not_older`: every winner's row is now the winner.
            before = {d["job_id"]: current[d["job_id"]] for d in winners if d["job_id"] in current}
            _count_facets(
                conn,
                {k: row.facets for k, row in before.items()},
                {d["job_id"]: _document_facets(d) for d in winners},
            )
            _move_packages(conn, before, winners)
        return [d["job_id"] for d in winners]

    def delete(self, job_ids: Sequence[str]) -> int:
        with self._lock, self._transaction() as conn:
            before = _current_rows(conn, list(job_ids))
            conn.executemany("DELETE FROM jobs WHERE job_id = ?", [(k,) for k in job_ids])
            _count_facets(conn, {k: row.facets for k, row in before.items()}, {})
            conn.executemany(
                _DROP_PACKAGE_JOB,
                [e for k, row in before.items() for e in _package_rows(k, row.created, row.pins)],
            )
            return len(before)

    def set_tier(self, job_ids: Sequence[str], tier: str) -> int:
        """Record `tier` in the documents of `job_ids` in place (their version unchanged)."""
        with self._lock, self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "UPDATE jobs SET tier = ? WHERE job_id = ?", [(tier, k) for k in job_ids]
            )
            return conn.total_changes - before

    def set_field(self, job_id: str, name: str, value: Any) -> None:
        """Change one scalar field in place (e.g. `tier` after a lifecycle move)."""
        if name not in COLUMNS or name in _JSON_FIELDS or name in {"job_id", "created_at"}:
            raise SearchIndexError(f"field {name!r} cannot be set in place")
        with self._lock, self._transaction() as conn:
            before = _facet_values(conn, [job_id])
            conn.execute(f'UPDATE jobs SET "{name}" = ? WHERE job_id = ?', (value, job_id))  # noqa: S608
            _count_facets(conn, before, _facet_values(conn, [job_id]))

    # ---- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> SearchDocument | None:
        rows = self.select("job_id = ?", (job_id,), limit=1)
        return rows[0] if rows else None

    def find(self, query: Query, *, limit: int) -> list[SearchDocument]:
        return self._select(compile_listing(self._resolved(query)), limit)

    def find_json(self, query: Query, *, limit: int) -> list[JsonDocument]:
        return [
            json_document(row)
            for row in self._rows(document_json_sql(self._resolved(query), limit))
        ]

    def find_rows(
        self, query: Query, fields: Sequence[str], *, limit: int
    ) -> list[tuple[Any, ...]]:
        """Only the columns of `fields`: no row becomes a document (booleans and JSON lists are
        typed as in one)."""
        names = check_fields(fields)
        rows = self._rows(rows_sql(self._resolved(query), names, limit))
        typed = _typer(names)
        return rows if typed is None else [typed(row) for row in rows]

    def count(self, query: Query | None = None) -> int:
        rows = self._rows(count_sql(self._resolved(query or Query())))
        return int(rows[0][0])

    def facets(
        self, query: Query, fields: Sequence[str], *, limit: int = 100
    ) -> dict[str, dict[str, int]]:
        check_group_fields(fields)
        resolved = self._resolved(query)
        whole = compile_sql(resolved).where == "1"
        return {
            field: {
                value_text(_typed(field, value)): int(n)
                for value, n in self._rows(
                    _counted_sql(field, limit)
                    if whole and field in COUNTED_FACETS
                    else facet_sql(resolved, field, limit)
                )
            }
            for field in fields
        }

    def aggregate(
        self, query: Query, group_by: Sequence[str], measures: Sequence[Measure] = ()
    ) -> list[dict[str, Any]]:
        check_group_fields(group_by)
        names = [*group_by, "count", *(m.name for m in measures)]
        rows = self._rows(aggregate_sql(self._resolved(query), group_by, measures))
        return [_typed_group(dict(zip(names, row, strict=True)), group_by) for row in rows]

    def select(
        self,
        where: str = "1",
        params: Sequence[Any] = (),
        *,
        order_by: str = "created_at DESC, job_id DESC",
        limit: int | None = None,
    ) -> list[SearchDocument]:
        """Documents matching a WHERE clause built by the query module (values bound as `?`)."""
        return self._select(SqlQuery(where, tuple(params), order_by), limit)

    def _select(self, compiled: SqlQuery, limit: int | None) -> list[SearchDocument]:
        sql = (
            f"SELECT {_SELECTED} FROM {compiled.source} WHERE {compiled.where}"  # noqa: S608
            + ordered(compiled.order_by)
        )
        args = [*compiled.source_params, *compiled.params]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            try:
                cursor = self.conn.execute(sql, args)
                return [row_to_document(r) for r in cursor.fetchall()]
            except sqlite3.Error as exc:
                raise SearchIndexError(f"index query failed: {exc}") from exc

    def keys(self) -> Iterator[tuple[str, str | None, str | None]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT job_id, updated_at, source_version FROM jobs ORDER BY job_id"
            ).fetchall()
        yield from rows

    def package_versions(self, name: str) -> list[str]:
        """Distinct indexed version texts of package `name` (PEP 503), for `package:` specifiers."""
        sql = "SELECT version FROM package_versions WHERE name = ? ORDER BY version"
        with self._lock:
            try:
                return [row[0] for row in self.conn.execute(sql, (name,))]
            except sqlite3.Error as exc:
                raise SearchIndexError(f"index query failed: {exc}") from exc

    # ---- internals ---------------------------------------------------------------------------

    def _resolved(self, query: Query) -> Query:
        """`query` with each package specifier turned into the indexed versions inside it."""

        def resolve(term: Term) -> Term:
            if isinstance(term, Package) and term.versions is None:
                known = self.package_versions(term.name)
                found = matching_versions(term.specifier, known) if term.specifier else known
                return replace(term, versions=tuple(found))
            return term

        return map_terms(query, resolve)

    def _rows(self, select: SqlSelect) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self.conn.execute(select.text, select.params).fetchall()
            except sqlite3.Error as exc:
                raise SearchIndexError(f"index query failed: {exc}") from exc

    def _transaction(self) -> _Transaction:
        if self._checkpointer is None and str(self.path) != ":memory:":
            self._checkpointer = _Checkpointer(self)
        return _Transaction(self.conn)


class _Checkpointer:
    """Copies the WAL back into the database from a thread and connection of its own, started
    by the first write. With `synchronous=NORMAL` a commit does not wait for the disk, but a
    checkpoint does (two fsyncs): run here, that wait overlaps the writer's next batches instead
    of stalling one of them (about 10% more upserts/s in `bench/ingest.py`). PASSIVE never
    blocks a writer or a reader; what it cannot copy now is copied on a later turn or by
    `close()`."""

    INTERVAL_SECONDS = 0.25

    def __init__(self, owner: SqliteIndex) -> None:
        self.path = owner.path
        self._owner = weakref.ref(owner)  # an index dropped without close() ends the thread
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint {self.path.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while not self._stopped.wait(self.INTERVAL_SECONDS) and self._owner() is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. SQLite's errors leave as the
    project's: a busy or locked file is a `TransientError` (the event is retried), anything
    else a `SearchIndexError`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        return self.conn

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as exc:
                value = exc
        self.conn.execute("ROLLBACK")
        if isinstance(value, sqlite3.Error):
            raise _translate(value) from value


def _translate(exc: sqlite3.Error) -> Exception:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return TransientError(f"index: {exc}")
    return SearchIndexError(f"index write failed: {exc}")


def _version(doc: SearchDocument) -> tuple[str, str]:
    return (doc.get("updated_at") or "", doc.get("source_version") or "")


@dataclass(frozen=True, slots=True)
class _Current:
    """What a write needs of a row already there: its version, its `COUNTED_FACETS` values,
    and its `package_jobs` keys (created_at and (name, version) pairs)."""

    version: tuple[str, str]
    facets: tuple[Any, ...]
    created: str
    pins: tuple[tuple[str, str], ...]


def _current_rows(conn: sqlite3.Connection, keys: list[str]) -> dict[str, _Current]:
    """The `_Current` of each of `keys` that is a row (one keyed read each)."""
    found: dict[str, _Current] = {}
    for start in range(0, len(keys), _MAX_VARIABLES):
        chunk = keys[start : start + _MAX_VARIABLES]
        marks = ", ".join("?" for _ in chunk)
        for key, updated, version, created, packages, *values in conn.execute(
            "SELECT job_id, updated_at, source_version, created_at, packages, "  # noqa: S608
            f"{_FACET_COLUMNS} FROM jobs WHERE job_id IN ({marks})",
            chunk,
        ):
            found[key] = _Current(
                (updated or "", version or ""), tuple(values), created or "", _stored_pins(packages)
            )
    return found


def _facet_values(conn: sqlite3.Connection, keys: list[str]) -> FacetValues:
    """The `COUNTED_FACETS` values of each of `keys` that is a row now."""
    return {k: row.facets for k, row in _current_rows(conn, keys).items()}


def _document_facets(doc: SearchDocument) -> tuple[Any, ...]:
    return tuple(doc.get(f) for f in COUNTED_FACETS)


def _move_packages(
    conn: sqlite3.Connection, before: dict[str, _Current], written: Sequence[SearchDocument]
) -> None:
    """`package_jobs` and `package_versions` after `written` replaced the rows `before`: only
    the jobs whose created_at or requirements changed are touched."""
    gone: list[tuple[str, str, str, str]] = []
    new: list[tuple[str, str, str, str]] = []
    versions: set[tuple[str, str]] = set()
    for doc in written:
        key, created = doc["job_id"], doc.get("created_at") or ""
        pins = _pins(_package_key(doc.get("packages") or ()))
        old = before.get(key)
        if old is not None and old.created == created and old.pins == pins:
            continue
        if old is not None:
            gone.extend(_package_rows(key, old.created, old.pins))
        new.extend(_package_rows(key, created, pins))
        versions.update(pins)
    conn.executemany(_DROP_PACKAGE_JOB, gone)
    conn.executemany(_ADD_VERSION, sorted(versions))
    conn.executemany(_ADD_PACKAGE_JOB, sorted(new))


def _package_rows(
    job_id: str, created: str, pins: tuple[tuple[str, str], ...]
) -> list[tuple[str, str, str, str]]:
    return [(name, version, created, job_id) for name, version in pins]


def _count_facets(conn: sqlite3.Connection, before: FacetValues, after: FacetValues) -> None:
    """Move the kept facet counts from the rows' values `before` a write to those `after`."""
    deltas: dict[tuple[str, Any], int] = {}
    for values, sign in [(v, -1) for v in before.values()] + [(v, 1) for v in after.values()]:
        for field, value in zip(COUNTED_FACETS, values, strict=True):
            if value is not None:
                deltas[field, value] = deltas.get((field, value), 0) + sign
    conn.executemany(_ADD_FACET_COUNT, [(f, v, n) for (f, v), n in deltas.items() if n])


def _not_older(doc: SearchDocument, current: _Current | None) -> bool:
    return current is None or _version(doc) >= current.version


def _newest_per_key(documents: Sequence[SearchDocument]) -> dict[str, SearchDocument]:
    latest: dict[str, SearchDocument] = {}
    for doc in documents:
        key = doc["job_id"]
        if key not in latest or _version(doc) >= _version(latest[key]):
            latest[key] = doc
    return latest


_JSON_AT: tuple[tuple[int, Any], ...] = tuple(
    (i, {} if c == "metrics_last" else []) for i, c in enumerate(COLUMNS) if c in _JSON_FIELDS
)
_BOOL_AT = tuple(i for i, c in enumerate(COLUMNS) if c in _BOOL_FIELDS)
_ALL_COLUMNS = operator.itemgetter(*COLUMNS)


def _row(doc: SearchDocument) -> list[Any]:
    """The `_WRITTEN` values of `doc`, by position (the hot loop of `upsert`)."""
    try:
        row = list(_ALL_COLUMNS(doc))
    except KeyError:  # a partial document: missing fields are NULL
        row = list(map(doc.get, COLUMNS))
    for at, empty in _JSON_AT:
        row[at] = orjson.dumps(row[at] or empty).decode()
    for at in _BOOL_AT:
        if row[at] is not None:
            row[at] = int(row[at])
    return row


def _package_key(packages: Iterable[str]) -> tuple[str, ...]:
    """A requirement list as the cache key of `_pins`: the order of a job's list is not kept."""
    return tuple(sorted(packages))


@functools.lru_cache(maxsize=1 << 12)  # jobs share few requirement sets (one per image)
def _pins(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The distinct (PEP 503 name, pinned version) pairs of requirement texts, sorted."""
    return tuple(sorted({split_requirement(text) for text in packages}))


@functools.lru_cache(maxsize=1 << 12)
def _stored_pins(packages: str | None) -> tuple[tuple[str, str], ...]:
    """`_pins` of a row's `packages` column (JSON text)."""
    return _pins(_package_key(orjson.loads(packages or "[]")))


def _typed(field: str, value: Any) -> Any:
    """A value read from column `field`, booleans as booleans (SQLite keeps them as 0/1)."""
    if FIELD_BY_NAME[field].type is FieldType.BOOL and value is not None:
        return bool(value)
    return value


@functools.lru_cache(maxsize=64)
def _typer(fields: tuple[str, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]] | None:
    """What turns a row of `fields` into document values (booleans from 0/1, lists and metrics
    from JSON text), or None when every column is read as it is."""
    readers = [(n, _READERS.get(FIELD_BY_NAME[name].type)) for n, name in enumerate(fields)]
    conversions = [(n, read) for n, read in readers if read is not None]
    if not conversions:
        return None

    def typed(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for n, read in conversions:
            values[n] = read(values[n])
        return tuple(values)

    return typed


def _json_list(value: Any) -> Any:
    return orjson.loads(value) if value else []


def _json_map(value: Any) -> Any:
    return orjson.loads(value) if value else {}


_READERS: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.BOOL: lambda value: None if value is None else bool(value),
    FieldType.STRINGS: _json_list,
    FieldType.METRICS: _json_map,
}


def _typed_group(row: dict[str, Any], group_by: Sequence[str]) -> dict[str, Any]:
    return {k: _typed(k, v) if k in group_by else v for k, v in row.items()}


def row_to_document(row: Sequence[Any]) -> SearchDocument:
    raw = dict(zip(COLUMNS, row, strict=True))
    for name in _JSON_FIELDS:
        raw[name] = orjson.loads(raw[name]) if raw[name] else ([] if name != "metrics_last" else {})
    for name in _BOOL_FIELDS:
        if raw[name] is not None:
            raw[name] = bool(raw[name])
    return as_document(raw)
