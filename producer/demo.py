"""Write demo jobs into storage through the producer functions, the way real jobs do.

`write_plan` plays one `JobPlan` (queued → running → its final status, with its log streamed
into the append blob, its artifacts and result); `seed_demo` plays N of them on a bounded
thread pool. A job that is already there (same seed seeded twice) is skipped, not duplicated.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from producer.demo_plan import JobPlan, plan_job
from producer.jobs import create_job, store_artifact, update_versioned, write_result
from producer.streamer import LogStreamer
from shared.clock import FixedClock
from shared.errors import AscendError, BlobExists, InternalError
from shared.layout import metadata_path
from shared.metadata import Artifact, JobMetadata, JobStatus, Resources
from shared.ports import BlobStore
from shared.transitions import transition, validated, with_artifacts


@dataclass
class SeedSummary:
    """What a seed run did."""

    jobs: int = 0
    skipped: int = 0
    blobs_written: int = 0
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    by_project: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def write_plan(blobs: BlobStore, plan: JobPlan) -> int:
    """Write one planned job; how many of its own blobs it created (image files not counted).
    A job already in storage raises `BlobExists` (seeding the same seed twice adds nothing)."""
    if blobs.props(metadata_path(plan.job)) is not None:
        raise BlobExists(metadata_path(plan.job), "already exists")
    version = create_job(
        blobs,
        user=plan.user,
        project=plan.project,
        function_name=plan.function_name,
        args_hash=plan.args_hash,
        dependencies=plan.dependencies,
        config=plan.config,
        tags=plan.tags,
        clock=FixedClock(plan.created_at),
        nonce=plan.nonce,
    )
    job, retain, written = version.meta.parsed_job_id, version.meta.retain, 2
    if plan.started_at is None:
        if plan.ended_at is not None:
            update_versioned(blobs, version, _move(plan.status, plan.ended_at))
        return written
    running = {k: v for k, v in plan.execution.items() if k != "exit_code"}
    version = update_versioned(blobs, version, _move(JobStatus.RUNNING, plan.started_at, **running))
    written += _write_log(blobs, plan, retain)
    if plan.ended_at is None:
        return written
    artifacts = [
        store_artifact(blobs, job, name, data, kind, retain=retain, clock=FixedClock(plan.ended_at))
        for name, kind, data in plan.artifacts
    ]
    if plan.result is not None:
        write_result(blobs, job, plan.result, retain=retain)
    update_versioned(blobs, version, _finish(plan, artifacts))
    return written + len(artifacts) + (plan.result is not None)


def _move(
    status: JobStatus, when: datetime, **execution: Any
) -> Callable[[JobMetadata], JobMetadata]:
    return lambda meta: transition(meta, status, when, **execution)


def _write_log(blobs: BlobStore, plan: JobPlan, retain: bool) -> int:
    if not plan.log:
        return 0
    with LogStreamer(
        blobs, plan.job, retain=retain, capacity=max(1000, len(plan.log)), flush_interval=3600
    ) as streamer:
        for record in plan.log:
            streamer.emit(record)
    if streamer.unwritten or streamer.dropped:
        raise AscendError(f"log of {plan.job}: {streamer.unwritten + streamer.dropped} lines lost")
    return 1


def _finish(plan: JobPlan, artifacts: list[Artifact]) -> Callable[[JobMetadata], JobMetadata]:
    ended = plan.ended_at
    if ended is None:
        raise InternalError(f"demo job {plan.job}: finished without an end time")

    def change(meta: JobMetadata) -> JobMetadata:
        done = transition(meta, plan.status, ended, exit_code=plan.execution.get("exit_code"))
        done = done.model_copy(update={"resources": Resources(**plan.resources)})
        return with_artifacts(validated(done), artifacts, ended)

    return change


def seed_demo(
    blobs: BlobStore,
    *,
    jobs: int,
    seed: int,
    now: datetime,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Write `jobs` demo jobs on `workers` threads; jobs already present are skipped. Each
    worker plans its own job, so memory stays small however many jobs are seeded."""
    summary, started = SeedSummary(), time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = pool.map(lambda i: _try_plan(blobs, plan_job(seed, i, now)), range(jobs))
        for done, (status, project, outcome) in enumerate(outcomes, start=1):
            _count(summary, status, project, outcome)
            if progress:
                progress(done)
    summary.seconds = time.monotonic() - started
    return summary


Outcome = tuple[str, str, int | str | None]


def _try_plan(blobs: BlobStore, plan: JobPlan) -> Outcome:
    """(status, project, outcome): blobs written, None when the job already existed, or the
    reason it failed (one line; a failed job never stops the others)."""
    job = plan.job
    try:
        outcome: int | str | None = write_plan(blobs, plan)
    except BlobExists:
        outcome = None
    except AscendError as exc:
        outcome = f"{job}: {exc}"
    except Exception as exc:  # an unexpected failure of one job is reported, not fatal
        outcome = f"{job}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return plan.status.value, job.project, outcome


def _count(summary: SeedSummary, status: str, project: str, outcome: int | str | None) -> None:
    if outcome is None:
        summary.skipped += 1
    elif isinstance(outcome, str):
        summary.failures.append(outcome)
    else:
        summary.jobs += 1
        summary.blobs_written += outcome
        summary.by_status[status] += 1
        summary.by_project[project] += 1
