"""Indexing one job from storage: read and validate its metadata.json, finish its log when the
job is final, keep its blobs' `retain` tags in step, and upsert its search document.

Whatever event led here, the job is indexed from what storage holds *now*, so a late or
duplicated event can only re-index the current state, and the index's (updated_at,
source_version) guard keeps a slower worker from writing an older document over a newer one.

Index tags (`indexer.retag`): every blob of the job must carry the job's tags, whoever wrote it.
The producer tags every blob with the `retain` of the metadata version it holds; a writer using the
bare SDK tags nothing. The job's folder is listed (with tags) and its stale blobs tagged when there
is a sign of either: on a first index, metadata.json has fewer tags than ours (its read reports
the count, at no cost) or the log (created when the job started) carries another `retain`; on a
later index, the document has another `retain` than the metadata. Otherwise only metadata.json
itself is tagged when it lacks the tags (a bare writer's update clears them), and each blob written
later is tagged once, when its own event arrives (`indexer.handler`). A change undone before the
indexer saw it, or a bare writer's blob whose event came before the job was first indexed and
whose metadata carries tags, is caught by `pipeline reconcile`, which compares every blob's tags.
(Listing every job's folder on every event made Azurite, which scans the whole container for a
prefix listing, the bottleneck of the pipeline: `bench/azurite_listing.py`.)
"""

from __future__ import annotations

from indexer.events import content_version, is_version_of
from indexer.finalize import LogRead, finalize_log, job_tier, kept_size, read_log
from indexer.images import image_packages
from indexer.outcomes import Indexed, Outcome, Skipped
from indexer.retag import JOB_TAG_COUNT, retag_blob, retag_job_blobs
from shared.documents import SearchDocument
from shared.errors import BlobNotFound, InvalidMetadata
from shared.jobdocument import LogFacts, build_document
from shared.jobid import JobId
from shared.layout import job_prefix, log_path, metadata_path
from shared.metadata import FINAL_STATUSES, JobMetadata, parse_metadata
from shared.ports import Blob, BlobProps, BlobStore, SearchIndex
from shared.settings import Settings
from shared.tags import RETAIN

_FINAL = frozenset(s.value for s in FINAL_STATUSES)


def metadata_of(blob: Blob, job: JobId) -> JobMetadata:
    """Validate the bytes of a job's metadata.json, or raise `InvalidMetadata` saying why."""
    source = f"metadata.json of {job}"
    try:
        text = blob.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMetadata(source, f"is not UTF-8 text (invalid byte at {exc.start})") from None
    meta = parse_metadata(text, source=source)
    if meta.job_id != str(job):
        raise InvalidMetadata(source, f"job_id {meta.job_id!r} does not match its folder {job}")
    return meta


def index_job(
    blobs: BlobStore,
    index: SearchIndex,
    settings: Settings,
    job: JobId,
    *,
    sequencer: str | None = None,
    event_etag: str | None = None,
    event_size: int | None = None,
    recheck: bool = False,
) -> Outcome:
    """Index `job` from storage; `sequencer` orders it when the event was about this content.
    An event announcing more than `max_metadata_bytes` is refused without reading the blob; an
    event about the content the document was made from (a duplicate: Event Grid delivers at
    least once) costs no storage request, unless `recheck` (reconcile found the job stale)."""
    name = metadata_path(job)
    limit = settings.max_metadata_bytes
    if event_size is not None and event_size > limit:
        raise InvalidMetadata(
            f"metadata.json of {job}", f"is {event_size} bytes, over the limit of {limit}"
        )
    previous = index.get(str(job))
    if not recheck and _indexed_from(previous, event_etag, sequencer):
        return Skipped(name, "already indexed from this content (a repeated event)")
    try:
        blob = blobs.read(name, max_bytes=limit)
    except BlobNotFound:
        return Skipped(name, "metadata.json is gone (deleted after the event)")
    meta = metadata_of(blob, job)
    version = _version(blob.props, previous, sequencer if event_etag == blob.props.etag else None)
    untagged = _untagged(blob.props)
    log, folder = _log_and_folder(blobs, job, meta, previous, untagged=untagged)
    facts = _log_facts(blobs, job, meta, log, previous)
    doc = build_document(
        meta,
        prices=settings.node_prices,
        source_version=version,
        log=facts,
        image_packages=_image_packages(blobs, meta),
    )
    if folder is not None:
        retag_job_blobs(blobs, folder, retain=meta.retain)
    elif untagged:
        _tag_metadata(blobs, blob.props, meta.retain)
    if not index.upsert([doc]):
        return Skipped(name, "the index already holds a newer version of this job")
    return Indexed(name, str(job))


def _indexed_from(previous: SearchDocument | None, etag: str | None, sequencer: str | None) -> bool:
    """The document was made on an event with this sequencer about the metadata content with
    `etag` (this is a repeat of it), and has everything it will get from it (a final job's log
    facts; a late flush into the log comes as the log's own event)."""
    if previous is None or etag is None:
        return False
    if not str(previous.get("source_version") or "").endswith(f"-{sequencer or ''}-{etag}"):
        return False
    return previous.get("status") not in _FINAL or previous.get("log_lines") is not None


def _version(props: BlobProps, previous: SearchDocument | None, sequencer: str | None) -> str:
    """The event's sequencer orders this content; without one, the same content keeps the
    version it was indexed under (so a re-index is never mistaken for an older event)."""
    known = previous.get("source_version") if previous else None
    if sequencer is None and isinstance(known, str) and is_version_of(known, props.etag):
        return known
    return content_version(props, sequencer)


def _untagged(props: BlobProps) -> bool:
    """metadata.json lacks (some of) the job's tags: written by a writer that does not tag."""
    return props.tag_count is not None and props.tag_count < JOB_TAG_COUNT


def _tag_metadata(blobs: BlobStore, props: BlobProps, retain: bool) -> None:
    current = blobs.get_tags(props.name) if props.tag_count else {}
    retag_blob(blobs, props.name, current, retain)


def _log_and_folder(
    blobs: BlobStore,
    job: JobId,
    meta: JobMetadata,
    previous: SearchDocument | None,
    *,
    untagged: bool,
) -> tuple[LogRead, list[BlobProps] | None]:
    """The job's log as far as it is needed, and its whole folder (with tags) when its blobs'
    tags may be stale or missing."""
    name = log_path(job)
    if previous is None:
        changed = untagged or _log_tag_differs(blobs, name, meta.retain)
    else:
        changed = bool(previous.get("retain")) != meta.retain
    if changed:
        folder = list(blobs.list(job_prefix(job), with_tags=True))
        return LogRead(next((p for p in folder if p.name == name), None)), folder
    if previous is not None:
        return LogRead(blobs.props(name)), None
    # First index: a final job's log is read whole anyway (stats), in the same request as its
    # props; a job still running needs nothing of it (its tier is the default).
    return (read_log(blobs, name) if meta.status.is_final else LogRead(None)), None


def _log_tag_differs(blobs: BlobStore, name: str, retain: bool) -> bool:
    try:
        tags = blobs.get_tags(name)
    except BlobNotFound:
        return False
    return tags.get(RETAIN) != ("true" if retain else "false")


def _log_facts(
    blobs: BlobStore, job: JobId, meta: JobMetadata, log: LogRead, previous: SearchDocument | None
) -> LogFacts:
    if meta.status.is_final:
        return finalize_log(
            blobs, job, log.props, retain=meta.retain, previous=previous, stats=log.stats
        )
    size = log.props.size if log.props is not None else kept_size(previous)
    return LogFacts(tier=job_tier(log.props, previous), size=size)


def _image_packages(blobs: BlobStore, meta: JobMetadata) -> list[str]:
    if meta.dependencies.packages:
        return []
    return image_packages(blobs, meta.dependencies.hash)
