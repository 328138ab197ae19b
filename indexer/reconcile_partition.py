"""Reconcile one partition (a project's jobs of one creation day) within a time budget.

The daily reconcile in Azure cannot list a container of millions of blobs in one invocation
(`host.json` gives 10 minutes), so it is split: `changed_partitions` finds the (project, day)
partitions with jobs created since the last run (Find Blobs by Tags on the `created` tag, plus,
for jobs written without tags whose event was lost, one delimiter listing of each user's
`jobs/{YYYYMMDD}-` folders per day of the window: cost growing with the window and the users,
not with history), and `reconcile_partition` does one of them: a
listing of each of the project's users' jobs of that day and of the day's by-date copies, the
index's documents of that day in one query, and then job by job the same decisions as the full
`indexer.reconcile` (`is_current`, re-index, re-tag), with a progress marker (`shared.partitions`)
so that the next invocation continues where a spent budget stopped this one. Documents of the
partition whose metadata.json is gone are removed when its last slice is done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Protocol

from indexer.reconcile import (
    KINDS,
    JobState,
    is_current,
    job_states,
    record_forged_copies,
    reindex_job,
)
from indexer.rejected import record_skipped
from shared.clock import Clock
from shared.documents import SearchDocument
from shared.errors import InternalError, InvalidBlobPath, TransientError
from shared.jobid import is_valid_name, parse_job_id
from shared.layout import (
    PROJECTS,
    BlobKind,
    by_date_prefix,
    metadata_path,
    parse_blob_name,
    user_jobs_prefix,
)
from shared.listing import Skipped, StoppableListing
from shared.paging import find_all
from shared.partitions import (
    Budget,
    Partition,
    Progress,
    RunRecord,
    created_on,
    days_between,
    read_last_run,
    run_finished,
    run_id,
    run_time,
    work_through,
    write_last_run,
)
from shared.ports import BlobProps, BlobStore, SearchIndex
from shared.querytree import Equals, Query, Sort
from shared.settings import Settings
from shared.tags import CREATED, KIND


def changed_partitions(blobs: BlobStore, run: str, since: date, today: date) -> list[Partition]:
    """The (project, day) partitions with a job created from `since` to `today`: those whose
    metadata.json carries the `created` tag (one Find Blobs by Tags), and those with a job
    folder of that day without it (`folder_partitions`)."""
    tagged = tagged_partitions(blobs, since, today)
    found = tagged | folder_partitions(blobs, since, today, known=tagged)
    return [Partition("reconcile", run, project, day) for project, day in sorted(found)]


def tagged_partitions(blobs: BlobStore, since: date, today: date) -> set[tuple[str, date]]:
    """(project, day) of each metadata.json whose `created` and `kind` tags say it was created
    from `since` to `today` (eventually consistent in Azure: minutes, not days)."""
    expression = (
        f"\"{KIND}\" = 'metadata' AND \"{CREATED}\" >= '{since:%Y%m%d}' "
        f"AND \"{CREATED}\" <= '{today:%Y%m%d}'"
    )
    found: set[tuple[str, date]] = set()
    for name in blobs.find_by_tags(expression):
        try:
            ref = parse_blob_name(name)
        except InvalidBlobPath:
            continue
        if ref.job_id is not None and ref.kind is BlobKind.METADATA:
            found.add((ref.job_id.project, ref.job_id.created_at.date()))
    return found


def folder_partitions(
    blobs: BlobStore, since: date, today: date, *, known: set[tuple[str, date]]
) -> set[tuple[str, date]]:
    """(project, day) with a job folder of that day, beyond `known`: for each project and user,
    one delimiter listing of `jobs/{YYYYMMDD}-` per day (job IDs start with their creation day),
    so a job written without tags whose event was lost is still reconciled. Its first folder
    answers; a (project, day) already known is not asked again."""
    found: set[tuple[str, date]] = set()
    for project in _folders(blobs, f"{PROJECTS}/"):
        for user in _folders(blobs, f"{PROJECTS}/{project}/users/"):
            for day in days_between(since, today):
                if (project, day) in known or (project, day) in found:
                    continue
                prefix = f"{user_jobs_prefix(project, user)}{day:%Y%m%d}-"
                if next(iter(blobs.walk(prefix)), None) is not None:
                    found.add((project, day))
    return found


def _folders(blobs: BlobStore, prefix: str) -> list[str]:
    """The sanitized names of the virtual folders directly under `prefix`."""
    names = (f.removeprefix(prefix).rstrip("/") for f in blobs.walk(prefix) if f.endswith("/"))
    return sorted(name for name in names if is_valid_name(name))


def partition_listing(
    blobs: BlobStore, project: str, day: date, skipped: list[Skipped] | None = None
) -> Iterator[BlobProps]:
    """The partition's blobs, tags included: each user's job folders of that day (job IDs start
    with the day), then the day's by-date copies. Prefixes that fail to list are gone around
    and added to `skipped`."""
    users = [
        u.rstrip("/").rsplit("/", 1)[-1]
        for u in blobs.walk(f"{PROJECTS}/{project}/users/")
        if u.endswith("/")
    ]
    prefixes = [f"{user_jobs_prefix(project, user)}{day:%Y%m%d}-" for user in sorted(users)]
    for prefix in [*prefixes, by_date_prefix(project, day)]:
        listing = StoppableListing(blobs.list(prefix, with_tags=True))
        yield from listing
        listing.raise_failure()
        if skipped is not None:
            skipped.extend(listing.skipped)


def partition_documents(index: SearchIndex, project: str, day: date) -> dict[str, SearchDocument]:
    """The index's documents of the partition, by job ID (keyset pages of 1000)."""
    query = Query((Equals("project", (project,)), *created_on(day)), Sort("created_at", False))
    return {doc["job_id"]: doc for doc in find_all(index, query)}


def reconcile_partition(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    part: Partition,
    *,
    budget: Budget,
    slice_size: int = 16,
) -> Progress:
    """Work through the partition's jobs after its marker until done or the budget is spent."""
    unlisted: list[Skipped] = []
    states = job_states(partition_listing(blobs, part.project, part.day, unlisted))
    record_skipped(blobs, unlisted, at=clock.now())
    # from the listing: no request for the pipeline's own copies
    record_forged_copies(blobs, clock, states)
    docs = partition_documents(index, part.project, part.day)
    present = {job_id for job_id, state in states.items() if _metadata(state) is not None}
    reindex = partial(reindex_job, blobs, index, clock, settings)

    def work(items: list[tuple[str, JobState]]) -> list[str]:
        kinds = list(
            pool.map(lambda item: _one(reindex, item[0], item[1], docs.get(item[0])), items)
        )
        if "failed" in kinds:  # the marker stays before this slice: it is worked again
            raise TransientError(
                f"reconcile of {part.project} {part.day}: "
                f"{kinds.count('failed')} jobs failed transiently"
            )
        return kinds

    def finish() -> Counter[str]:
        gone = [
            j
            for j in sorted(set(docs) - present)
            if blobs.props(metadata_path(parse_job_id(j))) is None
        ]
        return Counter({"removed": index.delete(gone) if gone else 0})

    jobs = ((job_id, (job_id, states[job_id])) for job_id in sorted(present))
    with ThreadPoolExecutor(max_workers=settings.pipeline_workers) as pool:
        return work_through(blobs, part, jobs, work, budget, finish=finish, slice_size=slice_size)


class _Reindex(Protocol):
    """`reindex_job` bound to the ports: one job's outcome kind."""

    def __call__(self, item: tuple[str, JobState, BlobProps], *, known: bool) -> str: ...


def _one(reindex: _Reindex, job_id: str, state: JobState, doc: SearchDocument | None) -> str:
    """One job's outcome kind: `unchanged` when its document is current, else re-indexed."""
    metadata = _metadata(state)
    if metadata is None:
        raise InternalError(f"job {job_id}: worked without a metadata.json")
    if doc is not None and is_current(doc, state, metadata):
        return "unchanged"
    return reindex((job_id, state, metadata), known=doc is not None)


def _metadata(state: JobState) -> BlobProps | None:
    return next((p for n, p in state.folder.items() if n.endswith("/metadata.json")), None)


def schedule_reconcile(blobs: BlobStore, settings: Settings, now: datetime) -> list[Partition]:
    """The partitions of today's reconcile: those with jobs created since the last finished run
    (less `reconcile_lookback_days`, for jobs still running then); while a run is unfinished the
    next one keeps its window. Records the run in `_ascend/progress/reconcile/last.json`."""
    run, today = run_id(now), now.astimezone(UTC).date()
    lookback = timedelta(days=settings.reconcile_lookback_days)
    previous = read_last_run(blobs, "reconcile")
    if previous is None:
        since = today - lookback
    elif run_finished(blobs, "reconcile", previous):
        since = run_time(previous.run).date() - lookback
    else:
        since = previous.since
    parts = changed_partitions(blobs, run, since, today)
    write_last_run(blobs, "reconcile", RunRecord(run, since, len(parts)))
    return parts


def reconcile_recent(
    blobs: BlobStore, index: SearchIndex, clock: Clock, settings: Settings, days: int
) -> dict[str, int]:
    """The daily reconcile in one process (`ascend pipeline reconcile --since-days N`): every
    partition with jobs created in the last `days` days, one after the other, no time budget."""
    now = clock.now()
    today = now.astimezone(UTC).date()
    counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    for part in changed_partitions(blobs, run_id(now), today - timedelta(days=days), today):
        progress = reconcile_partition(
            blobs, index, clock, settings, part, budget=Budget.start(float("inf"))
        )
        counts.update(progress.counts)
    return dict(counts)
