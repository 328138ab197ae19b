"""Test data and doubles for the lifecycle tests: seeded jobs, and a store that dies after k writes.

`seed_job` writes a job the way Ascend does (metadata.json, package.pkl, result.pkl, artifacts,
the log as an append blob, the indexer's by-date copy as a block blob, every blob tagged) and puts
its search document into the index, so the sweep sees exactly what it sees in production.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.documents import SearchDocument, as_document, empty_document, format_datetime
from shared.jobid import JobId, make_job_id
from shared.layout import (
    artifact_path,
    by_date_log_path,
    log_path,
    metadata_path,
    package_path,
    result_path,
)
from shared.metadata import JobMetadata, dump_metadata
from shared.ports import BlobStore
from shared.tags import job_blob_tags
from tests.support.builders import log_lines

DEP_HASH = "a3f5d2c8e9b1"
ARTIFACT_BYTES = b"x" * 64
ARTIFACT_SHA256 = hashlib.sha256(ARTIFACT_BYTES).hexdigest()
_runs = itertools.count(1)


def seed_job(
    blobs: BlobStore,
    index: Any,
    created_at: datetime,
    *,
    user: str = "alice",
    project: str = "vision",
    retain: bool = False,
    artifacts: Iterable[tuple[str, str]] = (("model.pkl", "model"), ("plot.png", "plot")),
    lines: int = 30,
    tagged: bool = True,
) -> JobId:
    """Write one finished job and its document; returns its ID. `tagged=False`: no blob of the
    job carries index tags (another writer's job, not yet tagged by the indexer)."""
    job = make_job_id(
        user=user,
        project=project,
        dependency_hash=DEP_HASH,
        run_hash=f"{next(_runs):08x}",
        created_at=created_at,
    )
    artifacts = list(artifacts)
    meta = JobMetadata.model_validate(
        {
            "job_id": str(job),
            "created_at": created_at,
            "updated_at": created_at,
            "status": "completed",
            "user": user,
            "project": project,
            "function_name": "train",
            "dependencies": {
                "hash": DEP_HASH,
                "python_version": "3.11",
                "packages": ["torch==2.0.0"],
            },
            "artifacts": [
                {"name": n, "type": t, "size_bytes": 64, "sha256": ARTIFACT_SHA256}
                for n, t in artifacts
            ],
            "tags": {"retain": "true"} if retain else {"experiment": "baseline"},
        }
    )

    def tags(kind: str) -> dict[str, str] | None:
        return job_blob_tags(job, kind, retain=retain) if tagged else None

    blobs.write(
        metadata_path(job),
        dump_metadata(meta),
        tags=tags("metadata"),
        content_type="application/json",
    )
    blobs.write(package_path(job), b"package-bytes", tags=tags("package"))
    blobs.write(result_path(job), b"result-bytes", tags=tags("result"))
    for name, _ in artifacts:
        blobs.write(artifact_path(job, name), ARTIFACT_BYTES, tags=tags("artifact"))
    blobs.create_append(log_path(job), tags=tags("log"), content_type="application/x-ndjson")
    blobs.append(log_path(job), log_lines(job, ["INFO"] * lines))
    blobs.write(by_date_log_path(job), log_lines(job, ["INFO"] * lines), tags=tags("by_date_log"))
    index.upsert([document(job, retain=retain, artifacts=[n for n, _ in artifacts])])
    return job


def document(job: JobId, *, retain: bool, artifacts: list[str]) -> SearchDocument:
    """The search document of a seeded job (the fields the lifecycle reads, and a few more)."""
    doc: dict[str, Any] = dict(empty_document(str(job)))
    created = format_datetime(job.created_at)
    doc.update(
        created_at=created,
        updated_at=created,
        status="completed",
        user=job.user,
        project=job.project,
        function_name="train",
        dep_hash=job.dep_hash,
        image_hash=DEP_HASH,
        retain=retain,
        artifact_names=artifacts,
        source_version="1",
    )
    return as_document(doc)


class Killed(BaseException):
    """The process died (not an error anyone handles): raised by `DyingBlobStore`."""


class DyingBlobStore:
    """A real store that 'dies' (raises `Killed`) on the (k+1)-th change it is asked to make."""

    CHANGES = frozenset({"set_tier", "delete", "write", "append", "create_append", "set_tags"})

    def __init__(self, inner: BlobStore, changes_allowed: int) -> None:
        self.inner = inner
        self.left = changes_allowed

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in self.CHANGES:
            return attribute

        def change(*args: Any, **kwargs: Any) -> Any:
            if self.left <= 0 and not _is_audit(args):
                raise Killed(f"killed before {name}{args[:1]}")
            if not _is_audit(args):
                self.left -= 1
            return attribute(*args, **kwargs)

        return change


def _is_audit(args: tuple[Any, ...]) -> bool:
    return bool(args) and str(args[0]).startswith("_ascend/audit/")
