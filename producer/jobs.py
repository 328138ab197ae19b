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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from producer.images import write_image_files
from shared.clock import Clock, SystemClock
from shared.errors import BlobExists, InvalidMetadata
from shared.jobid import DependencySet, JobId, compute_run_hash, make_job_id
from shared.layout import artifact_path, metadata_path, package_path, result_path
from shared.metadata import (
    Artifact,
    JobMetadata,
    JobStatus,
    describe_validation_error,
    dump_metadata,
)
from shared.metadata_store import (
    MAX_METADATA_BYTES,
    METADATA_CONTENT_TYPE,
    UPDATE_ATTEMPTS,
    Versioned,
    as_job_id,
    read_metadata,
    update_metadata,
    update_versioned,
)
from shared.ports import BlobProps, BlobStore
from shared.tags import job_blob_tags
from shared.transitions import transition, with_artifacts

BINARY_CONTENT_TYPE = "application/octet-stream"

# The job's own writes, and (from shared.metadata_store) how its metadata.json is read and
# changed, which the query module shares.
__all__ = [
    "BINARY_CONTENT_TYPE",
    "MAX_METADATA_BYTES",
    "METADATA_CONTENT_TYPE",
    "UPDATE_ATTEMPTS",
    "Versioned",
    "content_type_of",
    "create_job",
    "new_metadata",
    "read_metadata",
    "set_status",
    "start_job",
    "store_artifact",
    "update_metadata",
    "update_versioned",
    "upload_artifact",
    "write_result",
]


def start_job(
    blobs: BlobStore,
    *,
    user: str,
    project: str | None,
    function_name: str,
    args_hash: str,
    dependencies: DependencySet,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    package: bytes | None = None,
    nonce: str | None = None,
) -> JobMetadata:
    """Create a queued job: metadata.json (create-only), package.pkl, and the image files of its
    dependency set unless they already exist."""
    return create_job(
        blobs,
        user=user,
        project=project,
        function_name=function_name,
        args_hash=args_hash,
        dependencies=dependencies,
        config=config,
        tags=tags,
        clock=clock,
        package=package,
        nonce=nonce,
    ).meta


def create_job(
    blobs: BlobStore,
    *,
    user: str,
    project: str | None,
    function_name: str,
    args_hash: str,
    dependencies: DependencySet,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    package: bytes | None = None,
    nonce: str | None = None,
) -> Versioned:
    """`start_job`, also returning the etag of the metadata.json it created."""
    meta = new_metadata(
        user=user,
        project=project,
        function_name=function_name,
        args_hash=args_hash,
        dependencies=dependencies,
        config=config,
        tags=tags,
        now=(clock or SystemClock()).now(),
        nonce=nonce,
    )
    job = meta.parsed_job_id
    document = dump_metadata(meta)
    try:
        etag = blobs.write(
            metadata_path(job),
            document,
            create_only=True,
            content_type=METADATA_CONTENT_TYPE,
            tags=job_blob_tags(job, "metadata", retain=meta.retain),
        ).etag
    except BlobExists:
        etag = _own_write(blobs, job, document)
    payload = (
        package
        if package is not None
        else pickle.dumps({"function_name": function_name, "args_hash": args_hash})
    )
    blobs.write(
        package_path(job),
        payload,
        content_type=BINARY_CONTENT_TYPE,
        tags=job_blob_tags(job, "package", retain=meta.retain),
    )
    write_image_files(blobs, job, dependencies)
    return Versioned(meta, etag)


def _own_write(blobs: BlobStore, job: JobId, document: bytes) -> str:
    """The etag of metadata.json if it holds exactly `document` (our own write, whose response
    was lost and whose retry then found it); otherwise the job ID is taken: `BlobExists`."""
    stored = blobs.read(metadata_path(job), max_bytes=MAX_METADATA_BYTES)
    if stored.data != document:
        raise BlobExists(metadata_path(job), "already exists (another job has this job ID)")
    return stored.props.etag


def new_metadata(
    *,
    user: str,
    project: str | None,
    function_name: str,
    args_hash: str,
    dependencies: DependencySet,
    config: Mapping[str, Any] | None,
    tags: Mapping[str, str] | None,
    now: Any,
    nonce: str | None = None,
) -> JobMetadata:
    """The metadata of a new queued job (pure): a fresh job ID and the validated document."""
    hash12 = dependencies.calculate_hash()
    job = make_job_id(
        user=user,
        project=project,
        dependency_hash=hash12,
        created_at=now,
        run_hash=compute_run_hash(function_name, args_hash, nonce),
    )
    document = {
        "job_id": str(job),
        "created_at": job.created_at,
        "updated_at": job.created_at,
        "status": JobStatus.QUEUED,
        "user": job.user,
        "project": job.project,
        "function_name": function_name,
        "config": dict(config or {}),
        "dependencies": {
            "hash": hash12,
            "python_version": dependencies.python_version,
            "packages": list(dependencies.packages),
            "system_packages": list(dependencies.system_packages),
            "use_gpu": dependencies.use_gpu,
        },
        "tags": dict(tags or {}),
    }
    try:
        return JobMetadata.model_validate(document)
    except ValidationError as exc:
        raise InvalidMetadata(f"metadata.json of {job}", describe_validation_error(exc)) from None


def set_status(
    blobs: BlobStore,
    job_id: JobId | str,
    status: JobStatus | str,
    clock: Clock | None = None,
    **execution_fields: Any,
) -> JobMetadata:
    """Move the job to `status` (refusing transitions `ALLOWED_TRANSITIONS` does not allow)."""
    now = (clock or SystemClock()).now()
    return update_metadata(blobs, job_id, lambda m: transition(m, status, now, **execution_fields))


def store_artifact(
    blobs: BlobStore,
    job_id: JobId | str,
    name: str,
    data: bytes | Iterable[bytes],
    artifact_type: str,
    *,
    retain: bool,
    clock: Clock | None = None,
) -> Artifact:
    """Upload `artifacts/{name}` (streamed if `data` is chunks); its size and SHA-256 entry."""
    job = as_job_id(job_id)
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
    blobs.write(
        artifact_path(job, name),
        body,
        content_type=content_type_of(name),
        tags=job_blob_tags(job, "artifact", retain=retain),
    )
    return Artifact(
        name=name,
        type=artifact_type,
        size_bytes=size[0],
        created_at=(clock or SystemClock()).now(),
        sha256=digest.hexdigest(),
    )


def upload_artifact(
    blobs: BlobStore,
    job_id: JobId | str,
    name: str,
    data: bytes | Iterable[bytes],
    artifact_type: str,
    *,
    clock: Clock | None = None,
) -> JobMetadata:
    """Store an artifact and record it (name, type, size, sha256) in metadata.artifacts."""
    meta, _ = read_metadata(blobs, job_id)
    artifact = store_artifact(
        blobs, job_id, name, data, artifact_type, retain=meta.retain, clock=clock
    )
    when = artifact.created_at or meta.updated_at
    return update_metadata(blobs, job_id, lambda m: with_artifacts(m, [artifact], when))


def write_result(
    blobs: BlobStore,
    job_id: JobId | str,
    data: bytes | Iterable[bytes],
    *,
    retain: bool | None = None,
) -> BlobProps:
    """Store the job's `result.pkl` (the pickled return value)."""
    job = as_job_id(job_id)
    keep = read_metadata(blobs, job)[0].retain if retain is None else retain
    return blobs.write(
        result_path(job),
        data,
        content_type=BINARY_CONTENT_TYPE,
        tags=job_blob_tags(job, "result", retain=keep),
    )


def content_type_of(name: str) -> str:
    """The content type of an artifact file, by its extension."""
    if name.endswith((".jsonl", ".ndjson")):
        return "application/x-ndjson"
    return mimetypes.guess_type(name)[0] or BINARY_CONTENT_TYPE
