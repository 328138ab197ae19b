"""`pipeline run` and `reconcile` against Azurite and a real SQLite index: the checkpoint, changed
and deleted blobs, out-of-order and duplicated delivery, and a rebuild after an index loss."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import delivery
from indexer.checkpoint import open_checkpoint
from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from indexer.rejected import list_rejections
from indexer.worker import RunSummary, pass_line, run_forever
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import SearchDocument, parse_datetime
from shared.layout import artifact_path, by_date_log_path, log_path, metadata_path
from shared.ports import SearchIndex
from shared.services import Services
from shared.tags import job_blob_tags
from tests.conftest import NOW
from tests.support.builders import (
    EVENTS_CREATED,
    job_id,
    lines,
    log_record,
    make_metadata,
    write_job,
    write_metadata,
)
from tests.support.events import created_payload
from tests.support.worker import reconcile_all, run_pass


def _docs(index: SearchIndex) -> dict[str, SearchDocument]:
    assert isinstance(index, SqliteIndex), "these tests read the embedded index's rows"
    return {d["job_id"]: d for d in index.select()}


def test_a_second_pass_finds_nothing_new(services: Services, tmp_path: Path) -> None:
    """The checkpoint remembers what was handled: a second --once pass delivers no events."""
    write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    first = run_pass(services, checkpoint=tmp_path / "c.json")
    assert first.counts["indexed"] == 1
    assert run_pass(services, checkpoint=tmp_path / "c.json").events == 0
    assert open_checkpoint(tmp_path / "c.json").count() == 2  # log + metadata, not the copy


def test_a_backlog_larger_than_the_jobs_in_flight_is_all_delivered(
    services: Services, tmp_path: Path
) -> None:
    """One worker keeps two jobs in flight: the other five are handed out as those finish, and
    every event is delivered once."""
    jobs = [
        write_job(services.blobs, make_metadata(run_hash=f"0000000{n}", created_at=EVENTS_CREATED))
        for n in range(7)
    ]
    summary = run_pass(services, workers=1, checkpoint=tmp_path / "c.json")
    assert summary.as_dict() == {
        "events": 14,
        "indexed": 7,
        "skipped": 7,
        "rejected": 0,
        "removed": 0,
        "failed": 0,
    }
    assert set(_docs(services.index)) == {str(job) for job in jobs}


def test_a_pass_spread_over_processes_indexes_what_threads_do(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two pipeline processes (spawned, each with its own adapters) give the index, copies and
    rejections that one process's threads give; the parent's clock reaches them."""
    for n, status in enumerate(["completed", "failed", "running", "cancelled"] * 3):
        write_job(
            services.blobs,
            make_metadata(run_hash=f"000000{n:02d}", status=status, created_at=EVENTS_CREATED),
        )
    write_metadata(services.blobs, b"{not json", str(job_id(run="000000ff")))
    monkeypatch.setattr(delivery, "MIN_GROUPS_PER_PROCESS", 1)
    pools: list[int] = []

    class Recorded(ProcessPoolExecutor):
        def __init__(self, *, max_workers: int, **options: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers=max_workers, **options)

    monkeypatch.setattr(delivery, "ProcessPoolExecutor", Recorded)
    spread = run_pass(services, workers=2, processes=2, checkpoint=tmp_path / "spread.json")
    assert pools == [2]
    assert spread.as_dict() == {
        "events": 25,
        "indexed": 12,
        "skipped": 12,
        "rejected": 1,
        "removed": 0,
        "failed": 0,
    }
    [rejection] = list_rejections(services.blobs)
    assert parse_datetime(rejection.at) == NOW
    in_processes = _docs(services.index)
    threads_only = SqliteIndex(tmp_path / "threads.sqlite3")
    threads_only.ensure()
    run_pass(
        services.using(index=threads_only),
        workers=2,
        processes=1,
        checkpoint=tmp_path / "threads.json",
    )
    assert _docs(threads_only) == in_processes
    assert len(in_processes) == 12


def test_a_changed_log_after_the_job_finished_refreshes_the_copy(
    services: Services, tmp_path: Path
) -> None:
    """A late flush changes the log's etag; the next pass re-copies it and updates the stats."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    services.blobs.append(log_path(job), lines([log_record(str(job), "ERROR", "late")]))
    summary = run_pass(services, checkpoint=tmp_path / "c.json")
    assert summary.counts["indexed"] == 1
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["log_errors"] == 3
    copy = services.blobs.props(by_date_log_path(job))
    log = services.blobs.props(log_path(job))
    assert copy is not None
    assert log is not None
    assert copy.size == log.size


def test_a_deleted_metadata_becomes_a_blob_deleted_event(
    services: Services, tmp_path: Path
) -> None:
    """A blob gone from the listing is delivered as BlobDeleted and its document removed."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    services.blobs.delete(metadata_path(job))
    assert run_pass(services, checkpoint=tmp_path / "c.json").counts["removed"] == 1
    assert services.index.count() == 0


def test_running_then_completed_is_indexed_as_completed(services: Services, tmp_path: Path) -> None:
    """A job seen running, then completed, ends completed with its by-date copy."""
    job = write_job(services.blobs, make_metadata(status="running", created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    write_metadata(
        services.blobs,
        make_metadata(updated_at=datetime(2026, 3, 10, 11, tzinfo=UTC), created_at=EVENTS_CREATED),
    )
    run_pass(services, checkpoint=tmp_path / "c.json")
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["status"] == "completed"
    assert services.blobs.props(by_date_log_path(job)) is not None


def test_reconcile_rebuilds_a_lost_index_with_the_same_documents(
    services: Services, tmp_path: Path
) -> None:
    """Delete the index file, reconcile: the same documents are back; a second run is a no-op."""
    for run in ("00000001", "00000002", "00000003"):
        write_job(
            services.blobs, make_metadata(run_hash=run, status="failed", created_at=EVENTS_CREATED)
        )
    run_pass(services, checkpoint=tmp_path / "c.json")
    before = _docs(services.index)
    assert isinstance(services.index, SqliteIndex)
    services.index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{services.settings.index_path}{suffix}").unlink(missing_ok=True)
    fresh = SqliteIndex(services.settings.index_path)
    fresh.ensure()
    services = services.using(index=fresh)
    assert reconcile_all(services)["indexed"] == 3
    assert _docs(fresh) == before
    assert reconcile_all(services) == {
        "indexed": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": 3,
        "rejected": 0,
    }


def test_reconcile_removes_vanished_jobs_and_refreshes_stale_copies(
    services: Services, tmp_path: Path
) -> None:
    """A job whose folder is gone is removed; a log grown without an event is re-copied."""
    gone = write_job(services.blobs, make_metadata(run_hash="00000001", created_at=EVENTS_CREATED))
    grown = write_job(services.blobs, make_metadata(run_hash="00000002", created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    services.blobs.delete(metadata_path(gone))
    services.blobs.append(log_path(grown), lines([log_record(str(grown), "INFO", "late")]))
    summary = reconcile_all(services)
    assert (summary["removed"], summary["updated"], summary["unchanged"]) == (1, 1, 0)
    doc = services.index.get(str(grown))
    assert doc is not None
    assert doc["log_lines"] == 6


def test_a_blob_written_later_with_another_retain_is_retagged_by_its_event(
    services: Services, tmp_path: Path
) -> None:
    """An artifact written while `retain` was briefly true (a change undone before any event was
    handled) is put back in step when its own event arrives; reconcile then finds nothing."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    name = artifact_path(job, "model.pkl")
    services.blobs.write(name, b"m", tags=job_blob_tags(job, "artifact", retain=True))
    run_pass(services, checkpoint=tmp_path / "c.json")
    assert services.blobs.get_tags(name)["retain"] == "false"
    assert reconcile_all(services)["unchanged"] == 1


def test_reconcile_retags_a_blob_whose_event_was_lost(services: Services, tmp_path: Path) -> None:
    """A blob with another `retain`, or none of the tags, whose event never came: reconcile
    judges it stale and tags it like the rest of the job."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    other = artifact_path(job, "model.pkl")
    services.blobs.write(other, b"m", tags=job_blob_tags(job, "artifact", retain=True))
    bare = artifact_path(job, "plot.png")
    services.blobs.write(bare, b"p")
    summary = reconcile_all(services)
    assert (summary["updated"], summary["unchanged"]) == (1, 0)
    assert services.blobs.get_tags(other)["retain"] == "false"
    assert services.blobs.get_tags(bare) == job_blob_tags(job, "artifact", retain=False)
    assert reconcile_all(services)["unchanged"] == 1


def test_two_workers_on_the_same_job_leave_it_correct(services: Services, tmp_path: Path) -> None:
    """Six threads handling the same event, each with its own index connection, agree."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    payload = created_payload(services.blobs, services.settings.container, metadata_path(job))
    errors: list[BaseException] = []

    def work() -> None:
        own = services.using(index=SqliteIndex(services.settings.index_path))
        try:
            assert handle(
                event_from_dict(payload), own.blobs, own.index, own.clock, own.settings
            ).kind in {"indexed", "skipped"}
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    doc = services.index.get(str(job))
    assert doc is not None
    assert (doc["log_lines"], doc["status"]) == (5, "completed")


# ---- at least once, any order ----------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _history(services: Services) -> tuple[list[dict[str, Any]], dict[str, SearchDocument]]:
    """Three jobs with a past: versions, a deletion, a late flush. Returns every event Event
    Grid may have sent, and the truth (each current job indexed once, in a fresh index)."""
    c = services.settings.container
    events: list[dict[str, Any]] = []
    jobs = [
        write_job(
            services.blobs, make_metadata(run_hash=r, status="running", created_at=EVENTS_CREATED)
        )
        for r in ("00000001", "00000002", "00000003")
    ]
    events += [created_payload(services.blobs, c, metadata_path(j)) for j in jobs]
    events += [created_payload(services.blobs, c, log_path(j)) for j in jobs]
    for j in jobs[:2]:
        write_metadata(
            services.blobs,
            make_metadata(
                run_hash=j.run_hash,
                updated_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
                created_at=EVENTS_CREATED,
            ),
        )
        events.append(created_payload(services.blobs, c, metadata_path(j)))
    services.blobs.append(log_path(jobs[0]), lines([log_record(str(jobs[0]), "ERROR", "late")]))
    events.append(created_payload(services.blobs, c, log_path(jobs[0])))
    gone = services.blobs.props(metadata_path(jobs[2]))
    assert gone is not None
    services.blobs.delete(metadata_path(jobs[2]))
    events.append(grid_event(c, gone, deleted=True))
    truth_index = SqliteIndex(Path(str(services.settings.index_path) + ".truth"))
    truth_index.ensure()
    truth = services.using(index=truth_index)
    for j in jobs[:2]:
        handle(
            event_from_dict(created_payload(services.blobs, c, metadata_path(j))),
            truth.blobs,
            truth.index,
            truth.clock,
            truth.settings,
        )
    return events, _docs(truth_index)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), repeats=st.lists(st.integers(1, 3), min_size=9, max_size=9))
def test_duplicated_and_shuffled_events_give_the_truth(
    services: Services, tmp_path: Path, seed: int, repeats: list[int]
) -> None:
    """Any order and any duplication of the events of a history leave the index equal to
    indexing the current storage once."""
    if _STATE.get("container") != services.settings.container:
        _STATE.update(container=services.settings.container, history=_history(services))
    events, truth = _STATE["history"]
    delivered = [e for e, n in zip(events, repeats, strict=False) for _ in range(n)]
    delivered += events[len(repeats) :]
    random.Random(seed).shuffle(delivered)
    index = SqliteIndex(tmp_path / f"shuffled-{seed}-{len(delivered)}.sqlite3")
    index.ensure()
    own = services.using(index=index)
    for payload in delivered:
        handle(event_from_dict(payload), own.blobs, own.index, own.clock, own.settings)
    assert _docs(index) == truth
    index.close()


def test_the_forever_worker_indexes_new_jobs_until_stopped(services: Services) -> None:
    """`run_forever` (what `make run` starts) picks up a job written while it polls, and stops
    when its stop event is set."""
    stop = threading.Event()
    worker = threading.Thread(
        target=run_forever, args=(services.settings, stop), kwargs={"poll_seconds": 0.2}
    )
    worker.start()
    try:
        job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
        deadline = time.monotonic() + 30
        while SqliteIndex(services.settings.index_path).get(str(job)) is None:
            assert time.monotonic() < deadline, "the job was not indexed within 30 s"
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_a_busy_pass_is_one_line_for_the_edge_to_print() -> None:
    """The worker returns the pass's line (`pipeline: events 3, indexed 2, ...`); it prints
    nothing itself."""
    summary = RunSummary(Counter({"indexed": 2, "rejected": 1}))
    assert pass_line(summary) == "pipeline: events 3, indexed 2, rejected 1"
