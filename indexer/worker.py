"""`ascend pipeline run`: the local stand-in for Event Grid.

Each pass lists the container (names, etags, last-modified), compares it with a checkpoint of
what was already handled, turns every new or changed blob into the `BlobCreated` event Azure
would send (and every vanished one into `BlobDeleted`), and hands the events to the same
`indexer.handler.handle` as the Event Grid function, on a bounded pool of threads (and, for a
large pass with `pipeline_processes` > 1, of processes: the SDK's requests cost CPU, and one
process's Python uses one core at a time). Events of one job go to one thread, in order, so a
job's events are never handled concurrently.

The checkpoint is a local JSON file next to the embedded index
(`{index dir}/pipeline-{container}.checkpoint.json`): it is the worker's own bookkeeping, like
the index, and losing it only means every blob is offered once more (handling is idempotent).
An event that failed transiently is left out of the checkpoint and offered again on the next pass.
"""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from shared.clock import Clock
from shared.documents import parse_datetime
from shared.errors import AscendError, InvalidBlobPath, TransientError
from shared.layout import SYSTEM_PREFIX, parse_blob_name
from shared.ports import BlobProps
from shared.services import Services
from shared.settings import Settings

log = logging.getLogger("ascend.pipeline")
POLL_SECONDS = 1.5
SAVE_EVERY_SECONDS = 10.0
MIN_GROUPS_PER_PROCESS = 200  # a smaller pass is done sooner than processes start (~2 s each)
BATCH_GROUPS_PER_THREAD = 8  # job groups per thread in one batch sent to a process
T = TypeVar("T")
Seen = dict[str, list[str]]  # blob name -> [etag, last-modified ISO]


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One event to deliver: the blob, its listed version (None: deleted), the event payload."""

    name: str
    props: BlobProps | None
    payload: dict[str, Any]


Handled = list[tuple[PendingEvent, str]]  # what a batch of events came to: (event, outcome kind)


@dataclass
class RunSummary:
    """What one pass (or a whole run) did, by outcome kind; `failed` were transient."""

    counts: Counter[str] = field(default_factory=Counter)
    listing_error: str | None = None  # the listing stopped early: the rest waits for a pass

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        kinds = ("indexed", "skipped", "rejected", "removed", "failed")
        return {"events": self.events, **{k: self.counts.get(k, 0) for k in kinds}}


# ---- the checkpoint ------------------------------------------------------------------------


def checkpoint_path(settings: Settings) -> Path:
    return Path(settings.index_path).parent / f"pipeline-{settings.container}.checkpoint.json"


def load_checkpoint(path: Path) -> Seen:
    """The saved checkpoint; a missing or unreadable one is empty (everything is offered)."""
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def save_checkpoint(path: Path, seen: Seen) -> None:
    """Write atomically: a crash leaves the old checkpoint or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_bytes(orjson.dumps(seen))
    temporary.replace(path)


# ---- what is pending (pure) ----------------------------------------------------------------


def is_watched(name: str) -> bool:
    """False for the pipeline's own writes, which an Event Grid subscription would filter out."""
    if name.startswith(SYSTEM_PREFIX):
        return False
    try:
        return not parse_blob_name(name).is_pipeline_output
    except InvalidBlobPath:
        return True  # outside the layout: the handler says why, and records it when it must


class StoppableListing:
    """A listing that ends, instead of raising, at the first storage failure (one bad blob name
    made Azurite's listing answer 500): what was listed is still handled, `error` says why the
    rest was not, and the next pass lists again."""

    def __init__(self, listing: Iterable[BlobProps]) -> None:
        self.listing = listing
        self.error: str | None = None

    def __iter__(self) -> Iterator[BlobProps]:
        try:
            yield from self.listing
        except AscendError as exc:
            self.error = " ".join(str(exc).split())
            log.warning("listing stopped early, the rest waits for the next pass: %s", exc)


def pending_events(
    container: str,
    listing: Iterable[BlobProps],
    seen: Mapping[str, list[str]],
) -> list[PendingEvent]:
    """Events for blobs that are new or changed since `seen`, then for blobs that vanished
    (only after a complete listing: a blob past a failed page is not gone)."""
    current: set[str] = set()
    events: list[PendingEvent] = []
    for props in listing:
        if not is_watched(props.name):
            continue
        current.add(props.name)
        known = seen.get(props.name)
        if known is None or known[0] != props.etag:
            events.append(PendingEvent(props.name, props, grid_event(container, props)))
    if getattr(listing, "error", None) is not None:
        return events
    for name, (etag, modified) in seen.items():
        if name not in current:
            gone = _gone(name, etag, modified)
            events.append(PendingEvent(name, None, grid_event(container, gone, deleted=True)))
    return events


def group_by_job(events: Iterable[PendingEvent]) -> list[list[PendingEvent]]:
    """Events grouped so that one job's events stay together and in order."""
    groups: dict[str, list[PendingEvent]] = defaultdict(list)
    for event in events:
        groups[_job_key(event.name)].append(event)
    return list(groups.values())


def _job_key(name: str) -> str:
    parts = name.split("/")
    if len(parts) > 5 and parts[0] == "projects" and parts[4] == "jobs":
        return parts[5]
    return name


def _gone(name: str, etag: str, modified: str) -> BlobProps:
    return BlobProps(name=name, size=0, etag=etag, last_modified=parse_datetime(modified))


# ---- running -------------------------------------------------------------------------------


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
    summary = RunSummary(listing_error=listing.error)
    workers = max(1, workers or services.settings.pipeline_workers)
    processes = max(1, processes or services.settings.pipeline_processes)
    if processes > 1 and len(groups) >= MIN_GROUPS_PER_PROCESS * processes:
        _deliver_in_processes(
            services, groups, seen, summary, path, workers=workers, processes=processes
        )
    elif groups:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ascend") as pool:
            task = functools.partial(_handle_group, services)
            _drain(pool, task, groups, window=2 * workers, seen=seen, summary=summary, path=path)
    if groups:
        save_checkpoint(path, seen)
    return summary


def _deliver_in_processes(
    services: Services,
    groups: list[list[PendingEvent]],
    seen: Seen,
    summary: RunSummary,
    path: Path,
    *,
    workers: int,
    processes: int,
) -> None:
    """Batches of job groups to `processes` fresh processes (each with its own adapters and
    `workers` threads): one process's Python runs on one core at a time (the GIL), and the SDK's
    requests cost CPU. The events, their order within a job and the checkpoint stay with this
    process; a batch comes back as (event, outcome kind) pairs."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    size = workers * BATCH_GROUPS_PER_THREAD
    batches = (groups[start : start + size] for start in range(0, len(groups), size))
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start_process,
        initargs=(services.settings, services.clock, workers),
    ) as pool:
        _drain(
            pool,
            _handle_batch,
            batches,
            window=2 * processes,
            seen=seen,
            summary=summary,
            path=path,
        )


def _drain(
    pool: Executor,
    task: Callable[[T], Handled],
    batches: Iterable[T],
    *,
    window: int,
    seen: Seen,
    summary: RunSummary,
    path: Path,
) -> None:
    """Run `task` on each batch in `pool`, at most `window` at a time, accounting each result
    as it comes and saving the checkpoint now and then. (Submitting everything at once and
    waiting on all of it at each completion would cost time in proportion to the backlog, per
    batch: quadratic in a large first pass.)"""
    last_save = time.monotonic()
    waiting = iter(batches)

    def submit(count: int) -> set[Future[Handled]]:
        return {pool.submit(task, batch) for batch in itertools.islice(waiting, count)}

    running = submit(window)
    while running:
        done, running = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            for event, kind in future.result():
                _account(event, kind, seen, summary)
        running |= submit(len(done))
        if time.monotonic() - last_save > SAVE_EVERY_SECONDS:
            save_checkpoint(path, seen)
            last_save = time.monotonic()


def _handle_group(services: Services, group: list[PendingEvent]) -> Handled:
    results: Handled = []
    for event in group:
        try:
            outcome = handle(event_from_dict(event.payload), services)
            results.append((event, outcome.kind))
        except TransientError as exc:
            log.warning("will retry %s: %s", event.name, exc)
            results.append((event, "failed"))
    return results


# ---- in a pipeline process -----------------------------------------------------------------

_process: tuple[Services, ThreadPoolExecutor] | None = None


def _start_process(settings: Settings, clock: Clock, workers: int) -> None:
    global _process  # noqa: PLW0603 - one set of adapters per pipeline process
    _process = (
        Services(settings, clock=clock),
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ascend"),
    )


def _handle_batch(groups: list[list[PendingEvent]]) -> Handled:
    assert _process is not None, "_start_process runs first in every pipeline process"
    services, threads = _process
    handled = threads.map(functools.partial(_handle_group, services), groups)
    return [pair for results in handled for pair in results]


def _account(event: PendingEvent, kind: str, seen: Seen, summary: RunSummary) -> None:
    summary.counts[kind] += 1
    if kind == "failed":
        return
    if event.props is None:
        seen.pop(event.name, None)
    else:
        seen[event.name] = [event.props.etag, event.props.last_modified.isoformat()]


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
    return f"pipeline: {counts}"
