"""Finishing a job's log: the by-date copy (a block blob, made server-side) and the log's stats.

When a job is final its `job.log.jsonl` (usually an append blob, which can never be tiered) is
copied with Put Block From URL + Put Block List to `projects/{p}/logs/by-date/{Y}/{M}/{D}/{job}
.log.jsonl`, a *block* blob the lifecycle can tier, tagged like every blob of the job. The copy's
metadata records the source's etag and size and a digest of the stats: a log that grew after the
copy (a late flush) is seen as a different etag and copied again, and an up-to-date copy lets the
stats of the stored document be reused without reading the log again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from indexer.logstats import (
    ONE_REQUEST_BYTES,
    read_listed_log_stats,
    read_log_stats,
    stats_of,
)
from indexer.retag import retag_blob
from shared.errors import (
    BlobArchived,
    BlobNotFound,
    PreconditionFailed,
    StorageError,
    TransientError,
)
from shared.jobdocument import LogFacts, LogStats, stats_from_document
from shared.jobid import JobId
from shared.layout import BlobKind, by_date_log_path
from shared.ports import BlobProps, BlobStore
from shared.tags import job_blob_tags

SOURCE_ETAG = "source_etag"
SOURCE_SIZE = "source_size"
STATS_DIGEST = "stats_digest"
COPY_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class CopyState:
    """The by-date copy as storage reports it (None: there is none)."""

    props: BlobProps | None

    def is_copy_of(self, log: BlobProps) -> bool:
        meta = self.props.metadata if self.props else {}
        return meta.get(SOURCE_ETAG) == log.etag and meta.get(SOURCE_SIZE) == str(log.size)

    def stats_digest(self) -> str | None:
        return self.props.metadata.get(STATS_DIGEST) if self.props else None


def copy_state(blobs: BlobStore, job: JobId) -> CopyState:
    """The by-date copy's properties and tags, in one listing request."""
    path = by_date_log_path(job)
    found = next((p for p in blobs.list(path, with_tags=True) if p.name == path), None)
    return CopyState(found)


@dataclass(frozen=True, slots=True)
class LogRead:
    """A job's log as one request saw it (None: there is none), with its stats when that
    request read the whole log."""

    props: BlobProps | None
    stats: LogStats | None = None


def read_log(blobs: BlobStore, name: str) -> LogRead:
    """The log's props and stats from one GET when it fits in one request; a larger or archived
    log is only HEADed (`finalize_log` streams it). A GET does not report the access tier: a
    block blob log (an append log has none) is HEADed for it."""
    try:
        blob = blobs.read(name, max_bytes=ONE_REQUEST_BYTES)
    except BlobNotFound:
        return LogRead(None)
    except StorageError:  # archived, or larger than one request
        return LogRead(blobs.props(name))
    props = blob.props
    if props.blob_type == "BlockBlob":
        head = blobs.props(name)
        if head is not None and head.etag == props.etag:
            props = replace(props, tier=head.tier)
    return LogRead(props, stats_of(blob.data))


def finalize_log(
    blobs: BlobStore,
    job: JobId,
    log: BlobProps | None,
    *,
    retain: bool,
    previous: Mapping[str, object] | None,
    stats: LogStats | None = None,
) -> LogFacts:
    """Make sure the by-date copy is a current copy of the log; return the log's stats and tier.
    `stats`: of exactly the version `log` describes, when the caller already read it."""
    kept = stats_from_document(previous) if previous else None
    if log is None:
        return LogFacts(
            stats=kept or LogStats(), tier=job_tier(None, previous), size=kept_size(previous)
        )
    for _ in range(COPY_ATTEMPTS):
        try:
            return _finalize_once(
                blobs, job, log, retain=retain, kept=kept, previous=previous, fresh=stats
            )
        except (PreconditionFailed, BlobNotFound):
            stats = None
            log = blobs.props(log.name)  # a late flush landed mid-copy: start again from it
            if log is None:
                return LogFacts(
                    stats=kept or LogStats(),
                    tier=job_tier(None, previous),
                    size=kept_size(previous),
                )
    raise TransientError(f"{log.name}: kept changing while it was being copied")


def _finalize_once(
    blobs: BlobStore,
    job: JobId,
    log: BlobProps,
    *,
    retain: bool,
    kept: LogStats | None,
    previous: Mapping[str, object] | None,
    fresh: LogStats | None,
) -> LogFacts:
    # A job the index has never seen has no copy worth checking (after an index loss the copy
    # is made again): one listing request saved on the common path.
    state = copy_state(blobs, job) if previous is not None else CopyState(None)
    tier = job_tier(log, previous)
    if state.is_copy_of(log):
        _retag(blobs, state.props, retain)
        if kept is not None and kept.digest() == state.stats_digest():
            return LogFacts(stats=kept, tier=tier, size=log.size)
        return LogFacts(
            stats=_stats_or(blobs, by_date_log_path(job), None, kept), tier=tier, size=log.size
        )
    try:
        stats = fresh if fresh is not None else read_listed_log_stats(blobs, log)
    except BlobArchived:
        return LogFacts(
            stats=kept,
            tier=log.tier or tier,  # cannot be read, nor copied
            size=log.size,
        )
    _copy(blobs, job, log, stats, retain)
    return LogFacts(stats=stats, tier=tier, size=log.size)


def _copy(blobs: BlobStore, job: JobId, log: BlobProps, stats: LogStats, retain: bool) -> None:
    destination = by_date_log_path(job)
    metadata = {SOURCE_ETAG: log.etag, SOURCE_SIZE: str(log.size), STATS_DIGEST: stats.digest()}
    try:
        blobs.copy_to_block_blob(
            log.name,
            destination,
            if_etag=log.etag,
            metadata=metadata,
            tags=job_blob_tags(job, BlobKind.BY_DATE_LOG, retain=retain),
            source_props=log,
        )
    except (PreconditionFailed, BlobNotFound):
        raise
    except StorageError as exc:
        # Two workers copying at once: the loser's staged blocks are discarded by the winner's
        # commit. If the winner left a current copy, there is nothing left to do.
        if not copy_state(blobs, job).is_copy_of(log):
            raise TransientError(f"{destination}: copy failed ({exc.reason})") from exc


def _retag(blobs: BlobStore, copy: BlobProps | None, retain: bool) -> None:
    if copy is not None:
        retag_blob(blobs, copy.name, copy.tags or {}, retain)


def _stats_or(
    blobs: BlobStore, name: str, length: int | None, kept: LogStats | None
) -> LogStats | None:
    try:
        return read_log_stats(blobs, name, length=length)
    except (BlobArchived, BlobNotFound):
        return kept


def kept_size(previous: Mapping[str, object] | None) -> int | None:
    """The log size a stored document carries (its log is gone or not looked at now)."""
    size = previous.get("log_bytes") if previous else None
    return size if isinstance(size, int) else None


def job_tier(log: BlobProps | None, previous: Mapping[str, object] | None) -> str | None:
    """The job's `tier`: once indexed, the lifecycle owns it (the stage its sweep completed), so a
    re-index keeps it; a new job starts at its log's tier."""
    if previous and isinstance(previous.get("tier"), str):
        return str(previous["tier"])
    return log.tier if log is not None and log.tier else None
