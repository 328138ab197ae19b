"""The jobs use cases behind `ascend jobs` and the HTTP API: list, details, cancel, logs.

Every use case runs for a principal and takes the ports it uses (`blobs`, `index`, `clock`, and
`settings` for the metadata size limit and node prices), so its signature says what it reads; the
edges (CLI, API, dashboard) hand them in from the composition root. Visibility is decided from
the job ID itself (it names the user and the project), before anything is read, and a job the
principal may not see is reported exactly like one that does not exist (`JobNotFound`).

Graceful degradation: when the index cannot answer, listing one user's jobs
falls back to walking that user's folders in storage (the source of truth); a job's log is shown
whether or not its metadata.json exists or validates.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from query.parser import terms
from query.service import JsonPage, search, search_json
from shared.documents import SearchDocument, empty_document, format_datetime
from shared.errors import (
    BlobNotFound,
    InvalidInput,
    InvalidMetadata,
    JobFinished,
    JobNotFound,
    SearchIndexError,
    StorageError,
    TransientError,
)
from shared.jobid import JobId, is_job_id, is_valid_name, parse_job_id, sanitize_name
from shared.layout import PROJECTS, archived_log_path, log_path, metadata_path, user_jobs_prefix
from shared.principal import Principal
from shared.status import JobStatus

if TYPE_CHECKING:
    from shared.clock import Clock
    from shared.metadata import JobMetadata
    from shared.ports import BlobStore, SearchIndex
    from shared.settings import Settings

# The metadata models (pydantic) are imported by the use cases that read metadata.json, not
# here: listing jobs from the index does without them (`ascend jobs list` starts faster).

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
# What the index raises when it cannot answer (a corrupt file, a service that is down).
INDEX_FAILURES: tuple[type[Exception], ...] = (SearchIndexError, TransientError)


@dataclass(frozen=True, slots=True)
class JobListing:
    """A page of documents, newest first; `degraded` says why storage was listed instead."""

    documents: list[SearchDocument]
    next_cursor: str | None = None
    degraded: str | None = None


@dataclass(frozen=True, slots=True)
class JobDetails:
    """Everything known about one job; either side may be missing, with the reason."""

    job_id: str
    metadata: dict[str, Any] | None
    metadata_problem: str | None
    document: SearchDocument | None
    index_problem: str | None


def visible_job(principal: Principal, job_id: str) -> JobId:
    """The parsed job ID if `principal` may see it; else `JobNotFound` (no existence leak)."""
    job = parse_job_id(job_id.strip())
    if not principal.can_see(job.user, job.project):
        raise JobNotFound(str(job))
    return job


# ---- list ----------------------------------------------------------------------------------


def list_jobs(
    index: SearchIndex,
    storage: Callable[[], BlobStore],
    clock: Clock,
    settings: Settings,
    principal: Principal,
    *,
    status: str | None = None,
    project: str | None = None,
    user: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    since: str | None = None,
) -> JobListing:
    """Newest jobs first through the index; from storage, for one user, if the index fails.
    `status` may list alternatives (`failed,cancelled`), as in the query language; `since` is
    `7d`, `12h`, `2w` back from now or an ISO date/time. `storage` gives the blob store for
    that fallback only (so a listing the index answers builds no storage client); `settings`
    give its metadata size limit and node prices."""
    filters = terms(status=status, project=project, user=user)  # checked before any I/O
    limit = _limit(limit)
    text = f"created:>={since_term(since)}" if since else ""
    try:
        page = search(
            index, principal, text, limit=limit, cursor=cursor, clock=clock, extra=filters
        )
    except INDEX_FAILURES as exc:
        owner = _name(user, "user") if user else principal.user
        documents = jobs_in_storage(
            storage(), settings, principal, owner, status=status, project=project, limit=limit
        )
        reason = f"index unavailable ({_one_line(exc)}); listed {owner}'s jobs from storage"
        return JobListing(documents, None, reason)
    return JobListing(list(page.documents), page.next_cursor)


def since_term(since: str) -> str:
    """`--since` as the query language's time bound: `7d` → `-7d`; an ISO time as it is."""
    text = since.strip()
    if re.fullmatch(r"-?\d+[hdw]", text):
        return text if text.startswith("-") else f"-{text}"
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"--since {since!r}",
            "is neither a duration back from now (12h, 7d, 2w) nor an ISO 8601 date or time",
        ) from None
    return text


def search_jobs(
    index: SearchIndex,
    clock: Clock,
    principal: Principal,
    text: str,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> JobListing:
    """The jobs matching a query-language `text`, scoped to `principal`, one page."""
    page = search(index, principal, text, limit=_limit(limit), cursor=cursor, clock=clock)
    return JobListing(list(page.documents), page.next_cursor)


def search_jobs_json(
    index: SearchIndex,
    clock: Clock,
    principal: Principal,
    text: str,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> JsonPage:
    """`search_jobs`, each document as the index's JSON text (for the API to send on)."""
    return search_json(index, principal, text, limit=_limit(limit), cursor=cursor, clock=clock)


def jobs_in_storage(
    blobs: BlobStore,
    settings: Settings,
    principal: Principal,
    user: str,
    *,
    status: str | None = None,
    project: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SearchDocument]:
    """One user's newest jobs read straight from storage: walk the projects, then the user's
    folder in each, newest job IDs first, reading metadata.json only until `limit` are found."""
    wanted = {_status(s).value for s in status.split(",")} if status else None
    documents: list[SearchDocument] = []
    for job in sorted(
        _job_folders(blobs, principal, user, project),
        key=lambda j: (j.created_at, str(j)),
        reverse=True,
    ):
        document = stored_document(blobs, settings, job)
        if wanted is None or document["status"] in wanted:
            documents.append(document)
            if len(documents) >= limit:
                break
    return documents


def _job_folders(
    blobs: BlobStore, principal: Principal, user: str, project: str | None
) -> Iterator[JobId]:
    projects = (
        [_name(project, "project")]
        if project
        else [
            name[len(PROJECTS) + 1 : -1]
            for name in blobs.walk(f"{PROJECTS}/")
            if name.endswith("/")
        ]
    )
    for name in projects:
        if not is_valid_name(name) or not principal.can_see(user, name):
            continue
        prefix = user_jobs_prefix(name, user)
        for folder in blobs.walk(prefix):
            job_text = folder[len(prefix) :].rstrip("/")
            if not (folder.endswith("/") and is_job_id(job_text)):
                continue
            job = parse_job_id(job_text)
            # A folder name is the uploader's word: a job ID naming another user or project
            # (placed in this tree to borrow that job's metadata) is not listed at all.
            if job.user == user and job.project == name and principal.can_see(job.user, name):
                yield job


def stored_document(blobs: BlobStore, settings: Settings, job: JobId) -> SearchDocument:
    """The job's document built from its metadata.json; just the job ID's facts when the
    metadata is missing or invalid (status None)."""
    from shared.jobdocument import build_document

    try:
        meta, etag = stored_metadata(blobs, settings, job)
    except (BlobNotFound, InvalidMetadata):
        return _document_of_id(job)
    return build_document(meta, prices=settings.node_prices, source_version=etag)


def _document_of_id(job: JobId) -> SearchDocument:
    document = empty_document(str(job))
    document.update(
        {
            "created_at": format_datetime(job.created_at),
            "user": job.user,
            "project": job.project,
            "dep_hash": job.dep_hash,
        }
    )
    return document


# ---- one job -------------------------------------------------------------------------------


def stored_metadata(blobs: BlobStore, settings: Settings, job: JobId) -> tuple[JobMetadata, str]:
    """The job's validated metadata and its etag; `BlobNotFound` or `InvalidMetadata`."""
    from shared.metadata_store import read_metadata

    return read_metadata(blobs, job, max_bytes=settings.max_metadata_bytes)


def job_details(
    blobs: BlobStore, index: SearchIndex, settings: Settings, principal: Principal, job_id: str
) -> JobDetails:
    """The job's metadata and its search document, each with the reason when unavailable."""
    from shared.metadata import metadata_as_dict

    job = visible_job(principal, job_id)
    metadata: dict[str, Any] | None = None
    metadata_problem = document = index_problem = None
    try:
        metadata = metadata_as_dict(stored_metadata(blobs, settings, job)[0])
    except BlobNotFound:
        metadata_problem = "metadata.json does not exist"
    except InvalidMetadata as exc:
        metadata_problem = str(exc)
    try:
        document = index.get(str(job))
    except INDEX_FAILURES as exc:
        index_problem = f"index unavailable: {_one_line(exc)}"
    if metadata is None and document is None and not _has_log(blobs, job):
        raise JobNotFound(str(job))
    return JobDetails(str(job), metadata, metadata_problem, document, index_problem)


def _has_log(blobs: BlobStore, job: JobId) -> bool:
    return any(blobs.props(p) is not None for p in (log_path(job), archived_log_path(job)))


def cancel_job(blobs: BlobStore, clock: Clock, principal: Principal, job_id: str) -> JobMetadata:
    """Mark the job cancelled by a conditional write; a finished job raises `JobFinished`."""
    from shared.metadata_store import update_metadata
    from shared.transitions import transition

    job = visible_job(principal, job_id)
    now = clock.now()

    def cancelled(meta: JobMetadata) -> JobMetadata:
        if meta.status.is_final:
            raise JobFinished(str(job), meta.status.value)
        return transition(meta, JobStatus.CANCELLED, now)

    try:
        return update_metadata(blobs, job, cancelled)
    except BlobNotFound:
        raise JobNotFound(str(job)) from None
    except InvalidMetadata as exc:  # what is stored is broken: a failure, not the caller's input
        raise StorageError(metadata_path(job), f"cannot be cancelled: {exc.reason}") from None


def status_reader(blobs: BlobStore, settings: Settings, job: JobId) -> Callable[[], bool]:
    """A check for `follow_log`: is the job's status final? A job whose metadata is missing or
    invalid has no status that could ever change, so it counts as final (drain, then stop)."""

    def is_final() -> bool:
        try:
            return stored_metadata(blobs, settings, job)[0].status.is_final
        except (BlobNotFound, InvalidMetadata):
            return True

    return is_final


def job_log(
    blobs: BlobStore,
    settings: Settings,
    principal: Principal,
    job_id: str,
    *,
    follow: bool = False,
    poll_seconds: float = 1.0,
    stop: threading.Event | None = None,
) -> Iterator[bytes]:
    """The job's log as byte chunks: the stored log (plain or gzip copy), or with `follow` a
    tail of the running job's log until its status is final. Needs no metadata to show a log."""
    from query.logs import follow_log, stored_log

    job = visible_job(principal, job_id)
    if follow:
        if blobs.props(metadata_path(job)) is None and not _has_log(blobs, job):
            raise JobNotFound(str(job))
        status = status_reader(blobs, settings, job)
        if stop is None:
            return follow_log(blobs, job, status, poll_seconds=poll_seconds)
        # `stop` (the client left) ends the tail within one poll: drain once, then return.
        return follow_log(
            blobs,
            job,
            lambda: stop.is_set() or status(),
            poll_seconds=poll_seconds,
            sleep=stop.wait,
        )
    try:
        return stored_log(blobs, job)
    except BlobNotFound:
        # No log and no job at all is the same "not found" as `jobs status` says.
        if blobs.props(metadata_path(job)) is None:
            raise JobNotFound(str(job)) from None
        raise


def log_size(blobs: BlobStore, principal: Principal, job_id: str) -> int:
    """How many bytes the job's plain log holds now (0 before it has one)."""
    props = blobs.props(log_path(visible_job(principal, job_id)))
    return 0 if props is None else props.size


# ---- checks --------------------------------------------------------------------------------


def _status(text: str) -> JobStatus:
    try:
        return JobStatus(text.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in JobStatus)
        raise InvalidInput(f"status {text!r}", f"must be one of {names}") from None


def _name(text: str, what: str) -> str:
    """The name as storage spells it (`Fraud-Detect` is `fraud_detect`), as producers sanitize."""
    return sanitize_name(text, what=what)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit {limit}", f"must be between 1 and {MAX_LIMIT}")
    return limit
