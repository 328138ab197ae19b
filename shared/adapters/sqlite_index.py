"""`SearchIndex` in one SQLite file (WAL): the embedded index of the local stack.

Schema, generated from `shared.documents.FIELDS`:

- `jobs`: one row per document, one column per field; list and metrics fields are JSON text,
  booleans 0/1, times the documents' sortable text (`2025-12-04T14:30:22.000Z`).
- `job_packages(job_id, name, version)`: one row per package (PEP 503 name, version text as
  pinned, '' when unpinned), for `package:` queries with PEP 440 specifiers.
- `job_tags(job_id, key, value)`: one row per tag.
- `job_metrics(job_id, name, value)`: one row per numeric metric of `metrics_last`.

The side tables are WITHOUT ROWID tables keyed by (job_id, ...): the correlated `EXISTS` of the
query module and the deletes of a replaced document seek the key directly, and each side row
costs two B-trees (key + the (name, ...) index) instead of three.

Upserts go in one transaction per batch, and only replace a row whose
(updated_at, source_version) is not newer than the incoming document's: a late or duplicated
event can never make the index older. Tuning for ingest (see `bench/ingest.py`): requirement
parsing is cached, rows go in key order, new keys skip the side-table deletes, column
converters are chosen once, and new files use 16 KiB pages.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from shared.documents import FIELDS, FieldType, SearchDocument
from shared.errors import SearchIndexError, TransientError
from shared.packages import split_requirement

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

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs ("
    + ", ".join(
        f'"{f.name}" {_SQL_TYPES[f.type]}' + (" PRIMARY KEY NOT NULL" if f.key else "")
        for f in FIELDS
    )
    + ");\n"
    + """
CREATE TABLE IF NOT EXISTS job_packages (job_id TEXT NOT NULL, name TEXT NOT NULL,
    version TEXT NOT NULL, PRIMARY KEY (job_id, name, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS job_tags (job_id TEXT NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY (job_id, key, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS job_metrics (job_id TEXT NOT NULL, name TEXT NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (job_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_user_created ON jobs (user, created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_project_created ON jobs (project, created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_function_created ON jobs (function_name, created_at, job_id);
CREATE INDEX IF NOT EXISTS jobs_dep_hash ON jobs (dep_hash, created_at);
CREATE INDEX IF NOT EXISTS jobs_image ON jobs (image_hash, user);
CREATE INDEX IF NOT EXISTS jobs_gpu_cost ON jobs (use_gpu, cost_usd);
CREATE INDEX IF NOT EXISTS jobs_cost ON jobs (cost_usd);
CREATE INDEX IF NOT EXISTS jobs_tier_created ON jobs (tier, created_at);
CREATE INDEX IF NOT EXISTS jobs_retain_created ON jobs (retain, created_at);
CREATE INDEX IF NOT EXISTS job_packages_name ON job_packages (name, version, job_id);
CREATE INDEX IF NOT EXISTS job_tags_kv ON job_tags (key, value, job_id);
CREATE INDEX IF NOT EXISTS job_metrics_nv ON job_metrics (name, value, job_id);
"""
)

# Column names come from FIELDS (code, not input); every value is a bound parameter.
_UPSERT = (
    f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "  # noqa: S608
    "ON CONFLICT(job_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "job_id")
    + " WHERE (excluded.updated_at, coalesce(excluded.source_version, '')) >= "
    "(jobs.updated_at, coalesce(jobs.source_version, ''))"
)


class SqliteIndex:
    """The embedded search index; safe to share between threads of one process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA page_size=16384")  # new files only: fewer splits, ~10% faster
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA cache_size=-65536")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def ensure(self) -> None:
        with self._lock:
            self.conn.executescript(SCHEMA)

    # ---- writing -----------------------------------------------------------------------------

    def upsert(self, documents: Sequence[SearchDocument]) -> list[str]:
        if not documents:
            return []
        latest = _newest_per_key(documents)
        with self._lock, self._transaction() as conn:
            current = self._versions(conn, list(latest))
            # Key order keeps each B-tree's inserts local: fewer pages touched per batch.
            winners = sorted((d for k, d in latest.items() if _not_older(d, current.get(k))),
                             key=lambda d: d["job_id"])
            keys = [d["job_id"] for d in winners]
            conn.executemany(_UPSERT, [_row(d) for d in winners])
            replaced = [(k,) for k in keys if k in current]  # new keys have no side rows yet
            for table in ("job_packages", "job_tags", "job_metrics") if replaced else ():
                conn.executemany(f"DELETE FROM {table} WHERE job_id = ?", replaced)  # noqa: S608
            conn.executemany("INSERT OR IGNORE INTO job_packages VALUES (?, ?, ?)",
                             _package_rows(winners))
            conn.executemany("INSERT OR IGNORE INTO job_tags VALUES (?, ?, ?)", _tag_rows(winners))
            conn.executemany("INSERT OR IGNORE INTO job_metrics VALUES (?, ?, ?)",
                             _metric_rows(winners))
        return keys

    def delete(self, job_ids: Sequence[str]) -> int:
        with self._lock, self._transaction() as conn:
            params = [(k,) for k in job_ids]
            for table in ("job_packages", "job_tags", "job_metrics"):
                conn.executemany(f"DELETE FROM {table} WHERE job_id = ?", params)  # noqa: S608
            before = conn.total_changes
            conn.executemany("DELETE FROM jobs WHERE job_id = ?", params)
            return conn.total_changes - before

    def set_field(self, job_id: str, name: str, value: Any) -> None:
        """Change one scalar field in place (e.g. `tier` after a lifecycle move)."""
        if name not in COLUMNS or name in _JSON_FIELDS or name == "job_id":
            raise SearchIndexError(f"field {name!r} cannot be set in place")
        with self._lock:
            self.conn.execute(f'UPDATE jobs SET "{name}" = ? WHERE job_id = ?', (value, job_id))  # noqa: S608

    # ---- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> SearchDocument | None:
        rows = self.select("job_id = ?", (job_id,), limit=1)
        return rows[0] if rows else None

    def select(self, where: str = "1", params: Sequence[Any] = (), *,
               order_by: str = "created_at DESC, job_id DESC", limit: int | None = None
               ) -> list[SearchDocument]:
        """Documents matching a WHERE clause built by the query module (values bound as `?`)."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE {where} ORDER BY {order_by}"  # noqa: S608
        args = list(params)
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
                "SELECT job_id, updated_at, source_version FROM jobs ORDER BY job_id").fetchall()
        yield from rows

    def count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT count(*) FROM jobs").fetchone()[0])

    def package_versions(self, name: str) -> list[str]:
        """Distinct indexed version texts of package `name` (PEP 503), for `package:` specifiers.

        A skip scan of the (name, version) index: one probe per distinct version, however many
        jobs use the package.
        """
        sql = (
            "WITH RECURSIVE v(version) AS ("
            " SELECT min(version) FROM job_packages WHERE name = ?1"
            " UNION ALL SELECT (SELECT min(version) FROM job_packages"
            " WHERE name = ?1 AND version > v.version) FROM v WHERE v.version IS NOT NULL)"
            " SELECT version FROM v WHERE version IS NOT NULL"
        )
        with self._lock:
            try:
                return [row[0] for row in self.conn.execute(sql, (name,))]
            except sqlite3.Error as exc:
                raise SearchIndexError(f"index query failed: {exc}") from exc

    # ---- internals ---------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    @staticmethod
    def _versions(conn: sqlite3.Connection, keys: list[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(keys), _MAX_VARIABLES):
            chunk = keys[start : start + _MAX_VARIABLES]
            marks = ", ".join("?" for _ in chunk)
            for key, updated, version in conn.execute(
                f"SELECT job_id, updated_at, source_version FROM jobs WHERE job_id IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[key] = (updated or "", version or "")
        return found


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


def _not_older(doc: SearchDocument, current: tuple[str, str] | None) -> bool:
    return current is None or _version(doc) >= current


def _newest_per_key(documents: Sequence[SearchDocument]) -> dict[str, SearchDocument]:
    latest: dict[str, SearchDocument] = {}
    for doc in documents:
        key = doc["job_id"]
        if key not in latest or _version(doc) >= _version(latest[key]):
            latest[key] = doc
    return latest


def _json_column(value: Any, empty: Any) -> str:
    return orjson.dumps(value or empty).decode()


def _bool_column(value: Any, _: Any) -> int | None:
    return None if value is None else int(value)


def _plain_column(value: Any, _: Any) -> Any:
    return value


# One converter per column, chosen once: the hot loop of `upsert` does no field-type tests.
_CONVERTERS: tuple[tuple[str, Callable[[Any, Any], Any], Any], ...] = tuple(
    (c, _json_column, {} if c == "metrics_last" else []) if c in _JSON_FIELDS
    else (c, _bool_column, None) if c in _BOOL_FIELDS
    else (c, _plain_column, None)
    for c in COLUMNS
)


def _row(doc: SearchDocument) -> tuple[Any, ...]:
    get = doc.get
    return tuple(convert(get(c), empty) for c, convert, empty in _CONVERTERS)


def row_to_document(row: Sequence[Any]) -> SearchDocument:
    doc: SearchDocument = dict(zip(COLUMNS, row, strict=True))
    for name in _JSON_FIELDS:
        doc[name] = orjson.loads(doc[name]) if doc[name] else ([] if name != "metrics_last" else {})
    for name in _BOOL_FIELDS:
        if doc[name] is not None:
            doc[name] = bool(doc[name])
    return doc


def _package_rows(docs: Sequence[SearchDocument]) -> Iterator[tuple[str, str, str]]:
    for doc in docs:
        for spec in doc.get("packages") or ():
            name, version = split_requirement(spec)
            yield doc["job_id"], name, version


def _tag_rows(docs: Sequence[SearchDocument]) -> Iterator[tuple[str, str, str]]:
    for doc in docs:
        for tag in doc.get("tags") or ():
            key, _, value = tag.partition("=")
            yield doc["job_id"], key, value


def _metric_rows(docs: Sequence[SearchDocument]) -> Iterator[tuple[str, str, float]]:
    for doc in docs:
        for name, value in (doc.get("metrics_last") or {}).items():
            yield doc["job_id"], name, float(value)
