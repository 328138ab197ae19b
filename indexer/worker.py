"""`ascend pipeline run`: the local stand-in for Event Grid, pass by pass.

A pass lists blobs (`indexer.scan`: the whole container for `--once`; the recent job folders
and a slice of a background full scan for the watching worker), compares them with the
checkpoint of what was already handled (`indexer.checkpoint`, a SQLite file), turns every new or
changed blob into the `BlobCreated` event Azure would send and every vanished one into
`BlobDeleted` (`indexer.pending`), and hands the events to the same `indexer.handler.handle` as
the Event Grid function (`indexer.delivery`). Each handled blob is recorded as its batch
finishes; an event that failed transiently is not, and is offered again on the next pass. The
worker prints nothing: the edge gets one line per pass.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path

from indexer.checkpoint import checkpoint_path, open_checkpoint
from indexer.delivery import deliver
from indexer.pending import Handled, group_by_job
from indexer.rejected import record_skipped
from indexer.scan import FullScan, Listed, Watcher
from shared.clock import Clock
from shared.errors import AscendError
from shared.ports import BlobProps, BlobStore, Checkpoint, SearchIndex, Seen
from shared.services import Services
from shared.settings import Settings

log = logging.getLogger("ascend.pipeline")
POLL_SECONDS = 1.5


@dataclass
class RunSummary:
    """What one pass (or a whole run) did, by outcome kind; `failed` were transient."""

    counts: Counter[str] = field(default_factory=Counter)
    listing_error: str | None = None  # the listing stopped early: the rest waits for a pass
    unlisted: int = 0  # prefixes that failed to list, gone around (named in listing_error)

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        kinds = ("indexed", "skipped", "rejected", "removed", "failed")
        return {"events": self.events, **{k: self.counts.get(k, 0) for k in kinds}}


def run_once(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    *,
    workers: int | None = None,
    processes: int | None = None,
    checkpoint: Path | None = None,
) -> RunSummary:
    """One full pass (`pipeline run --once`): the whole container against the checkpoint, every
    pending event delivered. `processes` > 1 spreads a large pass over that many processes of
    `workers` threads each."""
    store = open_checkpoint(checkpoint or checkpoint_path(settings))
    try:
        listed = FullScan(blobs, store, settings.container).everything()
        return deliver_pass(
            blobs,
            index,
            clock,
            settings,
            checkpoint=store,
            listed=listed,
            workers=workers,
            processes=processes,
        )
    finally:
        store.close()


def deliver_pass(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    *,
    checkpoint: Checkpoint,
    listed: Listed,
    workers: int | None = None,
    processes: int | None = None,
) -> RunSummary:
    """Deliver what `listed` found, recording each handled blob version in `checkpoint` as its
    batch finishes (a transient failure is not recorded: the next pass offers it again), and
    the prefixes the listing had to go around under `_ascend/rejected/`."""
    summary = RunSummary(listing_error=listed.error, unlisted=len(listed.skipped))
    record_skipped(blobs, listed.skipped, at=clock.now())

    def account(handled: Handled) -> None:
        summary.counts.update(kind for _, kind in handled)
        checkpoint.record(
            (event.name, _version(event.props)) for event, kind in handled if kind != "failed"
        )

    deliver(
        blobs,
        index,
        clock,
        settings,
        group_by_job(listed.events),
        account=account,
        workers=max(1, workers or settings.pipeline_workers),
        processes=max(1, processes or settings.pipeline_processes),
    )
    return summary


def _version(props: BlobProps | None) -> Seen | None:
    return None if props is None else (props.etag, props.last_modified.isoformat())


def run_forever(
    settings: Settings,
    stop_event: threading.Event,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_pass: Callable[[str], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> None:
    """Poll until `stop_event` is set (`make run`); `on_pass` sees a line per busy pass,
    `on_idle` each pass that found nothing to do."""
    root = Services(settings)
    watch(
        root.blobs,
        root.index,
        root.clock,
        settings,
        stop_event,
        poll_seconds=poll_seconds,
        on_pass=on_pass,
        on_idle=on_idle,
    )


def watch(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    stop_event: threading.Event,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_pass: Callable[[str], None] | None = None,
    on_idle: Callable[[], None] | None = None,
    checkpoint: Path | None = None,
    watcher: Callable[[Checkpoint], Watcher] | None = None,
) -> None:
    """Run passes every `poll_seconds` until `stop_event` is set: each lists the recent job
    folders and a slice of the background full scan (`indexer.scan.Watcher`). `on_pass` gets
    the one-line summary of each pass that saw events, `on_idle` is called after each pass that
    saw none (the edge prints them)."""
    store = open_checkpoint(checkpoint or checkpoint_path(settings))
    listings = (watcher or _watcher(blobs, clock, settings.container))(store)
    try:
        while not stop_event.is_set():
            try:
                summary = deliver_pass(
                    blobs, index, clock, settings, checkpoint=store, listed=listings.pending()
                )
            except AscendError as exc:  # storage down, a bad page: the next pass tries again
                log.warning("pipeline pass failed, retrying: %s", exc)
                summary = RunSummary()
            if summary.events and on_pass is not None:
                on_pass(pass_line(summary))
            elif not summary.events and on_idle is not None:
                on_idle()
            stop_event.wait(poll_seconds)
    finally:
        store.close()


def _watcher(blobs: BlobStore, clock: Clock, container: str) -> Callable[[Checkpoint], Watcher]:
    def today() -> date:
        return clock.now().astimezone(UTC).date()

    return lambda store: Watcher(blobs, store, container, today)


def pass_line(summary: RunSummary) -> str:
    """`pipeline: indexed 3, skipped 1`: the non-zero counts of one pass."""
    counts = ", ".join(f"{k} {v}" for k, v in summary.as_dict().items() if v)
    if summary.unlisted:
        counts += f"; {summary.unlisted} prefixes failed to list (see pipeline rejected)"
    return f"pipeline: {counts}"
