"""Finding 9: one blob name with a control character makes Azurite answer 500 for any listing
page holding it. The listing goes around the smallest prefix that fails: blobs after it in name
order are still indexed in the same pass, the prefix is reported and tried again next pass, and
nothing under it is taken as deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.pending import pending_events
from indexer.rejected import list_rejections
from lifecycle.sweep import run_sweep
from shared.adapters.memory_blob import MemoryBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import StorageError
from shared.jobid import JobId
from shared.layout import job_prefix
from shared.listing import ListingIncomplete, StoppableListing
from shared.ports import BlobProps
from shared.services import Services
from shared.settings import Settings
from tests.support.builders import EVENTS_CREATED, make_metadata, write_job
from tests.support.worker import reconcile_all, run_pass, watch_until_stopped

JOB = "projects/p/users/alice/jobs/20260101-000000-alice-p-00000000-00000000"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
BAD_NAME = "notes\x07.txt"  # BEL: Azurite answers 500 for any page listing this name


def props(name: str) -> BlobProps:
    return BlobProps(name=name, size=1, etag="e1", last_modified=WHEN)


def broken_listing() -> Iterator[BlobProps]:
    yield props(f"{JOB}/metadata.json")
    raise StorageError("listing of ''", "HTTP 500 from the service")


class FailingListStore(MemoryBlobStore):
    """A real in-memory store whose listing fails after its first page."""

    def list(self, prefix: str, *, with_tags: bool = False) -> Iterator[BlobProps]:
        return broken_listing()


def _write_two_jobs_with_a_bad_blob_in_the_first(services: Services) -> tuple[JobId, str]:
    """Job A (sorts first) gets a blob whose name holds a control character; job B, written
    after it, is good."""
    first = write_job(services.blobs, make_metadata(run_hash="00000001", created_at=EVENTS_CREATED))
    services.blobs.write(f"{job_prefix(first)}{BAD_NAME}", b"x")
    second = write_job(
        services.blobs, make_metadata(run_hash="00000002", created_at=EVENTS_CREATED)
    )
    assert str(first) < str(second)
    return first, str(second)


def test_a_good_job_after_the_bad_blob_is_indexed_in_the_same_pass(
    services: Services, tmp_path: Path
) -> None:
    """Against Azurite: the job after the bad blob in name order is indexed in the first pass;
    the bad job's folder is the only prefix skipped, named in the pass and in `rejected`."""
    bad, good = _write_two_jobs_with_a_bad_blob_in_the_first(services)
    summary = run_pass(services, checkpoint=tmp_path / "c.json")
    assert services.index.get(good) is not None
    assert summary.unlisted == 1
    assert summary.listing_error is not None
    assert job_prefix(bad) in summary.listing_error
    assert "\x07" not in summary.listing_error
    reported = [r for r in list_rejections(services.blobs) if r.event_id == "listing"]
    assert [r.blob for r in reported] == [job_prefix(bad)]


def test_the_skipped_part_is_tried_again_and_nothing_is_skipped_once_it_lists(
    services: Services, tmp_path: Path
) -> None:
    """The bad job's own metadata and log are listed apart (by next character) and indexed;
    each pass tries the skipped part again, and once the bad blob is gone nothing is skipped."""
    bad, _ = _write_two_jobs_with_a_bad_blob_in_the_first(services)
    run_pass(services, checkpoint=tmp_path / "c.json")
    assert services.index.get(str(bad)) is not None
    again = run_pass(services, checkpoint=tmp_path / "c.json")
    assert again.unlisted == 1  # still there: still skipped, still reported
    services.blobs.delete(f"{job_prefix(bad)}{BAD_NAME}")
    last = run_pass(services, checkpoint=tmp_path / "c.json")
    assert last.listing_error is None


def test_nothing_under_a_skipped_prefix_is_taken_as_deleted(
    services: Services, tmp_path: Path
) -> None:
    """A job indexed before the bad blob appeared stays indexed while its folder cannot list."""
    first = write_job(services.blobs, make_metadata(run_hash="00000001", created_at=EVENTS_CREATED))
    run_pass(services, checkpoint=tmp_path / "c.json")
    services.blobs.write(f"{job_prefix(first)}{BAD_NAME}", b"x")
    summary = run_pass(services, checkpoint=tmp_path / "c.json")
    assert summary.counts["removed"] == 0
    assert services.index.get(str(first)) is not None


def test_reconcile_indexes_around_the_bad_prefix(services: Services) -> None:
    """Reconcile lists the same way: the good job is indexed, the skipped prefix counted."""
    _, good = _write_two_jobs_with_a_bad_blob_in_the_first(services)
    counts = reconcile_all(services)
    assert services.index.get(good) is not None
    assert counts["unlisted"] == 1


def test_the_sweep_leaves_only_the_unlistable_job(services: Services) -> None:
    """The sweep of a job whose folder cannot list leaves that job for later, not the sweep."""
    bad, _ = _write_two_jobs_with_a_bad_blob_in_the_first(services)
    run_pass(services, checkpoint=services.settings.index_path.parent / "c.json")
    with pytest.raises(ListingIncomplete):
        list(services.blobs.list(job_prefix(bad)))
    summary = run_sweep(
        services.blobs, services.index, services.settings, datetime(2030, 1, 1, tzinfo=UTC)
    )
    assert summary.jobs >= 1  # the good job was swept
    assert services.blobs.props(f"{job_prefix(bad)}metadata.json") is not None


def test_a_partial_listing_yields_its_events_and_no_deletions() -> None:
    """Blobs listed before a failure are handled; nothing past it is taken as deleted."""
    seen = {f"{JOB}/job.log.jsonl": ["e0", "2026-01-01T00:00:00Z"]}
    listing = StoppableListing(broken_listing())
    events = pending_events("c", listing, seen)
    assert [(e.name, e.props is None) for e in events] == [(f"{JOB}/metadata.json", False)]
    assert listing.error is not None
    assert "HTTP 500" in listing.error


def test_the_worker_survives_a_failing_listing(tmp_path: Path) -> None:
    """`run_once` reports the failure; `watch` keeps making passes instead of dying."""
    settings = Settings(container="c", index_path=tmp_path / "i.sqlite3")
    index = SqliteIndex(settings.index_path)
    index.ensure()
    services = Services(settings, clock=FixedClock(WHEN), blobs=FailingListStore(), index=index)
    summary = run_pass(services, checkpoint=tmp_path / "checkpoint.json")
    assert summary.listing_error is not None
    passes = []
    stop = threading.Event()

    def count() -> None:
        passes.append(1)
        if len(passes) >= 2:
            stop.set()

    def on_pass(_: str) -> None:
        count()

    watch_until_stopped(services, stop, on_pass=on_pass, on_idle=count)
    assert len(passes) >= 2
