"""The embedded index's write guarantees on a real SQLite file: never older, package/tag/metric
terms in step with the current document, batches in one transaction, concurrent writers on one
job, and files of the earlier schema migrated in place."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query import search
from shared.adapters.sqlite_index import SCHEMA_VERSION, SqliteIndex
from shared.clock import SystemClock
from shared.documents import SearchDocument, as_document, empty_document
from shared.errors import TransientError
from shared.principal import Principal
from shared.querytree import Query

JOB = "20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a"
ADMIN = Principal.of("root", "admin")


def _doc(updated: str, version: str = "v", job: str = JOB, **fields: object) -> SearchDocument:
    doc: dict[str, Any] = dict(empty_document(job))
    doc.update(
        {
            "created_at": "2026-03-10T09:30:00.000Z",
            "updated_at": updated,
            "source_version": version,
            "status": "completed",
            "user": "alice",
            "project": "frauddetect",
            **fields,
        }
    )
    return as_document(doc)


def _hits(index: SqliteIndex, text: str) -> list[str]:
    """Job IDs an admin finds with query `text`."""
    return [d["job_id"] for d in search(index, ADMIN, text, clock=SystemClock()).documents]


def test_an_older_document_never_replaces_a_newer_one(sqlite_index: SqliteIndex) -> None:
    """A document with an earlier updated_at, or an equal one with a lower version, is skipped."""
    assert sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", "b", status="failed")]) == [JOB]
    assert sqlite_index.upsert([_doc("2026-03-10T09:00:00.000Z", "z")]) == []
    assert sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", "a")]) == []
    doc = sqlite_index.get(JOB)
    assert doc is not None
    assert doc["status"] == "failed"


def test_a_replaced_document_replaces_its_packages_tags_and_metrics(
    sqlite_index: SqliteIndex,
) -> None:
    """Queries follow the current document only: nothing of the old version lingers."""
    sqlite_index.upsert(
        [
            _doc(
                "2026-03-10T10:00:00.000Z",
                packages=["Torch==2.0.0", "numpy"],
                tags=["a=1", "b=2"],
                metrics_last={"loss": 1.0},
            )
        ]
    )
    assert _hits(sqlite_index, 'package:"torch==2.0.0" package:numpy tag:a=1 metric:loss') == [JOB]
    sqlite_index.upsert(
        [
            _doc(
                "2026-03-10T11:00:00.000Z",
                packages=["torch==2.1.0"],
                tags=["a=3"],
                metrics_last={"acc": 0.5},
            )
        ]
    )
    for gone in ('package:"torch==2.0.0"', "package:numpy", "tag:a=1", "tag:b", "metric:loss"):
        assert _hits(sqlite_index, gone) == [], gone
    for present in ('package:"torch>=2.1"', "tag:a=3", "tag:a", "metric:acc<=0.5"):
        assert _hits(sqlite_index, present) == [JOB], present


def test_repeated_packages_in_one_document_are_harmless(sqlite_index: SqliteIndex) -> None:
    """The same requirement twice in a document neither fails the batch nor doubles a hit."""
    sqlite_index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["numpy==1", "NumPy==1"])])
    assert _hits(sqlite_index, 'package:"numpy==1"') == [JOB]
    assert sqlite_index.package_versions("numpy") == ["1"]


def test_a_batch_with_many_versions_of_a_job_keeps_the_newest(sqlite_index: SqliteIndex) -> None:
    """Within one batch the newest version of each key wins, whatever its position."""
    batch = [
        _doc(f"2026-03-10T1{h}:00:00.000Z", status=s)
        for h, s in ((2, "completed"), (0, "queued"), (1, "running"))
    ]
    assert sqlite_index.upsert(batch) == [JOB]
    doc = sqlite_index.get(JOB)
    assert doc is not None
    assert doc["status"] == "completed"


def test_deleting_removes_the_document_from_every_query(sqlite_index: SqliteIndex) -> None:
    """delete() leaves no trace of the job in any query."""
    sqlite_index.upsert(
        [_doc("2026-03-10T10:00:00.000Z", packages=["a==1"], tags=["t=1"], metrics_last={"m": 1})]
    )
    assert sqlite_index.delete([JOB, "absent"]) == 1
    assert sqlite_index.count() == 0
    for text in ("", "package:a", "tag:t", "metric:m"):
        assert _hits(sqlite_index, text) == [], text


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


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abc")), min_size=1, max_size=8))
def test_any_delivery_order_ends_with_the_greatest_version(
    tmp_path: Path, versions: list[tuple[int, str]]
) -> None:
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


def test_a_file_of_the_first_schema_is_migrated_in_place(tmp_path: Path) -> None:
    """A file written before `package_pins` (side tables per package/tag/metric, user_version
    0) keeps its documents, answers package queries after `ensure()`, and loses the old tables."""
    path = tmp_path / "v1.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["Torch==2.0.0"], tags=["a=1"])])
    index.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("""
        DROP TABLE package_jobs; DROP TABLE package_versions;
        CREATE TABLE job_packages (job_id TEXT, name TEXT, version TEXT,
            PRIMARY KEY (job_id, name, version)) WITHOUT ROWID;
        CREATE TABLE job_tags (job_id TEXT, key TEXT, value TEXT,
            PRIMARY KEY (job_id, key, value)) WITHOUT ROWID;
        PRAGMA user_version = 0;""")
    old.close()

    index = SqliteIndex(path)
    index.ensure()
    assert _hits(index, 'package:"torch>=2" tag:a=1') == [JOB]
    assert index.package_versions("torch") == ["2.0.0"]
    tables = {r[0] for r in index.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"jobs", "package_versions", "package_jobs", "facet_counts"}
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()


def test_a_file_of_version_3_gains_the_package_table_and_loses_its_pins_column(
    tmp_path: Path,
) -> None:
    """A version-3 file (packages as a `package_pins` JSON column, no `package_jobs`) answers
    exact, range and name-only package queries after `ensure()`, without the old column."""
    path = tmp_path / "v3.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.upsert([_doc("2026-03-10T10:00:00.000Z", packages=["Torch==2.0.0", "numpy"])])
    index.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("""DROP TABLE package_jobs; DELETE FROM package_versions;
        ALTER TABLE jobs ADD COLUMN package_pins TEXT;
        UPDATE jobs SET package_pins = '["numpy ","torch 2.0.0"]'; PRAGMA user_version = 3;""")
    old.close()

    index = SqliteIndex(path)
    index.ensure()
    for text in ('package:"torch==2.0.0"', 'package:"torch>=2,<3"', "package:numpy"):
        assert _hits(index, text) == [JOB], text
    assert _hits(index, 'package:"torch<2"') == []
    columns = {r[1] for r in index.conn.execute("PRAGMA table_info(jobs)")}
    assert "package_pins" not in columns
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()


def test_close_folds_the_wal_into_the_file_and_stops_the_checkpoint_thread(tmp_path: Path) -> None:
    """Writes are checkpointed from a thread of the index's own; after close() no such thread
    is left and the database file alone (no WAL) holds every document."""
    path = tmp_path / "wal.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.upsert([_doc("2026-03-10T10:00:00.000Z", job=f"{JOB[:-1]}{n}") for n in range(10)])
    assert any(t.name == f"checkpoint {path.name}" for t in threading.enumerate())
    index.close()
    assert not any(t.name == f"checkpoint {path.name}" for t in threading.enumerate())
    wal = tmp_path / "wal.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    only_the_file = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    assert only_the_file.execute("SELECT count(*) FROM jobs").fetchone()[0] == 10


def test_a_file_without_error_signatures_gains_the_columns_and_answers_signature(
    tmp_path: Path,
) -> None:
    """A version-2 file (before `error_signature`) keeps its jobs, gains the new columns, and
    answers `signature:` once a job is indexed with one."""
    path = tmp_path / "v2.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.upsert([_doc("2026-03-10T10:00:00.000Z")])
    index.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("""DROP INDEX jobs_signature_created; DROP INDEX jobs_report_failed;
        ALTER TABLE jobs DROP COLUMN error_signature; ALTER TABLE jobs DROP COLUMN error_pattern;
        PRAGMA user_version = 2;""")
    old.close()

    index = SqliteIndex(path)
    index.ensure()
    assert _hits(index, "status:completed") == [JOB]
    index.upsert(
        [
            _doc(
                "2026-03-10T11:00:00.000Z",
                status="failed",
                error_signature="0123456789ab",
                error_pattern="RuntimeError: boom <n>",
            )
        ]
    )
    assert _hits(index, "signature:0123456789ab") == [JOB]
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()


_FACETED = ("status", "project", "user", "node_type")
_WRITES = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "upsert", "stale", "delete", "set"]),
        st.integers(0, 4),
        st.sampled_from(["queued", "failed", "completed", None]),
        st.sampled_from(["alice", "bob"]),
        st.sampled_from(["fraud", "vision", None]),
        st.sampled_from(["gpu_small", "cpu", None]),
    ),
    max_size=30,
)


def _row_counts(index: SqliteIndex) -> dict[str, dict[str, int]]:
    """The oracle: jobs per non-NULL value of each faceted field, counted from the rows."""
    counts: dict[str, dict[str, int]] = {f: {} for f in _FACETED}
    for row in index.conn.execute('SELECT status, project, "user", node_type FROM jobs'):
        for field, value in zip(_FACETED, row, strict=True):
            if value is not None:
                counts[field][value] = counts[field].get(value, 0) + 1
    return counts


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_WRITES)
def test_whole_index_facet_counts_stay_exact_through_any_writes(
    tmp_path_factory: pytest.TempPathFactory,
    writes: list[tuple[str, int, str | None, str, str | None, str | None]],
) -> None:
    """Upserts, stale upserts, in-place sets and deletes in any order: the kept counts that
    answer an unfiltered facet request equal a count of the table's rows."""
    index = SqliteIndex(tmp_path_factory.mktemp("facets") / "index.sqlite3")
    index.ensure()
    try:
        for step, (kind, n, status, user, project, node) in enumerate(writes):
            job = f"{JOB[:-1]}{n}"
            if kind == "delete":
                index.delete([job])
            elif kind == "set" and status is not None:
                index.set_field(job, "status", status)
            else:
                updated = (
                    "2026-03-10T09:00:00.000Z"
                    if kind == "stale"
                    else f"2026-03-10T10:{step:02d}:00.000Z"
                )
                index.upsert(
                    [
                        _doc(
                            updated,
                            job=job,
                            status=status,
                            user=user,
                            project=project,
                            node_type=node,
                        )
                    ]
                )
        counted = index.facets(Query(), list(_FACETED), limit=100)
        assert counted == {
            f: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0])))
            for f, v in _row_counts(index).items()
        }
        assert [list(v.values()) for v in counted.values()] == [
            sorted(v.values(), reverse=True) for v in counted.values()
        ]
    finally:
        index.close()


def test_a_file_without_facet_counts_gains_them_filled_from_its_rows(tmp_path: Path) -> None:
    """An index made before the kept counts: `ensure()` counts its rows once, and later
    writes keep the counts in step."""
    index = SqliteIndex(tmp_path / "index.sqlite3")
    index.ensure()
    index.upsert(
        [
            _doc(
                "2026-03-10T10:00:00.000Z",
                job=f"{JOB[:-1]}{n}",
                status=("failed", "completed")[n % 2],
            )
            for n in range(5)
        ]
    )
    index.upsert([_doc("2026-03-10T10:00:00.000Z", job=f"{JOB[:-1]}9", status="failed")])
    index.close()
    with sqlite3.connect(tmp_path / "index.sqlite3") as older:
        older.execute("DROP TABLE facet_counts")
    again = SqliteIndex(tmp_path / "index.sqlite3")
    again.ensure()
    again.delete([f"{JOB[:-1]}0"])
    assert again.facets(Query(), ["status", "user"]) == {
        "status": {"completed": 2, "failed": 3},
        "user": {"alice": 5},
    }
    again.close()


def test_opening_an_up_to_date_index_writes_nothing(tmp_path: Path) -> None:
    """`ensure` on a file already at the current schema only reads: no change, no checkpointer
    (every `ascend` command opens the index; a listing must not write)."""
    first = SqliteIndex(tmp_path / "index.sqlite3")
    first.ensure()
    first.upsert([empty_document("20250101-000000-alice-p-a3f5d2c8-00000001")])
    first.close()
    again = SqliteIndex(tmp_path / "index.sqlite3")
    again.ensure()
    assert again.conn.total_changes == 0
    assert again._checkpointer is None
    assert again.count() == 1
    again.close()


def test_an_index_the_schema_has_changed_under_is_brought_up_to_date(tmp_path: Path) -> None:
    """A missing index or a dropped index still present makes `ensure` apply the schema, even at
    the current version."""
    path = tmp_path / "index.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX jobs_created")
        conn.execute("CREATE INDEX jobs_report_storage ON jobs (project)")
    conn.close()
    index = SqliteIndex(path)
    index.ensure()
    names = {row[0] for row in index.conn.execute("SELECT name FROM sqlite_master")}
    assert "jobs_created" in names
    assert "jobs_report_storage" not in names
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()


def test_a_file_of_version_4_gets_the_partial_signature_index(tmp_path: Path) -> None:
    """A version-4 file (every job in the signature index) has it remade partial by `ensure()`
    and still answers `signature:`."""
    path = tmp_path / "v4.sqlite3"
    index = SqliteIndex(path)
    index.ensure()
    index.upsert(
        [_doc("2026-03-10T10:00:00.000Z", status="failed", error_signature="0123456789ab")]
    )
    index.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("""DROP INDEX jobs_signature_created;
        CREATE INDEX jobs_signature_created ON jobs (error_signature, created_at);
        PRAGMA user_version = 4;""")
    old.close()

    index = SqliteIndex(path)
    index.ensure()
    made = index.conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'jobs_signature_created'"
    ).fetchone()[0]
    assert "WHERE error_signature IS NOT NULL" in made
    assert _hits(index, "signature:0123456789ab") == [JOB]
    index.close()
