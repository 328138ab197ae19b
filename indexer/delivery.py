"""Delivering a pass's events to `indexer.handler.handle`, concurrently and in order per job.

Job groups go to a bounded pool of threads (and, for a large pass with `processes` > 1, to
processes of threads: the SDK's requests cost CPU, and one process's Python uses one core at a
time). Events of one job go to one thread, in order, so a job's events are never handled
concurrently. Each finished batch is handed back, in the caller's thread, as (event, outcome
kind) pairs; a transient failure comes back as `failed`, to be offered again.
"""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from typing import TypeVar

from indexer.events import event_from_dict
from indexer.handler import handle
from indexer.pending import Handled, PendingEvent
from shared.clock import Clock
from shared.errors import InternalError, TransientError
from shared.ports import BlobStore, SearchIndex
from shared.services import Services
from shared.settings import Settings

log = logging.getLogger("ascend.pipeline")
MIN_GROUPS_PER_PROCESS = 200  # a smaller pass is done sooner than processes start (~2 s each)
BATCH_GROUPS_PER_THREAD = 8  # job groups per thread in one batch sent to a process
T = TypeVar("T")
Account = Callable[[Handled], None]


def deliver(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    groups: list[list[PendingEvent]],
    *,
    account: Account,
    workers: int,
    processes: int,
) -> None:
    """Handle every group, calling `account` with each batch's results as it finishes. Each
    process of a spread pass builds its own adapters from `settings` and `clock`."""
    if processes > 1 and len(groups) >= MIN_GROUPS_PER_PROCESS * processes:
        _deliver_in_processes(
            settings, clock, groups, account=account, workers=workers, processes=processes
        )
    elif groups:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ascend") as pool:
            task = functools.partial(handle_group, blobs, index, clock, settings)
            _drain(pool, task, groups, window=2 * workers, account=account)


def handle_group(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    group: list[PendingEvent],
) -> Handled:
    """One job's events, in order; a transient failure is `failed`, the rest go on."""
    results: Handled = []
    for event in group:
        try:
            outcome = handle(event_from_dict(event.payload), blobs, index, clock, settings)
            results.append((event, outcome.kind))
        except TransientError as exc:
            log.warning("will retry %s: %s", event.name, exc)
            results.append((event, "failed"))
    return results


def _deliver_in_processes(
    settings: Settings,
    clock: Clock,
    groups: list[list[PendingEvent]],
    *,
    account: Account,
    workers: int,
    processes: int,
) -> None:
    """Batches of job groups to `processes` fresh processes (each with its own adapters and
    `workers` threads): one process's Python runs on one core at a time (the GIL), and the SDK's
    requests cost CPU. The events, their order within a job and the accounting stay with this
    process; a batch comes back as (event, outcome kind) pairs."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    size = workers * BATCH_GROUPS_PER_THREAD
    batches = (groups[start : start + size] for start in range(0, len(groups), size))
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start_process,
        initargs=(settings, clock, workers),
    ) as pool:
        _drain(pool, _handle_batch, batches, window=2 * processes, account=account)


def _drain(
    pool: Executor,
    task: Callable[[T], Handled],
    batches: Iterable[T],
    *,
    window: int,
    account: Account,
) -> None:
    """Run `task` on each batch in `pool`, at most `window` at a time, accounting each result
    as it comes. (Submitting everything at once and waiting on all of it at each completion
    would cost time in proportion to the backlog, per batch: quadratic in a large first pass.)"""
    waiting = iter(batches)

    def submit(count: int) -> set[Future[Handled]]:
        return {pool.submit(task, batch) for batch in itertools.islice(waiting, count)}

    running = submit(window)
    while running:
        done, running = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            account(future.result())
        running |= submit(len(done))


# ---- in a pipeline process -----------------------------------------------------------------

_process: tuple[Callable[[list[PendingEvent]], Handled], ThreadPoolExecutor] | None = None


def _start_process(settings: Settings, clock: Clock, workers: int) -> None:
    """The process's own root (its adapters, built from `settings`) and its thread pool."""
    global _process  # noqa: PLW0603 - one set of adapters per pipeline process
    root = Services(settings, clock=clock)
    _process = (
        functools.partial(handle_group, root.blobs, root.index, clock, settings),
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ascend"),
    )


def _handle_batch(groups: list[list[PendingEvent]]) -> Handled:
    if _process is None:
        raise InternalError("a pipeline process handled a batch before _start_process ran")
    handle_one, threads = _process
    handled = threads.map(handle_one, groups)
    return [pair for results in handled for pair in results]
