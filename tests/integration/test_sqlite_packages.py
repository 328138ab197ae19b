"""`package:` terms on a real SQLite file: the `package_jobs` table stays in step with the rows
through any writes, listings driven by it come in the listing's exact order page after page,
and the README questions keep their query plans (EXPLAIN QUERY PLAN)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query import parse_query, search
from query.service import iter_json, scoped
from shared.adapters.sql_query import document_json_sql, epoch_ms
from shared.adapters.sqlite_index import SCHEMA_VERSION, SqliteIndex
from shared.clock import FixedClock
from shared.documents import (
    SearchDocument,
    as_document,
    empty_document,
    format_datetime,
    parse_datetime,
)
from shared.packages import split_requirement, version_matches
from shared.principal import Principal

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)
ADMIN = Principal.of("root", "admin")
ALICE = Principal.of("alice")
REQUIREMENT_SETS: tuple[list[str], ...] = (
    ["torch==2.0.0", "numpy==1.26.4"],
    ["torch==2.1.0", "numpy"],
    ["Torch==2.1.0+cu118"],
    ["torch==2.0.0", "torch==2.1.0"],  # the same package twice: one hit, not two
    [],
)
CREATED = ("2026-03-10T09:00:00.000Z", "2026-03-11T09:00:00.000Z", "2026-03-12T09:00:00.000Z")
QUERIES = (
    "package:torch",
    'package:"torch==2.0.0"',
    'package:"torch>=2.0.0,<2.2"',
    'package:"torch>=2.1" status:failed',
    'package:"torch>=2" created:>=2026-03-11',
    'package:"torch<9" sort:created',
    "package:numpy user:alice",
    'package:"torch==2.0.0" -package:numpy',
)


def _job(n: int) -> str:
    return f"20260310-093000-alice-frauddetect-a3f5d2c8-{n:08x}"


def _doc(n: int, step: int, packages: list[str], created: str, status: str) -> SearchDocument:
    doc: dict[str, Any] = dict(empty_document(_job(n)))
    doc.update(
        created_at=created,
        updated_at=f"2026-03-13T10:{step:02d}:00.000Z",
        source_version="v",
        status=status,
        user=("alice", "bob")[n % 2],
        project="fraud",
        packages=packages,
    )
    return as_document(doc)


def _epoch_ms(text: str) -> int:
    return (parse_datetime(text) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _oracle_entries(index: SqliteIndex) -> set[tuple[str, str, int, str]]:
    """`package_jobs` as it should be: derived from every row's own packages (creation times as
    epoch milliseconds)."""
    rows = index.conn.execute("SELECT job_id, created_at, packages FROM jobs").fetchall()
    return {
        (*split_requirement(text), _epoch_ms(created), job_id)
        for job_id, created, packages in rows
        for text in orjson.loads(packages)
    }


def _stored_entries(index: SqliteIndex) -> set[tuple[str, str, int, str]]:
    """`package_jobs` as stored, each version id read as its (name, version)."""
    rows = index.conn.execute(
        "SELECT v.name, v.version, p.created, p.job_id FROM package_jobs p "
        "JOIN package_versions v ON v.id = p.version_id"
    )
    return set(rows.fetchall())


def _matches(doc: Mapping[str, Any], text: str) -> bool:
    """Does the row match `text`? Each query of QUERIES decided in Python."""
    pairs = {split_requirement(p) for p in doc["packages"]}
    torch = [v for name, v in pairs if name == "torch"]
    checks = {
        "package:torch": bool(torch),
        'package:"torch==2.0.0"': "2.0.0" in torch,
        'package:"torch>=2.0.0,<2.2"': any(version_matches(">=2.0.0,<2.2", v) for v in torch),
        'package:"torch>=2.1" status:failed': doc["status"] == "failed"
        and any(version_matches(">=2.1", v) for v in torch),
        'package:"torch>=2" created:>=2026-03-11': doc["created_at"] >= "2026-03-11"
        and any(version_matches(">=2", v) for v in torch),
        'package:"torch<9" sort:created': any(version_matches("<9", v) for v in torch),
        "package:numpy user:alice": doc["user"] == "alice"
        and any(name == "numpy" for name, _ in pairs),
        'package:"torch==2.0.0" -package:numpy': "2.0.0" in torch
        and not any(name == "numpy" for name, _ in pairs),
    }
    return checks[text]


def _listed(index: SqliteIndex, text: str) -> Iterator[str]:
    """Every job of `text`, two per page, following the cursors."""
    cursor = None
    while True:
        page = search(index, ADMIN, text, limit=2, cursor=cursor, clock=CLOCK)
        yield from (d["job_id"] for d in page.documents)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


_WRITES = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "upsert", "upsert", "stale", "delete", "set"]),
        st.integers(0, 5),
        st.integers(0, len(REQUIREMENT_SETS) - 1),
        st.sampled_from(CREATED),
        st.sampled_from(["failed", "completed"]),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_WRITES)
def test_package_listings_equal_a_filter_of_the_rows_through_any_writes(
    tmp_path_factory: pytest.TempPathFactory, writes: list[tuple[str, int, int, str, str]]
) -> None:
    """Upserts that change a job's requirements or creation time, stale upserts, in-place sets
    and deletes in any order: `package_jobs` is what the rows say, and each package query lists
    exactly the matching jobs, once each, in the listing's order across pages."""
    index = SqliteIndex(tmp_path_factory.mktemp("packages") / "index.sqlite3")
    index.ensure()
    try:
        for step, (kind, n, packages, created, status) in enumerate(writes):
            if kind == "delete":
                index.delete([_job(n)])
            elif kind == "set":
                index.set_field(_job(n), "status", status)
            else:
                doc = _doc(n, step, list(REQUIREMENT_SETS[packages]), created, status)
                if kind == "stale":
                    doc["updated_at"] = "2026-03-01T00:00:00.000Z"
                index.upsert([doc])
        assert _stored_entries(index) == _oracle_entries(index)
        rows = index.select()
        for text in QUERIES:
            expected = sorted(
                ((d["created_at"], d["job_id"]) for d in rows if _matches(d, text)),
                reverse="sort:created" not in text,
            )
            assert list(_listed(index, text)) == [job for _, job in expected], text
    finally:
        index.close()


@pytest.fixture
def sample_index(tmp_path: Path) -> Iterator[SqliteIndex]:
    index = SqliteIndex(tmp_path / "index.sqlite3")
    index.ensure()
    index.upsert(
        [
            _doc(
                n, 0, list(REQUIREMENT_SETS[n % 3]), CREATED[n % 3], ("failed", "completed")[n % 2]
            )
            for n in range(30)
        ]
    )
    yield index
    index.close()


def test_the_json_lines_of_a_package_listing_are_its_documents_in_order(
    sample_index: SqliteIndex,
) -> None:
    """`--json`'s path (the index's JSON texts) lists the same jobs as the documents' path."""
    for text in QUERIES:
        lines = list(iter_json(sample_index, ADMIN, text, clock=CLOCK, page_size=4))
        assert [orjson.loads(line)["job_id"] for line in lines] == list(_listed(sample_index, text))


def _plan(index: SqliteIndex, principal: Principal, text: str) -> str:
    """EXPLAIN QUERY PLAN of the first page of `text` as `principal` lists it as JSON."""
    query = index._resolved(scoped(principal, parse_query(text), CLOCK))
    select = document_json_sql(query, 21)
    rows = index.conn.execute(f"EXPLAIN QUERY PLAN {select.text}", select.params).fetchall()
    return "\n".join(row[3] for row in rows)


@pytest.mark.parametrize(
    ("text", "uses"),
    [
        ("status:failed created:>=-7d", "SEARCH jobs USING INDEX jobs_status_created"),
        ("dep:a3f5d2c8", "SEARCH jobs USING INDEX jobs_dep_hash"),
        ("signature:0123456789ab", "SEARCH jobs USING INDEX jobs_signature_created"),
        ('package:"torch==2.0.0"', "SEARCH package_jobs USING PRIMARY KEY (version_id=?)"),
        ('package:"torch>=2.0.0,<2.2"', "MERGE (UNION)"),
        ("", "SCAN jobs USING INDEX jobs_created"),
    ],
)
def test_the_readme_questions_keep_their_query_plans(
    sample_index: SqliteIndex, text: str, uses: str
) -> None:
    """Each question reads its index in the listing's order: no sort of all the matches in a
    temporary B-tree (only of equal times by job_id), no scan of every row (the regressions
    that cost 10-100x)."""
    plan = _plan(sample_index, ADMIN, text)
    assert uses in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    assert "SCAN jobs\n" not in f"{plan}\n", plan


def test_a_narrower_index_drives_a_package_listing_and_the_package_is_probed(
    sample_index: SqliteIndex,
) -> None:
    """A user's package listing reads the user's jobs newest first and probes each one's
    package keys, instead of reading every job with the package."""
    plan = _plan(sample_index, ALICE, 'package:"torch>=2"')
    assert "jobs_user_created" in plan, plan
    assert "SEARCH pj USING PRIMARY KEY (version_id=? AND created=? AND job_id=?)" in plan, plan
    assert "MERGE" not in plan, plan


def _sql_epoch_ms(index: SqliteIndex, text: str | None) -> int:
    return int(index.conn.execute(f"SELECT {epoch_ms('?')}", (text,)).fetchone()[0])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)),
        min_size=2,
        max_size=2,
    )
)
def test_package_rows_keep_creation_times_as_milliseconds_in_the_texts_order(
    moments: list[datetime],
) -> None:
    """`package_jobs.created` of any document time is its epoch milliseconds, and two times'
    integers compare as their texts do (the listing's order is the texts')."""
    index = SqliteIndex(":memory:")
    first, second = (format_datetime(m) for m in moments)
    assert _sql_epoch_ms(index, first) == _epoch_ms(first)
    ordered = sorted([first, second])
    assert sorted([first, second], key=lambda t: _sql_epoch_ms(index, t)) == ordered
    assert _sql_epoch_ms(index, None) < _sql_epoch_ms(index, "0001-01-01T00:00:00.000Z")
    index.close()


def test_jobs_created_in_the_same_millisecond_list_in_job_id_order(tmp_path: Path) -> None:
    """Jobs created in the same millisecond come in job ID order (IDs that do not follow the
    creation times), page after page, in a listing driven by `package_jobs` and in one that
    probes it."""
    index = SqliteIndex(tmp_path / "index.sqlite3")
    index.ensure()
    same, later = "2026-03-11T09:00:00.000Z", "2026-03-11T09:00:00.001Z"
    docs = [
        _doc(n, 0, ["torch==2.0.0"], created, "failed")
        for n, created in enumerate([same, later, same, same, later, same])
    ]
    docs.append(_doc(6, 0, ["torch==2.1.0"], same, "failed"))
    index.upsert(docs)
    newest_first = [_job(n) for n in (4, 1, 6, 5, 3, 2, 0)]
    assert list(_listed(index, 'package:"torch>=2"')) == newest_first
    assert list(_listed(index, 'package:"torch>=2" sort:created')) == newest_first[::-1]
    assert list(_listed(index, 'package:"torch>=2" user:alice')) == [
        j for j in newest_first if int(j[-8:], 16) % 2 == 0
    ]
    index.close()


# The version-5 tables, as that schema made them (texts for names, versions and times).
_VERSION_5 = """
    DROP TABLE package_jobs; DROP TABLE package_versions; DROP INDEX jobs_report_failed;
    CREATE TABLE package_versions (name TEXT NOT NULL, version TEXT NOT NULL,
        PRIMARY KEY (name, version)) WITHOUT ROWID;
    CREATE TABLE package_jobs (name TEXT NOT NULL, version TEXT NOT NULL,
        created_at TEXT NOT NULL, job_id TEXT NOT NULL,
        PRIMARY KEY (name, version, created_at, job_id)) WITHOUT ROWID;
    CREATE INDEX jobs_report_failures_newest ON jobs (status, error_signature, user,
        project, image_hash, created_at DESC, job_id DESC);
    PRAGMA user_version = 5;
"""


def _answers(index: SqliteIndex) -> dict[str, list[str]]:
    """Every job of each package query and of two others, in order, as an admin."""
    texts = (*QUERIES, "status:failed", "")
    return {text: list(_listed(index, text)) for text in texts}


def test_a_file_of_version_5_is_migrated_and_answers_the_same(sample_index: SqliteIndex) -> None:
    """A version-5 file (package rows keyed by texts, every job in the failures index) keeps
    its jobs, is brought to the current schema in place by `ensure()`, and answers every
    package query with the same jobs in the same order."""
    before = _answers(sample_index)
    entries = _stored_entries(sample_index)
    conn = sample_index.conn
    conn.executescript(_VERSION_5)
    conn.executemany(
        "INSERT INTO package_jobs VALUES (?, ?, ?, ?)",
        [
            (name, version, created, job_id)
            for job_id, created, packages in conn.execute(
                "SELECT job_id, created_at, packages FROM jobs"
            )
            for name, version in {split_requirement(text) for text in orjson.loads(packages)}
        ],
    )
    conn.execute("INSERT INTO package_versions SELECT DISTINCT name, version FROM package_jobs")
    sample_index.close()

    index = SqliteIndex(sample_index.path)
    index.ensure()
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [r[1] for r in index.conn.execute("PRAGMA table_info(package_jobs)")]
    assert columns == ["version_id", "created", "job_id"]
    names = {r[0] for r in index.conn.execute("SELECT name FROM sqlite_master")}
    assert "jobs_report_failures_newest" not in names
    assert "jobs_report_failed" in names
    assert _stored_entries(index) == entries == _oracle_entries(index)
    assert _answers(index) == before
    index.close()
    again = SqliteIndex(sample_index.path)
    again.ensure()  # migrated once: opening it again writes nothing
    assert again.conn.total_changes == 0
    again.close()


def test_package_rows_are_made_again_for_jobs_written_by_sql(tmp_path: Path) -> None:
    """Jobs copied into a new file by SQL alone (no package rows) gain their `package_jobs`
    rows from `_fill_package_jobs`, which keeps the ids of versions already known."""
    source = SqliteIndex(tmp_path / "source.sqlite3")
    source.ensure()
    source.upsert(
        [_doc(n, 0, list(REQUIREMENT_SETS[n % 5]), CREATED[n % 3], "failed") for n in range(12)]
    )
    source.close()
    index = SqliteIndex(tmp_path / "copy.sqlite3")
    index.ensure()
    index.upsert([_doc(99, 0, ["numpy==1.26.4"], CREATED[0], "failed")])
    known = index.conn.execute("SELECT id, name, version FROM package_versions").fetchall()
    index.conn.execute("ATTACH ? AS source", (str(tmp_path / "source.sqlite3"),))
    index.conn.execute("INSERT INTO jobs SELECT * FROM source.jobs")
    index.conn.execute("DETACH source")
    index._fill_package_jobs(index.conn)
    assert _stored_entries(index) == _oracle_entries(index)
    assert set(known) <= set(index.conn.execute("SELECT id, name, version FROM package_versions"))
    rows = index.select()
    expected = sorted(
        ((d["created_at"], d["job_id"]) for d in rows if _matches(d, 'package:"torch==2.0.0"')),
        reverse=True,
    )
    assert list(_listed(index, 'package:"torch==2.0.0"')) == [job for _, job in expected]
    index.close()
