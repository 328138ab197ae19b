"""The retention sweep, end to end: candidates -> each job's state -> plan -> apply -> audit.

`plan_sweep` only reads; `run_sweep` also acts. Both derive everything from the current state of
storage and index, so a sweep that was killed half-way and is run again finishes the work and
repeats nothing, and a second run right after a complete one does nothing. Jobs are applied on a
bounded thread pool; the audit log is flushed after every job and when the sweep stops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from lifecycle.apply import Applier, Result
from lifecycle.audit import SYSTEM_SWEEP, AuditLog
from lifecycle.inventory import candidate_documents, read_job_state
from lifecycle.overrides import load_policy_book
from lifecycle.plan import JobPlan, plan_job
from lifecycle.policy import PolicyBook, RetentionPolicy
from shared.services import Services


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
            self.outcomes[result.outcome.split(":", 1)[0]] += 1

    def line(self, verb: str) -> str:
        acts = ", ".join(f"{n} {a}" for a, n in sorted(self.actions.items())) or "no actions"
        outs = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items()))
        return f"{verb} {acts} over {self.jobs} jobs" + (f" ({outs})" if outs else "")


def plan_sweep(services: Services, now: datetime, *, project: str | None = None,
               book: PolicyBook | None = None) -> Iterator[tuple[JobPlan, RetentionPolicy]]:
    """The plan of every job with something to do at `now`, one job at a time."""
    book = book or load_policy_book(services.blobs)
    for doc in candidate_documents(services.index, book, now, project):  # type: ignore[arg-type]
        policy = book.for_project(doc["project"])
        state = read_job_state(services.blobs, doc["job_id"], doc, policy, now)
        plan = plan_job(state, policy, now)
        if not plan.is_empty:
            yield plan, policy


def run_sweep(services: Services, now: datetime, *, project: str | None = None,
              who: str = SYSTEM_SWEEP, on_result: Callable[[Result], None] | None = None,
              workers: int = 4) -> SweepSummary:
    """Plan and apply; `on_result` sees every result as it happens."""
    audit = AuditLog(services.blobs)
    applier = Applier(services.blobs, services.index, audit, who, now)
    summary = SweepSummary()

    def one(plan: JobPlan, policy: RetentionPolicy) -> list[Result]:
        _, results = applier.apply_job(plan, lambda: replan_job(services, plan.job_id, policy, now))
        audit.flush()
        return results

    try:
        for results in _bounded(one, plan_sweep(services, now, project=project), workers):
            summary.add(results)
            for result in results:
                if on_result is not None:
                    on_result(result)
    finally:
        audit.flush()
    return summary


def replan_job(services: Services, job_id: str, policy: RetentionPolicy, now: datetime) -> JobPlan:
    doc = services.index.get(job_id)
    return plan_job(read_job_state(services.blobs, job_id, doc, policy, now), policy, now)


def _bounded(work: Callable[[JobPlan, RetentionPolicy], list[Result]],
             items: Iterator[tuple[JobPlan, RetentionPolicy]], workers: int
             ) -> Iterator[list[Result]]:
    """`work` over `items` with at most `workers` running and `2 * workers` queued."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        running: set[Future[list[Result]]] = set()
        for plan, policy in items:
            running.add(pool.submit(work, plan, policy))
            if len(running) >= 2 * workers:
                done, running = _settle(running)
                yield from (f.result() for f in done)
        while running:
            done, running = _settle(running)
            yield from (f.result() for f in done)


def _settle(running: set[Future[list[Result]]]
            ) -> tuple[set[Future[list[Result]]], set[Future[list[Result]]]]:
    done, pending = wait(running, return_when=FIRST_COMPLETED)
    return done, set(pending)
