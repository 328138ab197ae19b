"""A job's artifacts for its owner and admins: list them, and download them streamed, resumable
and checksum-verified (behind `ascend jobs artifacts` and `ascend jobs download`).

A download writes `NAME.partial` and renames it to `NAME` only when the bytes hash to the blob's
Content-MD5 and to metadata.json's sha256. An interrupted download resumes from the partial
file's length; a file already there with the right MD5 is not read again.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from query.jobs import visible_job
from shared.errors import InvalidInput, JobNotFound, StorageError
from shared.jobid import JobId
from shared.layout import artifacts_prefix, metadata_path
from shared.metadata import parse_metadata
from shared.ports import BlobStore
from shared.principal import Principal

ARCHIVE = "Archive"
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class ArtifactFile:
    """One stored artifact: its name under `artifacts/`, the blob, and what verifies it."""

    name: str
    blob: str
    size: int
    tier: str | None
    last_modified: datetime
    content_md5: bytes | None
    sha256: str | None

    @property
    def archived(self) -> bool:
        return self.tier == ARCHIVE

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "blob": self.blob,
            "size_bytes": self.size,
            "tier": self.tier,
            "last_modified": self.last_modified.isoformat(),
            "sha256": self.sha256,
            "content_md5": base64.b64encode(self.content_md5).decode()
            if self.content_md5
            else None,
        }


def list_artifacts(blobs: BlobStore, principal: Principal, job_id: str) -> list[ArtifactFile]:
    """The job's artifacts, by name; `JobNotFound` if the principal may not see the job or it
    does not exist."""
    job = visible_job(principal, job_id)
    prefix = artifacts_prefix(job)
    sha256s = _sha256s(blobs, job)
    files = [
        ArtifactFile(
            props.name[len(prefix) :],
            props.name,
            props.size,
            props.tier,
            props.last_modified,
            props.content_md5,
            sha256s.get(props.name[len(prefix) :]),
        )
        for props in blobs.list(prefix)
    ]
    if not files and blobs.props(metadata_path(job)) is None:
        raise JobNotFound(str(job))
    return sorted(files, key=lambda f: f.name)


def choose(files: list[ArtifactFile], names: Iterable[str]) -> list[ArtifactFile]:
    """The files named (all when none are), or `InvalidInput` naming an unknown one."""
    wanted = list(names)
    if not wanted:
        return files
    by_name = {f.name: f for f in files}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise InvalidInput(
            f"artifact {missing[0]!r}",
            "the job has no artifact by that name (`ascend jobs artifacts JOB_ID` lists them)",
        )
    return [by_name[n] for n in dict.fromkeys(wanted)]


def download(
    blobs: BlobStore,
    artifact: ArtifactFile,
    destination: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> str:
    """Stream one artifact into `destination/NAME`; returns `downloaded`, `resumed` or
    `up to date`. `progress` gets each chunk's byte count (resumed bytes included)."""
    target = _target(destination, artifact)
    if target.is_file() and target.stat().st_size == artifact.size and _matches(target, artifact):
        progress(artifact.size)
        return "up to date"
    if artifact.archived:
        raise StorageError(
            artifact.blob,
            "is in the Archive tier: an admin rehydrates it "
            "(`ascend admin export QUERY DIR --rehydrate`), then download again",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    have = partial.stat().st_size if partial.is_file() else 0
    if have > artifact.size:
        partial.unlink()
        have = 0
    md5, sha = _hash_file(partial) if have else (hashlib.md5(), hashlib.sha256())  # noqa: S324
    progress(have)
    with partial.open("ab") as out:
        for chunk in blobs.read_chunks(artifact.blob, offset=have) if have < artifact.size else ():
            out.write(chunk)
            md5.update(chunk)
            sha.update(chunk)
            progress(len(chunk))
    problem = _problem(artifact, md5.digest(), sha.hexdigest())
    if problem:
        partial.unlink(missing_ok=True)
        raise StorageError(artifact.blob, f"{problem}; the partial file was removed, run again")
    os.replace(partial, target)
    return "resumed" if have else "downloaded"


def _target(destination: Path, artifact: ArtifactFile) -> Path:
    parts = artifact.name.split("/")
    if any(p in {"", ".", ".."} for p in parts) or "\\" in artifact.name:
        raise StorageError(artifact.blob, "has an empty, '.' or '..' path segment: not written")
    return destination.joinpath(*parts)


def _sha256s(blobs: BlobStore, job: JobId) -> dict[str, str]:
    try:
        meta = parse_metadata(blobs.read(metadata_path(job), max_bytes=4 << 20).data)
    except (InvalidInput, StorageError):
        return {}
    return {a.name: a.sha256 for a in meta.artifacts if a.sha256}


def _hash_file(path: Path) -> tuple[Any, Any]:
    md5, sha = hashlib.md5(), hashlib.sha256()  # noqa: S324 - Azure's Content-MD5
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            md5.update(block)
            sha.update(block)
    return md5, sha


def _matches(path: Path, artifact: ArtifactFile) -> bool:
    md5, sha = _hash_file(path)
    return _problem(artifact, md5.digest(), sha.hexdigest()) is None and bool(
        artifact.content_md5 or artifact.sha256
    )


def _problem(artifact: ArtifactFile, md5: bytes, sha256: str) -> str | None:
    if artifact.content_md5 and artifact.content_md5 != md5:
        return "MD5 of the bytes read does not match the blob's Content-MD5"
    if artifact.sha256 and artifact.sha256 != sha256:
        return "sha256 of the bytes read does not match metadata.json's"
    return None
