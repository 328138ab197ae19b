"""`Checkpoint` in a SQLite file: which version of each blob the local worker has handled.

One row per blob (`seen(name, etag, modified)`, keyed by name, without rowid), and one per
(project, user) folder the worker has seen (`owners`), which tells a narrowed pass which job
folders to look in. Rows are written as each batch of events is handled, one small transaction
each, so a worker killed half-way loses at most the batches still in flight (handled again, which
is idempotent) and skips nothing. Names compare as SQLite's BINARY collation (code points of
UTF-8), the order in which Blob Storage lists them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from shared.ports import Seen

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    name TEXT PRIMARY KEY, etag TEXT NOT NULL, modified TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owners (
    project TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY (project, user)
) WITHOUT ROWID;
"""
_CHUNK = 500  # names per IN (...) query


class SqliteCheckpoint:
    """The worker's handled-blob versions in one SQLite file (WAL)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM seen").fetchone()[0])

    def get(self, names: Sequence[str]) -> dict[str, Seen]:
        """The recorded versions of those of `names` that have one."""
        found: dict[str, Seen] = {}
        with self._lock:
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT name, etag, modified FROM seen WHERE name IN ({marks})",  # noqa: S608 - only ? marks
                    chunk,
                )
                found.update((name, (etag, modified)) for name, etag, modified in rows)
        return found

    def between(self, after: str | None, upto: str | None) -> Iterator[tuple[str, Seen]]:
        """Recorded blobs with `after` < name <= `upto` (None: unbounded), in name order."""
        sql, params = "SELECT name, etag, modified FROM seen WHERE 1=1", list[str]()
        if after is not None:
            sql, params = sql + " AND name > ?", [*params, after]
        if upto is not None:
            sql, params = sql + " AND name <= ?", [*params, upto]
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY name", params).fetchall()
        for name, etag, modified in rows:
            yield name, (etag, modified)

    def under(self, prefix: str) -> dict[str, Seen]:
        """Recorded blobs whose name starts with `prefix`."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, etag, modified FROM seen WHERE name >= ? AND name < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return {name: (etag, modified) for name, etag, modified in rows}

    def record(self, handled: Iterable[tuple[str, Seen | None]]) -> None:
        """Store each blob's handled version (None: the blob is gone, forget it)."""
        rows = list(handled)
        kept = [(name, etag, modified) for name, seen in rows if seen for etag, modified in [seen]]
        gone = [(name,) for name, seen in rows if seen is None]
        owners = {owner for name, _, _ in kept if (owner := _owner(name)) is not None}
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO seen VALUES (?, ?, ?)", kept)
            self._conn.executemany("DELETE FROM seen WHERE name = ?", gone)
            self._conn.executemany("INSERT OR IGNORE INTO owners VALUES (?, ?)", sorted(owners))
            self._conn.execute("COMMIT")

    def owners(self) -> list[tuple[str, str]]:
        """Every (project, user) whose job folders held a handled blob."""
        with self._lock:
            return [(p, u) for p, u in self._conn.execute("SELECT project, user FROM owners")]


def _owner(name: str) -> tuple[str, str] | None:
    match name.split("/", 5):
        case ["projects", project, "users", user, "jobs", *_]:
            return project, user
    return None
