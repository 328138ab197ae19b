"""metadata.json in storage: read with its etag, changed only by conditional writes.

Shared by the producer (which writes a job's metadata) and the query module (which cancels a
job), so neither imports the other. A change is validated as a whole document
(`shared.transitions.validated`) before it is written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import InvalidMetadata, PreconditionFailed
from shared.jobid import JobId, parse_job_id
from shared.layout import metadata_path
from shared.metadata import JobMetadata, dump_metadata, parse_metadata
from shared.ports import BlobStore
from shared.tags import job_blob_tags
from shared.transitions import validated

METADATA_CONTENT_TYPE = "application/json"
UPDATE_ATTEMPTS = 10
MAX_METADATA_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Versioned:
    """A job's metadata and the etag of the metadata.json it was read from or written as."""

    meta: JobMetadata
    etag: str


def read_metadata(
    blobs: BlobStore, job_id: JobId | str, *, max_bytes: int = MAX_METADATA_BYTES
) -> tuple[JobMetadata, str]:
    """The job's validated metadata and the etag it was read at; `BlobNotFound`, or
    `InvalidMetadata` naming the job."""
    job = as_job_id(job_id)
    blob = blobs.read(metadata_path(job), max_bytes=max_bytes)
    return parse_metadata(blob.data, source=f"metadata.json of {job}"), blob.props.etag


def update_metadata(
    blobs: BlobStore,
    job_id: JobId | str,
    change: Callable[[JobMetadata], JobMetadata],
    *,
    attempts: int = UPDATE_ATTEMPTS,
) -> JobMetadata:
    """Read, change, write only if nobody wrote meanwhile; on a lost race re-read and retry."""
    meta, etag = read_metadata(blobs, job_id)
    return update_versioned(blobs, Versioned(meta, etag), change, attempts=attempts).meta


def update_versioned(
    blobs: BlobStore,
    current: Versioned,
    change: Callable[[JobMetadata], JobMetadata],
    *,
    attempts: int = UPDATE_ATTEMPTS,
) -> Versioned:
    """`update_metadata` starting from a version already in hand (no read if nobody else wrote
    since); returns the new version."""
    job = current.meta.parsed_job_id
    for attempt in range(attempts):
        new = validated(change(current.meta))
        if new.job_id != current.meta.job_id:
            raise InvalidMetadata(f"metadata.json of {job}", "an update cannot change job_id")
        try:
            written = blobs.write(
                metadata_path(job),
                dump_metadata(new),
                if_etag=current.etag,
                content_type=METADATA_CONTENT_TYPE,
                tags=job_blob_tags(job, "metadata", retain=new.retain),
            )
            return Versioned(new, written.etag)
        except PreconditionFailed:
            meta, etag = read_metadata(blobs, job)
            if dump_metadata(meta) == dump_metadata(new):
                return Versioned(meta, etag)  # ours landed; only its response was lost
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # let the other writer finish
            current = Versioned(meta, etag)
    raise PreconditionFailed(metadata_path(job), f"changed by others {attempts} times in a row")


def as_job_id(job_id: JobId | str) -> JobId:
    """`job_id` parsed (`InvalidJobId` naming it when it is not one)."""
    return job_id if isinstance(job_id, JobId) else parse_job_id(job_id)
