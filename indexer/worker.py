"""`ascend pipeline run`: the local stand-in for Event Grid, pass by pass.

Each pass lists the container (names, etags, last-modified), compares it with the checkpoint of
what was already handled (`indexer.checkpoint`), turns every new or changed blob into the
`BlobCreated` event Azure would send and every vanished one into `BlobDeleted`
(`indexer.pending`), and hands the events to the same `indexer.handler.handle` as the Event Grid
function (`indexer.delivery`). An event that failed transiently is left out of the checkpoint and
offered again on the next pass. The worker prints nothing: the edge gets one line per pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.checkpoint import Seen, checkpoint_path, load_checkpoint, save_checkpoint
from indexer.delivery import deliver
from indexer.pending import Handled, group_by_job, pending_events
from indexer.rejected import record_skipped
from shared.errors import AscendError
from shared.listing import StoppableListing
from shared.ports import BlobProps
from shared.services import Services
from shared.settings import Settings

log = logging.getLogger("ascend.pipeline")
POLL_SECONDS = 1.5
SAVE_EVERY_SECONDS = 10.0


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
    services: Services,
    *,
    workers: int | None = None,
    processes: int | None = None,
    checkpoint: Path | None = None,
) -> RunSummary:
    """One pass: deliver every pending event, update the checkpoint, return what happened.
    `processes` > 1 spreads a large pass over that many processes of `workers` threads each."""
    path = checkpoint or checkpoint_path(services.settings)
    seen = load_checkpoint(path)
    listing = StoppableListing(services.blobs.list(""))
    groups = group_by_job(pending_events(services.settings.container, listing, seen))
    summary = RunSummary(listing_error=listing.error, unlisted=len(listing.skipped))
    record_skipped(services.blobs, listing.skipped, at=services.clock.now())
    last_save = time.monotonic()

    def account(handled: Handled) -> None:
        nonlocal last_save
        for event, kind in handled:
            _account(event.name, event.props, kind, seen, summary)
        if time.monotonic() - last_save > SAVE_EVERY_SECONDS:
            save_checkpoint(path, seen)
            last_save = time.monotonic()

    deliver(
        services,
        groups,
        account,
        workers=max(1, workers or services.settings.pipeline_workers),
        processes=max(1, processes or services.settings.pipeline_processes),
    )
    if groups:
        save_checkpoint(path, seen)
    return summary


def _account(
    name: str, props: BlobProps | None, kind: str, seen: Seen, summary: RunSummary
) -> None:
    summary.counts[kind] += 1
    if kind == "failed":
        return
    if props is None:
        seen.pop(name, None)
    else:
        seen[name] = [props.etag, props.last_modified.isoformat()]


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
    watch(
        Services(settings), stop_event, poll_seconds=poll_seconds, on_pass=on_pass, on_idle=on_idle
    )


def watch(
    services: Services,
    stop_event: threading.Event,
    *,
    poll_seconds: float = POLL_SECONDS,
    on_pass: Callable[[str], None] | None = None,
    on_idle: Callable[[], None] | None = None,
) -> None:
    """Run passes every `poll_seconds` until `stop_event` is set; `on_pass` gets the one-line
    summary of each pass that saw events, `on_idle` is called after each pass that saw none
    (the edge prints them)."""
    while not stop_event.is_set():
        try:
            summary = run_once(services)
        except AscendError as exc:  # storage down, a bad page: the next pass tries again
            log.warning("pipeline pass failed, retrying: %s", exc)
            summary = RunSummary()
        if summary.events and on_pass is not None:
            on_pass(pass_line(summary))
        elif not summary.events and on_idle is not None:
            on_idle()
        stop_event.wait(poll_seconds)


def pass_line(summary: RunSummary) -> str:
    """`pipeline: indexed 3, skipped 1`: the non-zero counts of one pass."""
    counts = ", ".join(f"{k} {v}" for k, v in summary.as_dict().items() if v)
    if summary.unlisted:
        counts += f"; {summary.unlisted} prefixes failed to list (see pipeline rejected)"
    return f"pipeline: {counts}"
