"""The SQLite checkpoint adapter on a real file: versions by name, name ranges in listing order,
owners of job folders, forgetting, and reopening."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.sqlite_checkpoint import SqliteCheckpoint

JOB = "projects/p/users/u/jobs/20260314-120000-u-p-00000000-00000001"


def test_recorded_versions_survive_a_reopen_and_gone_blobs_are_forgotten(tmp_path: Path) -> None:
    """What was recorded is read back after a reopen; a None version removes the row."""
    store = SqliteCheckpoint(tmp_path / "c.sqlite3")
    store.record([(f"{JOB}/metadata.json", ("e1", "t1")), (f"{JOB}/job.log.jsonl", ("e2", "t2"))])
    store.record([(f"{JOB}/job.log.jsonl", None)])
    store.close()
    again = SqliteCheckpoint(tmp_path / "c.sqlite3")
    assert again.get([f"{JOB}/metadata.json", f"{JOB}/job.log.jsonl", "other"]) == {
        f"{JOB}/metadata.json": ("e1", "t1")
    }
    assert again.owners() == [("p", "u")]
    assert again.under("projects/p/users/u/jobs/20260314-") == {
        f"{JOB}/metadata.json": ("e1", "t1")
    }
    assert again.under("projects/p/users/u/jobs/20260313-") == {}


@settings(max_examples=30, deadline=None)
@given(
    names=st.sets(st.text("ab/-_.z0", min_size=1, max_size=6), max_size=12),
    after=st.one_of(st.none(), st.text("ab/-_.z0", max_size=4)),
    upto=st.one_of(st.none(), st.text("ab/-_.z0", max_size=4)),
)
def test_between_is_the_name_range_in_listing_order(
    tmp_path_factory: object, names: set[str], after: str | None, upto: str | None
) -> None:
    """`between(after, upto)` gives exactly the names after < name <= upto, sorted."""
    path = tmp_path_factory.mktemp("c") / "c.sqlite3"  # type: ignore[attr-defined]
    store = SqliteCheckpoint(path)
    store.record((name, ("e", "t")) for name in names)
    expected = sorted(
        n for n in names if (after is None or n > after) and (upto is None or n <= upto)
    )
    assert [name for name, _ in store.between(after, upto)] == expected
    store.close()
