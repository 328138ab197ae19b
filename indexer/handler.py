"""The one entry point for blob events, shared by the Event Grid function, `ascend pipeline run`
and reconcile: route by what the blob is, return an outcome value.

Contract with the callers: a `TransientError` that outlived the adapter's retries is raised (so
Event Grid retries the event and finally dead-letters it); every other failure is an outcome.
Invalid inputs are recorded under `_ascend/rejected/` and the blob itself is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from indexer.events import BlobEvent
from indexer.images import record_image
from indexer.job import index_job
from indexer.outcomes import Indexed, Outcome, Rejected, Removed, Skipped
from indexer.rejected import record_rejection
from indexer.retag import retag_blob
from shared.clock import Clock
from shared.documents import SearchDocument
from shared.errors import AscendError, BlobNotFound, InvalidBlobPath, TransientError
from shared.gunzip import written_by_pipeline
from shared.layout import PROJECTS, BlobKind, BlobRef, parse_blob_name
from shared.metadata import FINAL_STATUSES
from shared.ports import BlobStore, SearchIndex
from shared.settings import Settings

log = logging.getLogger("ascend.indexer")


@dataclass(frozen=True, slots=True)
class _Ports:
    """The ports `handle` was given, passed along its private steps."""

    blobs: BlobStore
    index: SearchIndex
    clock: Clock
    settings: Settings


_FINAL = frozenset(s.value for s in FINAL_STATUSES)


def handle(
    event: BlobEvent, blobs: BlobStore, index: SearchIndex, clock: Clock, settings: Settings
) -> Outcome:
    """Handle one blob event with these ports (`settings`: our container, the metadata size
    limit, node prices); raises only `TransientError`."""
    ports = _Ports(blobs, index, clock, settings)
    try:
        outcome = _route(event, ports)
    except TransientError:
        raise
    except AscendError as exc:
        outcome = _reject(ports, event, str(exc))
    except Exception as exc:
        log.exception("unexpected failure on %s", event.blob)
        outcome = _reject(ports, event, f"internal error: {type(exc).__name__}: {exc}")
    log.info(
        "%s %s%s",
        outcome.kind,
        event.blob,
        f": {outcome.reason}" if isinstance(outcome, Skipped | Rejected) else "",
    )
    return outcome


def _reject(ports: _Ports, event: BlobEvent, reason: str) -> Rejected:
    """Record the rejection (once per blob version) and return it as an outcome."""
    record_rejection(
        ports.blobs,
        blob=event.blob,
        reason=reason,
        event_id=event.event_id,
        at=ports.clock.now(),
        etag=event.etag,
    )
    return Rejected(event.blob, reason)


def _route(event: BlobEvent, ports: _Ports) -> Outcome:
    if not (event.is_created or event.is_deleted):
        return Skipped(event.blob, f"event type {event.event_type!r} is not handled")
    if event.container != ports.settings.container:
        return Skipped(event.blob, f"container {event.container!r} is not ours")
    ref = _parse(event, ports)
    if not isinstance(ref, BlobRef):
        return ref
    gzip_log = ref.kind is BlobKind.ARCHIVED_LOG and event.is_created  # checked, not trusted
    if ref.is_pipeline_output and not gzip_log:
        return Skipped(event.blob, "written by the pipeline itself")
    if event.is_deleted:
        return _on_deleted(ref, ports)
    return _on_created(ref, event, ports)


def _parse(event: BlobEvent, ports: _Ports) -> BlobRef | Outcome:
    """What the blob is; outside the layout it is rejected under projects/, skipped elsewhere."""
    try:
        return parse_blob_name(event.blob)
    except InvalidBlobPath as exc:
        if event.is_created and event.blob.startswith(f"{PROJECTS}/"):
            return _reject(ports, event, str(exc))
        return Skipped(event.blob, str(exc))


def _on_gzip_log(ref: BlobRef, event: BlobEvent, ports: _Ports) -> Outcome:
    """The lifecycle's `.gz` of a log is its own output; a `.gz` anyone else wrote is refused
    (readers will not inflate it: it may be a gzip bomb)."""
    props = ports.blobs.props(ref.name)
    if props is None:
        return Skipped(ref.name, "gone before it was handled")
    if written_by_pipeline(props):
        return Skipped(ref.name, "written by the pipeline itself")
    return _reject(
        ports,
        event,
        f"{ref.name}: a .gz log the pipeline did not write "
        "(no source_etag, or not Content-Encoding gzip): never read",
    )


def _on_created(ref: BlobRef, event: BlobEvent, ports: _Ports) -> Outcome:
    if ref.kind is BlobKind.METADATA and ref.job_id is not None:
        return index_job(
            ports.blobs,
            ports.index,
            ports.settings,
            ref.job_id,
            sequencer=event.sequencer,
            event_etag=event.etag,
            event_size=event.content_length,
            recheck=event.recheck,
        )
    if ref.kind is BlobKind.LOG and ref.job_id is not None:
        return _on_log(ref, ports)
    if ref.kind is BlobKind.ARCHIVED_LOG:
        return _on_gzip_log(ref, event, ports)
    if ref.kind is BlobKind.REQUIREMENTS:
        recorded = record_image(ports.blobs, ref)
        return Indexed(ref.name) if recorded else Skipped(ref.name, "image already recorded")
    what = f"{ref.kind.value}: nothing to index (described by metadata.json)"
    if ref.job_id is not None and _tag_job_blob(ref, ports.index.get(str(ref.job_id)), ports):
        what = f"{ref.kind.value}: tagged; nothing else to index (described by metadata.json)"
    return Skipped(ref.name, what)


def _on_log(ref: BlobRef, ports: _Ports) -> Outcome:
    """A log written (or rewritten) after its job became final refreshes the by-date copy."""
    if ref.job_id is None:
        raise InvalidBlobPath(ref.name, "is a log outside a job folder")
    doc = ports.index.get(str(ref.job_id))
    _tag_job_blob(ref, doc, ports)
    if doc is None or doc.get("status") not in _FINAL:
        return Skipped(ref.name, "log: read when its job's metadata says it is final")
    return index_job(ports.blobs, ports.index, ports.settings, ref.job_id)


def _tag_job_blob(ref: BlobRef, doc: SearchDocument | None, ports: _Ports) -> bool:
    """A blob of an indexed job, written after its first index, gets the job's tags once, when
    its event arrives (one Get Blob Tags, and a Set Blob Tags if they are missing). A job not yet
    indexed is tagged by its first index, which lists its folder when its writer does not tag."""
    if doc is None:
        return False
    try:
        current = ports.blobs.get_tags(ref.name)
    except BlobNotFound:
        return False
    return retag_blob(ports.blobs, ref.name, current, bool(doc.get("retain")))


def _on_deleted(ref: BlobRef, ports: _Ports) -> Outcome:
    if ref.kind is not BlobKind.METADATA or ref.job_id is None:
        return Skipped(ref.name, f"deleted {ref.kind.value}: nothing to do")
    if ports.blobs.props(ref.name) is not None:
        return Skipped(ref.name, "metadata.json exists again: the delete event is stale")
    ports.index.delete([str(ref.job_id)])
    return Removed(ref.name, str(ref.job_id))
