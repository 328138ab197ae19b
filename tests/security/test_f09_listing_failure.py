"""Finding 9: a listing that fails part way (Azurite answers 500 for a page holding a blob name
with a control character) neither stops the worker nor makes unlisted blobs look deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from indexer.pending import StoppableListing, pending_events
from indexer.worker import run_once, watch
from shared.adapters.memory_blob import MemoryBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import StorageError
from shared.ports import BlobProps
from shared.services import Services
from shared.settings import Settings

JOB = "projects/p/users/alice/jobs/20260101-000000-alice-p-00000000-00000000"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def props(name: str) -> BlobProps:
    return BlobProps(name=name, size=1, etag="e1", last_modified=WHEN)


def broken_listing() -> Iterator[BlobProps]:
    yield props(f"{JOB}/metadata.json")
    raise StorageError("listing of ''", "HTTP 500 from the service")


class FailingListStore(MemoryBlobStore):
    """A real in-memory store whose listing fails after its first page."""

    def list(self, prefix: str, *, with_tags: bool = False) -> Iterator[BlobProps]:
        return broken_listing()


def test_a_partial_listing_yields_its_events_and_no_deletions() -> None:
    """Blobs listed before the failure are handled; nothing past it is taken as deleted."""
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
    summary = run_once(services, checkpoint=tmp_path / "checkpoint.json")
    assert summary.listing_error is not None
    passes = []
    stop = threading.Event()

    def count() -> None:
        passes.append(1)
        if len(passes) >= 2:
            stop.set()

    def on_pass(_: str) -> None:
        count()

    watch(services, stop, poll_seconds=0.01, on_pass=on_pass, on_idle=count)
    assert len(passes) >= 2
