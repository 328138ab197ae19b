"""`ascend pipeline reconcile`: re-derive the index from storage, the source of truth.

One listing of `projects/` (with metadata and tags) and the index's keys decide, job by job,
without reading any metadata.json, whether the document is current: its `source_version` names
the metadata's etag, a final job's by-date copy records the log's current etag, and the `retain`
tags of the job's blobs agree with the document. Jobs that are missing or stale go through the
same handler as events; documents whose metadata.json is gone are removed. Blobs whose `retain`
tag disagrees with the (re-derived) document are re-tagged from the same listing: the events'
handler only lists a job's folder when it sees a sign of a changed `retain` (`indexer.job`), so
this is where a change undone between two events is caught. The cure for lost events, and the
rebuild after an index loss. By-date copies the pipeline did not write (without the source marks
its copies carry) are recorded as rejected from the same listing: no request for its own copies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from indexer.events import event_from_dict, grid_event, is_version_of
from indexer.finalize import SOURCE_SIZE, CopyState
from indexer.handler import handle
from indexer.rejected import record_rejection, record_skipped
from indexer.retag import retag_job_blobs, stale_tags
from shared.clock import Clock
from shared.documents import SearchDocument
from shared.errors import InvalidBlobPath, TransientError
from shared.gunzip import SOURCE_ETAG, written_by_pipeline
from shared.jobid import parse_job_id
from shared.layout import PROJECTS, BlobKind, metadata_path, parse_blob_name
from shared.listing import StoppableListing
from shared.metadata import FINAL_STATUSES
from shared.ports import BlobProps, BlobStore, SearchIndex
from shared.settings import Settings

_FINAL = frozenset(s.value for s in FINAL_STATUSES)
KINDS = ("indexed", "updated", "removed", "unchanged", "rejected")


@dataclass
class JobState:
    """What the listing says about one job: its folder's blobs and its by-date copy."""

    folder: dict[str, BlobProps] = field(default_factory=dict)
    copy: BlobProps | None = None
    archived_copy: BlobProps | None = None


def job_states(listing: Iterable[BlobProps]) -> dict[str, JobState]:
    """The listing grouped by job ID (blobs outside job folders and by-date copies ignored)."""
    states: dict[str, JobState] = defaultdict(JobState)
    for props in listing:
        try:
            ref = parse_blob_name(props.name)
        except InvalidBlobPath:
            continue
        if ref.job_id is None:
            continue
        if ref.kind is BlobKind.BY_DATE_LOG:
            states[str(ref.job_id)].copy = props
        elif ref.kind is BlobKind.BY_DATE_ARCHIVED_LOG:
            states[str(ref.job_id)].archived_copy = props
        else:
            states[str(ref.job_id)].folder[props.name] = props
    return dict(states)


def forged_copies(states: dict[str, JobState]) -> list[BlobProps]:
    """By-date copies without the marks the pipeline writes on its own (pure): a plain copy
    without `source_etag`/`source_size`, a `.gz` one not as the lifecycle writes it. A marker,
    not a proof: readers still bound what they read."""
    plain = [
        s.copy
        for s in states.values()
        if s.copy is not None
        and not (s.copy.metadata.get(SOURCE_ETAG) and s.copy.metadata.get(SOURCE_SIZE))
    ]
    gzipped = [
        s.archived_copy
        for s in states.values()
        if s.archived_copy is not None and not written_by_pipeline(s.archived_copy)
    ]
    return plain + gzipped


def record_forged_copies(blobs: BlobStore, clock: Clock, states: dict[str, JobState]) -> int:
    """Record each forged by-date copy (once per version) under `_ascend/rejected/`; the blob
    itself is never touched. Returns how many were found."""
    forged = forged_copies(states)
    for props in forged:
        record_rejection(
            blobs,
            blob=props.name,
            event_id="reconcile",
            at=clock.now(),
            etag=props.etag,
            reason=f"{props.name}: a by-date copy the pipeline did not write (no "
            "source marks): never trusted as the job's log",
        )
    return len(forged)


def is_current(doc: SearchDocument, state: JobState, metadata: BlobProps) -> bool:
    """True when the document reflects this metadata, log copy and retain tags (pure)."""
    if not is_version_of(doc.get("source_version"), metadata.etag):
        return False
    job_blobs = list(state.folder.values()) + ([state.copy] if state.copy else [])
    if stale_tags(job_blobs, bool(doc.get("retain"))):
        return False
    if doc.get("status") not in _FINAL:
        return True
    log = next((p for n, p in state.folder.items() if n.endswith("/job.log.jsonl")), None)
    if doc.get("log_lines") is None:
        return False
    return log is None or CopyState(state.copy).is_copy_of(log)


def reconcile(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    *,
    workers: int | None = None,
) -> dict[str, int]:
    """Bring the index in line with storage; counts of indexed, updated, removed, unchanged,
    rejected (and `failed`: transient failures left for the next run; `unlisted`: prefixes that
    failed to list, gone around and recorded as rejected)."""
    known = {job_id for job_id, _, _ in index.keys()}  # noqa: SIM118 - a port method
    # read before the listing: a job created meanwhile is never a removal candidate
    listing = StoppableListing(blobs.list(f"{PROJECTS}/", with_tags=True))
    states = job_states(listing)
    listing.raise_failure()  # only prefixes that fail to list are gone around
    counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    if listing.skipped:
        record_skipped(blobs, listing.skipped, at=clock.now())
        counts["unlisted"] = len(listing.skipped)
    counts["rejected"] += record_forged_copies(blobs, clock, states)
    todo: list[tuple[str, JobState, BlobProps]] = []
    present: set[str] = set()
    for job_id, state in states.items():
        metadata = next((p for n, p in state.folder.items() if n.endswith("/metadata.json")), None)
        if metadata is None:
            continue
        present.add(job_id)
        doc = index.get(job_id) if job_id in known else None
        if doc is not None and is_current(doc, state, metadata):
            counts["unchanged"] += 1
        else:
            todo.append((job_id, state, metadata))
    with ThreadPoolExecutor(max_workers=workers or settings.pipeline_workers) as pool:
        for kind in pool.map(
            lambda item: reindex_job(blobs, index, clock, settings, item, known=item[0] in known),
            todo,
        ):
            counts[kind] += 1
    counts["removed"] += _remove(blobs, index, known - present)
    return dict(counts)


def reindex_job(
    blobs: BlobStore,
    index: SearchIndex,
    clock: Clock,
    settings: Settings,
    item: tuple[str, JobState, BlobProps],
    *,
    known: bool,
) -> str:
    """Index one missing or stale job through the events' handler and re-tag its listed blobs;
    the outcome kind (`failed` for a transient failure, left for the next run)."""
    job_id, state, metadata = item
    event = replace(event_from_dict(grid_event(settings.container, metadata)), recheck=True)
    try:
        outcome = handle(event, blobs, index, clock, settings)
        retagged = _retag_from_listing(blobs, index, job_id, state)
    except TransientError:
        return "failed"
    if outcome.kind == "indexed" or retagged:
        return "updated" if known else "indexed"
    return "rejected" if outcome.kind == "rejected" else "unchanged"


def _retag_from_listing(blobs: BlobStore, index: SearchIndex, job_id: str, state: JobState) -> int:
    """Re-tag the listed blobs of the job whose `retain` tag disagrees with its document."""
    doc = index.get(job_id)
    if doc is None:
        return 0
    listed = [*state.folder.values(), *([state.copy] if state.copy else [])]
    return retag_job_blobs(blobs, listed, retain=bool(doc.get("retain")))


def _remove(blobs: BlobStore, index: SearchIndex, candidates: set[str]) -> int:
    """Delete documents of jobs whose metadata.json is really gone (checked once more: a job
    created after the keys were read is not among the candidates at all)."""
    gone = [j for j in sorted(candidates) if blobs.props(metadata_path(parse_job_id(j))) is None]
    return index.delete(gone) if gone else 0
