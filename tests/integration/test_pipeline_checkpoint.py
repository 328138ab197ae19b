"""The local worker's SQLite checkpoint and its narrowed watching pass, against Azurite: a JSON
checkpoint moved in once, a pass killed half-way finished by the next, recent job folders found at
once (bare SDK writers included) and older changes by the background full scan."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from indexer import delivery, worker
from indexer.checkpoint import checkpoint_path, open_checkpoint
from indexer.pending import Handled, PendingEvent
from indexer.scan import Watcher, recent_prefixes
from indexer.worker import deliver_pass
from shared.clock import Clock
from shared.layout import log_path, metadata_path
from shared.ports import BlobStore, Checkpoint, SearchIndex
from shared.services import Services
from shared.settings import Settings
from tests.conftest import NOW
from tests.support.bare import bare_job, container_of
from tests.support.builders import (
    EVENTS_CREATED,
    lines,
    log_record,
    make_metadata,
    write_job,
    write_metadata,
)
from tests.support.worker import run_pass, watch_until_stopped

TODAY = NOW.date()
OLD = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves by hand (the background scan's schedule)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watcher(services: Services, store: Checkpoint, ticks: Ticks, sweep_blobs: int) -> Watcher:
    return Watcher(
        services.blobs,
        store,
        services.settings.container,
        lambda: TODAY,
        sweep_blobs=sweep_blobs,
        sweep_every=600.0,
        monotonic=ticks,
    )


def one_pass(services: Services, store: Checkpoint, listings: Watcher) -> dict[str, int]:
    listed = listings.pending()
    assert listed.error is None
    return deliver_pass(
        services.blobs,
        services.index,
        services.clock,
        services.settings,
        checkpoint=store,
        listed=listed,
    ).as_dict()


def test_an_old_json_checkpoint_is_moved_in_once(services: Services, tmp_path: Path) -> None:
    """The blobs a JSON checkpoint recorded are not offered again; the file is set aside."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    names = [log_path(job), metadata_path(job)]
    seen = {}
    for name in names:
        props = services.blobs.props(name)
        assert props is not None
        seen[name] = [props.etag, props.last_modified.isoformat()]
    old = tmp_path / "pipeline-c.checkpoint.json"
    old.write_bytes(orjson.dumps(seen))
    path = tmp_path / "pipeline-c.checkpoint.sqlite3"
    assert run_pass(services, checkpoint=path).events == 0
    assert not old.exists()
    assert (tmp_path / "pipeline-c.checkpoint.json.migrated").exists()
    assert open_checkpoint(path).count() == 2


def test_a_pass_killed_half_way_is_finished_by_the_next_without_repeats(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its first batches, the pass has recorded what they handled; the next pass
    offers exactly the rest (only batches in flight at the kill may come again)."""
    for n in range(12):
        write_job(
            services.blobs, make_metadata(run_hash=f"000000{n:02d}", created_at=EVENTS_CREATED)
        )
    path = tmp_path / "c.sqlite3"
    recorded: list[str] = []
    original = delivery.deliver

    def killed_after_two_jobs(
        blobs: BlobStore,
        index: SearchIndex,
        clock: Clock,
        settings: Settings,
        groups: list[list[PendingEvent]],
        *,
        account: Callable[[Handled], None],
        **options: int,
    ) -> None:
        def counting(handled: Handled) -> None:
            if len(recorded) >= 4:  # two jobs' events (log, metadata) recorded: the kill
                raise KeyboardInterrupt
            account(handled)
            recorded.extend(event.name for event, _ in handled)

        original(blobs, index, clock, settings, groups, account=counting, **options)

    monkeypatch.setattr(worker, "deliver", killed_after_two_jobs)
    with pytest.raises(KeyboardInterrupt):
        run_pass(services, workers=1, checkpoint=path)
    monkeypatch.setattr(worker, "deliver", original)
    assert open_checkpoint(path).count() == len(recorded) == 4
    second = run_pass(services, workers=1, checkpoint=path)
    assert second.events == 24 - len(recorded)  # each unrecorded blob once, no recorded one
    assert open_checkpoint(path).count() == 24
    assert services.index.count() == 12
    assert run_pass(services, checkpoint=path).events == 0


def test_a_watching_pass_lists_recent_job_folders_and_finds_a_bare_job_at_once(
    services: Services, tmp_path: Path
) -> None:
    """Between full scans, a job created today by a bare SDK writer (no tags, no event) is
    indexed by the next pass, while a change to an older job waits for the next full scan."""
    old = write_job(
        services.blobs, make_metadata(run_hash="00000001", created_at=OLD, status="running")
    )
    store = open_checkpoint(tmp_path / "c.sqlite3")
    ticks = Ticks()
    listings = watcher(services, store, ticks, sweep_blobs=1)
    while listings.sweeps_finished == 0:
        one_pass(services, store, listings)  # the first full scan, one blob per pass
    assert services.index.get(str(old)) is not None
    fresh = make_metadata(run_hash="00000002", created_at=NOW - timedelta(hours=1))
    bare_job(container_of(services.blobs), fresh, lines([log_record(fresh["job_id"])]))
    write_metadata(services.blobs, make_metadata(run_hash="00000001", created_at=OLD))
    assert one_pass(services, store, listings)["indexed"] == 1
    assert services.index.get(fresh["job_id"]) is not None
    doc = services.index.get(str(old))
    assert doc is not None
    assert doc["status"] == "running"  # not in a recent folder: the next full scan finds it
    ticks.now = 601.0
    while listings.sweeps_finished == 1:
        one_pass(services, store, listings)
    doc = services.index.get(str(old))
    assert doc is not None
    assert doc["status"] == "completed"


def test_a_deleted_blob_in_a_recent_folder_is_removed_by_the_next_pass(
    services: Services, tmp_path: Path
) -> None:
    """A metadata.json deleted from today's folder becomes BlobDeleted at the next pass."""
    job = write_job(services.blobs, make_metadata(run_hash="00000003", created_at=NOW))
    store = open_checkpoint(tmp_path / "c.sqlite3")
    listings = watcher(services, store, Ticks(), sweep_blobs=100)
    one_pass(services, store, listings)
    assert services.index.count() == 1
    services.blobs.delete(metadata_path(job))
    assert one_pass(services, store, listings)["removed"] == 1
    assert services.index.count() == 0


def test_recent_prefixes_are_each_owner_s_job_folders_of_the_last_days() -> None:
    """Job IDs start with their creation day: today's and yesterday's folders per owner."""
    assert recent_prefixes([("p", "u")], TODAY, 2) == [
        "projects/p/users/u/jobs/20260314-",
        "projects/p/users/u/jobs/20260313-",
    ]


def test_the_watching_worker_stops_and_leaves_its_checkpoint(services: Services) -> None:
    """`watch` records what it handled in the SQLite checkpoint beside the index and stops
    when asked."""
    write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    stop = threading.Event()

    def on_pass(_: str) -> None:
        stop.set()

    watch_until_stopped(services, stop, on_pass=on_pass)
    path = checkpoint_path(services.settings)
    assert path.name.endswith(".checkpoint.sqlite3")
    assert open_checkpoint(path).count() == 2


def test_a_long_full_scan_is_repeated_no_sooner_than_ten_times_its_duration(
    services: Services, tmp_path: Path
) -> None:
    """A scan that took 400 s (a large container on Azurite) starts again after 4,000 s, not
    after the 600 s minimum: scans keep to a tenth of the worker's time."""
    write_job(services.blobs, make_metadata(run_hash="00000004", created_at=OLD))
    store = open_checkpoint(tmp_path / "c.sqlite3")
    ticks = Ticks()
    listings = watcher(services, store, ticks, sweep_blobs=1)
    while listings.sweeps_finished == 0:
        one_pass(services, store, listings)
        ticks.now += 100.0
    assert listings.sweep_took == pytest.approx(300.0, abs=101.0)
    ticks.now = listings.sweep_took * 10 - 50.0
    one_pass(services, store, listings)
    assert listings.sweep is None
    ticks.now = listings.sweep_took * 10 + 1.0
    one_pass(services, store, listings)
    assert listings.sweep is not None
