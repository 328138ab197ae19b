"""The embedded index's write guarantees on a real SQLite file: never older, side tables in step,
batches in one transaction, concurrent writers on one job."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import empty_document
from shared.errors import TransientError

JOB = "20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a"


def _doc(updated: str, version: str = "v", job: str = JOB, **fields: object) -> dict[str, object]:
    doc = empty_document(job)
    doc.update({"created_at": "2026-03-10T09:30:00.000Z", "updated_at": updated,
                "source_version": version, "status": "completed", "user": "alice",
                "project": "frauddetect", **fields})
    return doc


def _side_rows(index: SqliteIndex, table: str) -> list[tuple[object, ...]]:
    return sorted(index.conn.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608


def test_an_older_document_never_replaces_a_newer_one(sqlite_index: SqliteIndex) -> None:
    """A document with an earlier updated_at, or an equal one with a lower version, is skipped."""
    assert sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", "b", status="failed")]) == [JOB]
    assert sqlite_index.upsert([_doc("2026-03-10T09:00:00.000Z", "z")]) == []
    assert sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", "a")]) == []
    doc = sqlite_index.get(JOB)
    assert doc is not None
    assert doc["status"] == "failed"


def test_a_replaced_document_replaces_its_packages_tags_and_metrics(
        sqlite_index: SqliteIndex) -> None:
    """Side rows follow the current document only: nothing of the old version lingers."""
    sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["Torch==2.0.0", "numpy"],
                              tags=["a=1", "b=2"], metrics_last={"loss": 1.0})])
    sqlite_index.upsert([_doc("2026-03-10T11:00:00.000Z", packages=["torch==2.1.0"],
                              tags=["a=3"], metrics_last={"acc": 0.5})])
    assert _side_rows(sqlite_index, "job_packages") == [(JOB, "torch", "2.1.0")]
    assert _side_rows(sqlite_index, "job_tags") == [(JOB, "a", "3")]
    assert _side_rows(sqlite_index, "job_metrics") == [(JOB, "acc", 0.5)]


def test_repeated_packages_in_one_document_are_stored_once(sqlite_index: SqliteIndex) -> None:
    """The same requirement twice in a document does not fail the batch."""
    sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["numpy==1", "NumPy==1"])])
    assert _side_rows(sqlite_index, "job_packages") == [(JOB, "numpy", "1")]


def test_a_batch_with_many_versions_of_a_job_keeps_the_newest(sqlite_index: SqliteIndex) -> None:
    """Within one batch the newest version of each key wins, whatever its position."""
    batch = [_doc(f"2026-03-10T1{h}:00:00.000Z", status=s)
             for h, s in ((2, "completed"), (0, "queued"), (1, "running"))]
    assert sqlite_index.upsert(batch) == [JOB]
    doc = sqlite_index.get(JOB)
    assert doc is not None
    assert doc["status"] == "completed"


def test_deleting_removes_the_document_and_its_side_rows(sqlite_index: SqliteIndex) -> None:
    """delete() leaves no trace of the job in any table."""
    sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["a==1"], tags=["t=1"],
                              metrics_last={"m": 1})])
    assert sqlite_index.delete([JOB, "absent"]) == 1
    assert sqlite_index.count() == 0
    for table in ("job_packages", "job_tags", "job_metrics"):
        assert _side_rows(sqlite_index, table) == []


def test_two_connections_writing_one_job_keep_the_newest(tmp_path: Path) -> None:
    """Two index objects on one file (two workers) racing on a job end with its newest version."""
    path = tmp_path / "shared.sqlite3"
    SqliteIndex(path).ensure()
    hours = list(range(10))

    def write(offset: int) -> None:
        index = SqliteIndex(path)
        for h in hours[offset::2]:
            index.upsert([_doc(f"2026-03-10T1{h}:00:00.000Z", status=f"s{h}")])
        index.close()

    threads = [threading.Thread(target=write, args=(o,)) for o in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    doc = SqliteIndex(path).get(JOB)
    assert doc is not None
    assert doc["status"] == "s9"


def test_the_file_is_in_wal_mode(sqlite_index: SqliteIndex) -> None:
    """Readers never block the writer: the journal is a write-ahead log."""
    mode = sqlite3.connect(sqlite_index.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abc")), min_size=1, max_size=8))
def test_any_delivery_order_ends_with_the_greatest_version(tmp_path: Path,
                                                           versions: list[tuple[int, str]]) -> None:
    """Whatever order versions arrive in, one by one, the index holds the greatest one."""
    index = SqliteIndex(tmp_path / f"order-{abs(hash(tuple(versions)))}.sqlite3")
    index.ensure()
    for hour, version in versions:
        index.upsert([_doc(f"2026-03-10T1{hour}:00:00.000Z", version, status=f"{hour}{version}")])
    hour, version = max(versions)
    doc = index.get(JOB)
    assert doc is not None
    assert doc["status"] == f"{hour}{version}"
    index.close()


def test_a_locked_file_is_a_transient_failure(tmp_path: Path) -> None:
    """While another connection holds the write lock past the busy timeout, upsert raises
    TransientError (the event is retried), and the document lands once the lock is gone."""
    path = tmp_path / "locked.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.conn.execute("PRAGMA busy_timeout=50")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(TransientError):
        index.upsert([_doc("2026-03-10T10:00:00.000Z")])
    holder.execute("ROLLBACK")
    assert index.upsert([_doc("2026-03-10T10:00:00.000Z")]) == [JOB]
