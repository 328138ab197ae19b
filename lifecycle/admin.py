"""Admin bulk operations over a query's jobs: delete them, or export their files.

Both take the documents the query module found (`query.iter_all`, already scoped to what the
principal may see) and act only on jobs of projects the principal administers (`admin`, or
`admin:P` for project P). `retain=true` jobs are left alone unless `include_retained`. Work runs on
a bounded thread pool; every blob deleted or exported is audited, and one job's failure never
stops the others.

- delete: every blob of the job folder and its by-date copies (unless retained jobs are included,
  guarded by `"retain" <> 'true'`, or for a blob without the tag by metadata.json's etag:
  `lifecycle.guarded_delete`), metadata.json last, then the search document.
- export: every blob of the job folder into `DEST/{job_id}/...`, streamed to a temporary file,
  checked against the blob's Content-MD5 and, for artifacts, the sha256 in metadata.json, then
  renamed into place. Archived blobs are reported, not rehydrated.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.audit import AuditLog, AuditRecord, now_text
from lifecycle.guarded_delete import delete_unless_retained
from lifecycle.outcome import DONE, Outcome, OutcomeKind
from shared.documents import SearchDocument
from shared.errors import (
    AccessDenied,
    AscendError,
    BlobArchived,
    BlobNotFound,
    InvalidInput,
    PreconditionFailed,
    StorageError,
)
from shared.jobid import JobId, parse_job_id
from shared.layout import METADATA_FILE, by_date_log_path, job_prefix, metadata_path
from shared.metadata import parse_metadata
from shared.ports import BlobProps, BlobStore, SearchIndex
from shared.principal import Principal
from shared.tags import RETAIN
from shared.tiers import Tier

METADATA_READ_LIMIT = 4 << 20  # bytes of metadata.json read at most (it is a few KiB)
ARCHIVED_NAMES_SHOWN = 3  # archived blob names an export outcome lists before "..."


@dataclass(frozen=True, slots=True)
class Selected:
    """A job the query found, and whether the bulk operation will act on it (and why not)."""

    job_id: str
    project: str
    retain: bool
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What happened to one job, and the blobs acted on (None: not counted, as in a dry run or
    a skip)."""

    job_id: str
    result: Outcome
    blobs: int | None = None

    @property
    def outcome(self) -> str:
        """As `--json` and the CLI print it: `done`, `skipped: ...`, `failed: ...`."""
        return str(self.result)

    def as_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "outcome": self.outcome, "blobs": self.blobs}


def select_jobs(
    documents: Iterable[SearchDocument], who: Principal, *, include_retained: bool
) -> Iterator[Selected]:
    """Each matched job with the reason it is skipped, if it is."""
    if not who.is_any_admin:
        raise AccessDenied(
            f"{who.user} may not run bulk operations: needs role admin or admin:PROJECT"
        )
    for doc in documents:
        project, retain = str(doc.get("project")), bool(doc.get("retain"))
        reason = None
        if not who.can_administer(project):
            reason = f"not an admin of project {project!r}"
        elif retain and not include_retained:
            reason = "retain=true (use --include-retained)"
        yield Selected(doc["job_id"], project, retain, reason)


@dataclass(frozen=True, slots=True)
class BulkRunner:
    """Runs one job operation over many jobs on a bounded pool, auditing as it goes."""

    blobs: BlobStore
    audit: AuditLog
    who: Principal
    workers: int = 8

    def run(
        self,
        jobs: Iterable[Selected],
        operation: Callable[[Selected], JobOutcome],
        progress: Callable[[JobOutcome], None] = lambda _: None,
    ) -> list[JobOutcome]:
        def safe(job: Selected) -> JobOutcome:
            try:
                return operation(job)
            except AscendError as exc:
                return JobOutcome(job.job_id, Outcome(OutcomeKind.FAILED, str(exc)))
            finally:
                self.audit.flush()

        outcomes = []
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            for outcome in pool.map(safe, jobs):
                outcomes.append(outcome)
                progress(outcome)
        return outcomes

    def record(self, action: str, blob: str, job_id: str, outcome: Outcome, reason: str) -> None:
        self.audit.record(
            AuditRecord(
                at=now_text(),
                who=self.who.user,
                action=action,
                blob=blob,
                job_id=job_id,
                tier=None,
                outcome=str(outcome),
                reason=reason,
            )
        )


def delete_job(runner: BulkRunner, index: SearchIndex, job: Selected, *, query: str) -> JobOutcome:
    """Delete every blob of the job (metadata.json last), then its document. A blob without a
    `retain` tag is judged by metadata.json, read here and re-checked before each delete."""
    parsed = parse_job_id(job.job_id)
    listed = sorted(_job_blobs(runner.blobs, parsed), key=lambda p: p.name.endswith(METADATA_FILE))
    metadata = metadata_path(parsed)
    metadata_etag, retained = _judged_by_metadata(runner.blobs, metadata, listed)
    if retained and not job.retain:
        skipped = Outcome(OutcomeKind.SKIPPED, "retain=true")
        runner.record("delete", metadata, job.job_id, skipped, query)
        return JobOutcome(
            job.job_id, Outcome(OutcomeKind.SKIPPED, "retain=true in metadata.json"), 0
        )
    count = 0
    for props in listed:
        try:
            deleted = (
                runner.blobs.delete(props.name)
                if job.retain
                else delete_unless_retained(
                    runner.blobs,
                    props.name,
                    tagged=RETAIN in (props.tags or {}),
                    etag=props.etag,
                    metadata=metadata,
                    metadata_etag=metadata_etag,
                )
            )
        except PreconditionFailed:
            was_set = Outcome(OutcomeKind.SKIPPED, "retain=true was set")
            runner.record("delete", props.name, job.job_id, was_set, query)
            meanwhile = Outcome(OutcomeKind.SKIPPED, "retain=true was set meanwhile")
            return JobOutcome(job.job_id, meanwhile, count)
        runner.record(
            "delete",
            props.name,
            job.job_id,
            DONE if deleted else Outcome(OutcomeKind.SKIPPED, "already gone"),
            f"admin delete: {query}",
        )
        count += deleted
    index.delete([job.job_id])
    return JobOutcome(job.job_id, DONE, count)


def _judged_by_metadata(
    blobs: BlobStore, metadata: str, listed: list[BlobProps]
) -> tuple[str | None, bool]:
    """(etag, retain) of metadata.json when some blob has no `retain` tag to guard its delete;
    an unreadable one counts as retained (safe)."""
    if all(RETAIN in (p.tags or {}) for p in listed):
        return next((p.etag for p in listed if p.name == metadata), None), False
    try:
        blob = blobs.read(metadata, max_bytes=METADATA_READ_LIMIT)
    except BlobNotFound:
        return None, False
    except StorageError:
        return None, True
    try:
        return blob.props.etag, parse_metadata(blob.data, source=metadata).retain
    except InvalidInput:
        return blob.props.etag, True


def export_job(
    runner: BulkRunner, job: Selected, destination: Path, *, query: str, rehydrate: bool = False
) -> JobOutcome:
    """Download every readable blob of the job folder into `destination/{job_id}/`, verified.
    Archived blobs are listed in the outcome, not fetched; with `rehydrate`, each gets Set Blob
    Tier Hot with Standard priority (audited), to export again once it is readable."""
    parsed = parse_job_id(job.job_id)
    prefix = job_prefix(parsed)
    sha256s = _artifact_sha256s(runner.blobs, parsed)
    count, problems, archived = 0, [], []
    for props in runner.blobs.list(prefix):
        relative = props.name[len(prefix) :]
        if props.tier == Tier.ARCHIVE:
            archived.append(relative)
            if rehydrate:
                _rehydrate(runner, props.name, job.job_id, query)
            continue
        target = destination / job.job_id / relative
        expected = sha256s.get(relative.removeprefix("artifacts/"))
        try:
            _check_relative(props.name, relative)
            _download(
                runner.blobs,
                props.name,
                target,
                props.content_md5,
                expected if props.name.startswith(prefix + "artifacts/") else None,
            )
        except (BlobArchived, StorageError) as exc:
            problems.append(str(exc))
            failed = Outcome(OutcomeKind.FAILED, str(exc))
            runner.record("export", props.name, job.job_id, failed, query)
            continue
        runner.record("export", props.name, job.job_id, DONE, f"admin export: {query}")
        count += 1
    return JobOutcome(job.job_id, _export_outcome(problems, archived, rehydrate), count)


def _rehydrate(runner: BulkRunner, name: str, job_id: str, query: str) -> None:
    try:
        runner.blobs.set_tier(name, Tier.HOT, rehydrate_priority="Standard")
    except StorageError as exc:
        runner.record("rehydrate", name, job_id, Outcome(OutcomeKind.FAILED, str(exc)), query)
        return
    requested = Outcome(OutcomeKind.REQUESTED)
    runner.record("rehydrate", name, job_id, requested, f"admin export --rehydrate: {query}")


def _export_outcome(problems: list[str], archived: list[str], rehydrate: bool) -> Outcome:
    then = (
        "rehydration requested: export again when done (hours)"
        if rehydrate
        else "add --rehydrate to start their rehydration"
    )
    waiting = (
        (
            f"{len(archived)} archived blob(s) not exported "
            f"({', '.join(archived[:ARCHIVED_NAMES_SHOWN])}"
            f"{', ...' if len(archived) > ARCHIVED_NAMES_SHOWN else ''}); {then}"
        )
        if archived
        else ""
    )
    if problems:
        also = f"; and {waiting}" if waiting else ""
        return Outcome(OutcomeKind.FAILED, f"{len(problems)} blob(s): {problems[0]}{also}")
    return Outcome(OutcomeKind.PARTLY, waiting) if waiting else DONE


def _check_relative(name: str, relative: str) -> None:
    """Refuse a blob name that would land outside the job's export folder."""
    if any(part in {"", ".", ".."} for part in relative.split("/")) or "\\" in relative:
        raise StorageError(name, "has an empty, '.' or '..' path segment: not exported")


def _job_blobs(blobs: BlobStore, job: JobId) -> list[BlobProps]:
    return [
        *blobs.list(job_prefix(job), with_tags=True),
        *blobs.list(by_date_log_path(job), with_tags=True),
    ]


def _artifact_sha256s(blobs: BlobStore, job: JobId) -> dict[str, str]:
    try:
        meta = parse_metadata(blobs.read(metadata_path(job), max_bytes=METADATA_READ_LIMIT).data)
    except (InvalidInput, StorageError):
        return {}
    return {a.name: a.sha256 for a in meta.artifacts if a.sha256}


def _download(
    blobs: BlobStore, name: str, target: Path, md5: bytes | None, sha256: str | None
) -> None:
    """Stream `name` to `target` via a temporary file; rename only if the checksums agree."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    md5_digest, sha_digest = hashlib.md5(), hashlib.sha256()  # noqa: S324 - Azure's Content-MD5
    try:
        with partial.open("wb") as out:
            for chunk in blobs.read_chunks(name):
                md5_digest.update(chunk)
                sha_digest.update(chunk)
                out.write(chunk)
        problem = _checksum_problem(md5, md5_digest.digest(), sha256, sha_digest.hexdigest())
        if problem:
            raise StorageError(name, problem)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _checksum_problem(
    md5: bytes | None, got_md5: bytes, sha256: str | None, got_sha: str
) -> str | None:
    if md5 and md5 != got_md5:
        return (
            f"MD5 {base64.b64encode(got_md5).decode()} does not match the stored "
            f"{base64.b64encode(md5).decode()}"
        )
    if sha256 and sha256 != got_sha:
        return f"sha256 {got_sha[:12]}... does not match metadata.json's {sha256[:12]}..."
    return None
