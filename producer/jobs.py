"""What an Ascend job uses to write into the storage layout: its folder, metadata, status,
artifacts and result (the log goes through `producer.streamer.LogStreamer`).

Every blob of a job carries `shared.tags.job_blob_tags` (a write clears tags, so each write sends
them again). `metadata.json` is created with `create_only` and changed only by read, change,
write-if-unchanged (`update_metadata`), so two writers never lose each other's updates.
"""

from __future__ import annotations

import hashlib
import mimetypes
import pickle
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from producer.images import write_image_files
from producer.transitions import transition, validated, with_artifacts
from shared.clock import Clock, SystemClock
from shared.errors import BlobExists, InvalidMetadata, PreconditionFailed
from shared.jobid import DependencySet, JobId, compute_run_hash, make_job_id, parse_job_id
from shared.layout import artifact_path, metadata_path, package_path, result_path
from shared.metadata import (
    Artifact,
    JobMetadata,
    JobStatus,
    describe_validation_error,
    dump_metadata,
    parse_metadata,
)
from shared.ports import BlobProps, BlobStore
from shared.tags import job_blob_tags

METADATA_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "application/octet-stream"
UPDATE_ATTEMPTS = 10
MAX_METADATA_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Versioned:
    """A job's metadata and the etag of the metadata.json it was read from or written as."""

    meta: JobMetadata
    etag: str


def start_job(blobs: BlobStore, *, user: str, project: str | None, function_name: str,
              args_hash: str, dependencies: DependencySet, config: Mapping[str, Any] | None = None,
              tags: Mapping[str, str] | None = None, clock: Clock | None = None,
              package: bytes | None = None, nonce: str | None = None) -> JobMetadata:
    """Create a queued job: metadata.json (create-only), package.pkl, and the image files of its
    dependency set unless they already exist."""
    return create_job(blobs, user=user, project=project, function_name=function_name,
                      args_hash=args_hash, dependencies=dependencies, config=config, tags=tags,
                      clock=clock, package=package, nonce=nonce).meta


def create_job(blobs: BlobStore, *, user: str, project: str | None, function_name: str,
               args_hash: str, dependencies: DependencySet,
               config: Mapping[str, Any] | None = None, tags: Mapping[str, str] | None = None,
               clock: Clock | None = None, package: bytes | None = None,
               nonce: str | None = None) -> Versioned:
    """`start_job`, also returning the etag of the metadata.json it created."""
    meta = new_metadata(user=user, project=project, function_name=function_name,
                        args_hash=args_hash, dependencies=dependencies, config=config, tags=tags,
                        now=(clock or SystemClock()).now(), nonce=nonce)
    job = meta.parsed_job_id
    document = dump_metadata(meta)
    try:
        etag = blobs.write(metadata_path(job), document, create_only=True,
                           content_type=METADATA_CONTENT_TYPE,
                           tags=job_blob_tags(job, "metadata", retain=meta.retain)).etag
    except BlobExists:
        etag = _own_write(blobs, job, document)
    payload = package if package is not None else pickle.dumps(
        {"function_name": function_name, "args_hash": args_hash})
    blobs.write(package_path(job), payload, content_type=BINARY_CONTENT_TYPE,
                tags=job_blob_tags(job, "package", retain=meta.retain))
    write_image_files(blobs, job, dependencies)
    return Versioned(meta, etag)


def _own_write(blobs: BlobStore, job: JobId, document: bytes) -> str:
    """The etag of metadata.json if it holds exactly `document` (our own write, whose response
    was lost and whose retry then found it); otherwise the job ID is taken: `BlobExists`."""
    stored = blobs.read(metadata_path(job), max_bytes=MAX_METADATA_BYTES)
    if stored.data != document:
        raise BlobExists(metadata_path(job), "already exists (another job has this job ID)")
    return stored.props.etag


def new_metadata(*, user: str, project: str | None, function_name: str, args_hash: str,
                 dependencies: DependencySet, config: Mapping[str, Any] | None,
                 tags: Mapping[str, str] | None, now: Any, nonce: str | None = None
                 ) -> JobMetadata:
    """The metadata of a new queued job (pure): a fresh job ID and the validated document."""
    hash12 = dependencies.calculate_hash()
    job = make_job_id(user=user, project=project, dependency_hash=hash12, created_at=now,
                      run_hash=compute_run_hash(function_name, args_hash, nonce))
    document = {
        "job_id": str(job), "created_at": job.created_at, "updated_at": job.created_at,
        "status": JobStatus.QUEUED, "user": job.user, "project": job.project,
        "function_name": function_name, "config": dict(config or {}),
        "dependencies": {"hash": hash12, "python_version": dependencies.python_version,
                         "packages": list(dependencies.packages),
                         "system_packages": list(dependencies.system_packages),
                         "use_gpu": dependencies.use_gpu},
        "tags": dict(tags or {}),
    }
    try:
        return JobMetadata.model_validate(document)
    except ValidationError as exc:
        raise InvalidMetadata(f"metadata.json of {job}", describe_validation_error(exc)) from None


def read_metadata(blobs: BlobStore, job_id: JobId | str) -> tuple[JobMetadata, str]:
    """The job's metadata and the etag it was read at."""
    job = _job(job_id)
    blob = blobs.read(metadata_path(job), max_bytes=MAX_METADATA_BYTES)
    return parse_metadata(blob.data, source=f"metadata.json of {job}"), blob.props.etag


def update_metadata(blobs: BlobStore, job_id: JobId | str,
                    change: Callable[[JobMetadata], JobMetadata],
                    *, attempts: int = UPDATE_ATTEMPTS) -> JobMetadata:
    """Read, change, write only if nobody wrote meanwhile; on a lost race re-read and retry."""
    meta, etag = read_metadata(blobs, job_id)
    return update_versioned(blobs, Versioned(meta, etag), change, attempts=attempts).meta


def update_versioned(blobs: BlobStore, current: Versioned,
                     change: Callable[[JobMetadata], JobMetadata],
                     *, attempts: int = UPDATE_ATTEMPTS) -> Versioned:
    """`update_metadata` starting from a version already in hand (no read if nobody else wrote
    since); returns the new version."""
    job = current.meta.parsed_job_id
    for attempt in range(attempts):
        new = validated(change(current.meta))
        if new.job_id != current.meta.job_id:
            raise InvalidMetadata(f"metadata.json of {job}", "an update cannot change job_id")
        try:
            written = blobs.write(metadata_path(job), dump_metadata(new), if_etag=current.etag,
                                  content_type=METADATA_CONTENT_TYPE,
                                  tags=job_blob_tags(job, "metadata", retain=new.retain))
            return Versioned(new, written.etag)
        except PreconditionFailed:
            meta, etag = read_metadata(blobs, job)
            if dump_metadata(meta) == dump_metadata(new):
                return Versioned(meta, etag)  # ours landed; only its response was lost
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # let the other writer finish
            current = Versioned(meta, etag)
    raise PreconditionFailed(metadata_path(job), f"changed by others {attempts} times in a row")


def set_status(blobs: BlobStore, job_id: JobId | str, status: JobStatus | str,
               clock: Clock | None = None, **execution_fields: Any) -> JobMetadata:
    """Move the job to `status` (refusing transitions the design does not allow)."""
    now = (clock or SystemClock()).now()
    return update_metadata(blobs, job_id, lambda m: transition(m, status, now, **execution_fields))


def store_artifact(blobs: BlobStore, job_id: JobId | str, name: str,
                   data: bytes | Iterable[bytes], artifact_type: str, *, retain: bool,
                   clock: Clock | None = None) -> Artifact:
    """Upload `artifacts/{name}` (streamed if `data` is chunks); its size and SHA-256 entry."""
    job = _job(job_id)
    digest, size = hashlib.sha256(), [0]

    def counted(chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            digest.update(chunk)
            size[0] += len(chunk)
            yield chunk

    body = bytes(data) if isinstance(data, bytes | bytearray) else counted(data)
    if isinstance(body, bytes):
        digest.update(body)
        size[0] = len(body)
    blobs.write(artifact_path(job, name), body, content_type=content_type_of(name),
                tags=job_blob_tags(job, "artifact", retain=retain))
    return Artifact(name=name, type=artifact_type, size_bytes=size[0],
                    created_at=(clock or SystemClock()).now(), sha256=digest.hexdigest())


def upload_artifact(blobs: BlobStore, job_id: JobId | str, name: str,
                    data: bytes | Iterable[bytes], artifact_type: str, *,
                    clock: Clock | None = None) -> JobMetadata:
    """Store an artifact and record it (name, type, size, sha256) in metadata.artifacts."""
    meta, _ = read_metadata(blobs, job_id)
    artifact = store_artifact(blobs, job_id, name, data, artifact_type, retain=meta.retain,
                              clock=clock)
    when = artifact.created_at or meta.updated_at
    return update_metadata(blobs, job_id, lambda m: with_artifacts(m, [artifact], when))


def write_result(blobs: BlobStore, job_id: JobId | str, data: bytes | Iterable[bytes], *,
                 retain: bool | None = None) -> BlobProps:
    """Store the job's `result.pkl` (the pickled return value)."""
    job = _job(job_id)
    keep = read_metadata(blobs, job)[0].retain if retain is None else retain
    return blobs.write(result_path(job), data, content_type=BINARY_CONTENT_TYPE,
                       tags=job_blob_tags(job, "result", retain=keep))


def content_type_of(name: str) -> str:
    """The content type of an artifact file, by its extension."""
    if name.endswith((".jsonl", ".ndjson")):
        return "application/x-ndjson"
    return mimetypes.guess_type(name)[0] or BINARY_CONTENT_TYPE


def _job(job_id: JobId | str) -> JobId:
    return job_id if isinstance(job_id, JobId) else parse_job_id(job_id)
