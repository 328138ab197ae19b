"""The retention sweep, end to end: candidates -> each job's state -> plan -> apply -> audit.

`plan_sweep` only reads; `run_sweep` also acts. Both derive everything from the current state of
storage and index, so a sweep that was killed half-way and is run again finishes the work and
repeats nothing, and a second run right after a complete one does nothing. Each candidate job is
listed, planned and applied on a bounded thread pool (storage round trips dominate), at most
`workers` jobs at once (`ASCEND_SWEEP_CONCURRENCY`), every storage request within a budget
(`ASCEND_SWEEP_REQUESTS_PER_SECOND`, `lifecycle.pacing`); a job's own actions stay in order
(metadata.json last). The audit log is flushed after every job and when the sweep stops.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from lifecycle.apply import Applier, Result
from lifecycle.audit import SYSTEM_SWEEP, AuditLog
from lifecycle.inventory import Candidate, candidate_of, candidates, read_job_state
from lifecycle.overrides import load_policy_book
from lifecycle.pacing import paced
from lifecycle.plan import JobPlan, plan_job
from lifecycle.policy import PolicyBook, RetentionPolicy
from shared.jobid import parse_job_id
from shared.listing import ListingIncomplete
from shared.partitions import Budget, Partition, Progress, work_through
from shared.ports import BlobStore, SearchIndex

if TYPE_CHECKING:  # read by the callers; the CLI may load this module without pydantic
    from shared.settings import Settings

log = logging.getLogger("ascend.sweep")
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class SweepSummary:
    """Counts for the one-line summary."""

    jobs: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, results: list[Result]) -> None:
        self.jobs += 1
        for result in results:
            self.actions[result.action.action] += 1
            self.outcomes[result.result.kind] += 1

    def line(self, verb: str) -> str:
        acts = ", ".join(f"{n} {a}" for a, n in sorted(self.actions.items())) or "no actions"
        outs = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()))
        return f"{verb} {acts} over {self.jobs} jobs" + (f" ({outs})" if outs else "")


def plan_sweep(
    blobs: BlobStore,
    index: SearchIndex,
    settings: Settings,
    now: datetime,
    *,
    project: str | None = None,
    book: PolicyBook | None = None,
    workers: int | None = None,
    rate: int | None = None,
) -> Iterator[tuple[JobPlan, RetentionPolicy]]:
    """The plan of every job with something to do at `now`; jobs' blobs are listed in parallel
    (`workers`, `rate`: as `run_sweep`)."""
    blobs, workers = within_budget(blobs, settings, workers, rate)
    book = book or load_policy_book(blobs)

    def plan_of(found: Candidate) -> tuple[JobPlan, RetentionPolicy]:
        policy = book.for_project(found.project)
        state = read_job_state(blobs, found.job_id, found, policy, now)
        return plan_job(state, policy, now), policy

    for plan, policy in _bounded(plan_of, candidates(index, book, now, project), workers):
        if not plan.is_empty:
            yield plan, policy


@dataclass
class JobSweeper:
    """Plans and applies one candidate job at a time (the audit flushed after each job)."""

    blobs: BlobStore
    index: SearchIndex
    now: datetime
    who: str = SYSTEM_SWEEP
    audit: AuditLog = field(init=False)
    applier: Applier = field(init=False)
    book: PolicyBook = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditLog(self.blobs)
        self.applier = Applier(self.blobs, self.index, self.audit, self.who, self.now)
        self.book = load_policy_book(self.blobs)

    def __call__(self, found: Candidate) -> list[Result]:
        policy = self.book.for_project(found.project)
        try:
            state = read_job_state(self.blobs, found.job_id, found, policy, self.now)
        except ListingIncomplete as exc:  # never act on part of a job: it waits for a sweep
            log.warning("sweep leaves job %s for a later sweep: %s", found.job_id, exc)
            return []
        plan = plan_job(state, policy, self.now)
        if plan.is_empty:
            return []
        _, results = self.applier.apply_job(
            plan, lambda: replan_job(self.blobs, self.index, plan.job_id, policy, self.now)
        )
        self.audit.flush()
        return results


def run_sweep(
    blobs: BlobStore,
    index: SearchIndex,
    settings: Settings,
    now: datetime,
    *,
    project: str | None = None,
    who: str = SYSTEM_SWEEP,
    on_result: Callable[[Result], None] | None = None,
    workers: int | None = None,
    rate: int | None = None,
) -> SweepSummary:
    """Plan and apply, `workers` jobs at a time, at most `rate` storage requests a second (None:
    the settings'); `on_result` sees every result as it happens."""
    blobs, workers = within_budget(blobs, settings, workers, rate)
    sweeper = JobSweeper(blobs, index, now, who)
    summary = SweepSummary()
    found = candidates(index, sweeper.book, now, project)
    try:
        for results in _bounded(sweeper, found, workers):
            if results:
                summary.add(results)
            for result in results:
                if on_result is not None:
                    on_result(result)
    finally:
        sweeper.audit.flush()
    return summary


def sweep_partitions(
    blobs: BlobStore, index: SearchIndex, now: datetime, run: str
) -> list[Partition]:
    """The (project, creation day) partitions that hold candidate jobs at `now`."""
    book = load_policy_book(blobs)
    found = {
        (row.project, parse_job_id(row.job_id).created_at.date())
        for row in candidates(index, book, now)
    }
    return [Partition("sweep", run, project, day) for project, day in sorted(found)]


def sweep_partition(
    blobs: BlobStore,
    index: SearchIndex,
    settings: Settings,
    now: datetime,
    part: Partition,
    *,
    budget: Budget,
    workers: int | None = None,
    slice_size: int = 16,
) -> Progress:
    """Sweep one partition's candidates in job-ID order until done or the budget is spent."""
    blobs, workers = within_budget(blobs, settings, workers, None)
    sweeper = JobSweeper(blobs, index, now)
    rows = sorted(candidates(index, sweeper.book, now, part.project, part.day))

    def work(batch: list[Candidate]) -> list[str]:
        outcomes: list[str] = []
        for results in _bounded(sweeper, batch, workers):
            outcomes += [f"{r.action.action} {r.result.kind}" for r in results]
        return outcomes

    return work_through(
        blobs, part, ((r.job_id, r) for r in rows), work, budget, slice_size=slice_size
    )


def within_budget(
    blobs: BlobStore, settings: Settings, workers: int | None, rate: int | None
) -> tuple[BlobStore, int]:
    """`blobs` whose requests keep to `rate` a second, and the jobs in flight (None:
    `sweep_requests_per_second` and `sweep_concurrency` of the settings)."""
    per_second = rate if rate is not None else settings.sweep_requests_per_second
    return paced(blobs, per_second), workers if workers is not None else settings.sweep_concurrency


def replan_job(
    blobs: BlobStore, index: SearchIndex, job_id: str, policy: RetentionPolicy, now: datetime
) -> JobPlan:
    """The plan of one job from its current state (the re-check of a job that changed)."""
    doc = index.get(job_id)
    found = candidate_of(doc) if doc is not None else None
    return plan_job(read_job_state(blobs, job_id, found, policy, now), policy, now)


def _bounded(work: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`work` over `items` with at most `workers` running and `2 * workers` submitted."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        running: set[Future[R]] = set()
        for item in items:
            running.add(pool.submit(work, item))
            if len(running) >= 2 * workers:
                done, pending = wait(running, return_when=FIRST_COMPLETED)
                running = set(pending)
                yield from (f.result() for f in done)
        while running:
            done, pending = wait(running, return_when=FIRST_COMPLETED)
            running = set(pending)
            yield from (f.result() for f in done)
