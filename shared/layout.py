"""The blob layout: every path of the tree is built here, and every blob name is parsed here.

    projects/{project}/users/{user}/jobs/{job_id}/{package.pkl,metadata.json,job.log.jsonl,
                                                   job.log.jsonl.gz,result.pkl,artifacts/{name}}
    projects/{project}/users/{user}/images/{hash12}/{requirements.txt,Dockerfile}
    projects/{project}/logs/by-date/{YYYY}/{MM}/{DD}/{job_id}.log.jsonl[.gz]
    shared/base-images/{name...}
    _ascend/...                                   the system's own records (never under projects/)

`parse_blob_name` is the only way the pipeline learns what a blob is: a name that does not fit
the tree exactly, or whose user, project or date disagrees with the job ID inside it, is refused
with `InvalidBlobPath`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import InvalidBlobPath, InvalidInput
from shared.jobid import IMAGE_HASH_LENGTH, JobId, is_valid_name, parse_job_id

PROJECTS = "projects"
SYSTEM_PREFIX = "_ascend/"
BASE_IMAGES_PREFIX = "shared/base-images/"
METADATA_FILE = "metadata.json"
LOG_FILE = "job.log.jsonl"
ARCHIVED_LOG_FILE = "job.log.jsonl.gz"
PACKAGE_FILE = "package.pkl"
RESULT_FILE = "result.pkl"
REQUIREMENTS_FILE = "requirements.txt"
DOCKERFILE = "Dockerfile"
MAX_BLOB_NAME = 1024
SHOWN_NAME_CHARS = 200  # of a bad blob name quoted in an error message

_ARTIFACT_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")
_HASH12 = re.compile(f"[0-9a-f]{{{IMAGE_HASH_LENGTH}}}")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f%\\]")


class BlobKind(StrEnum):
    """What a blob is, by its place in the tree."""

    METADATA = "metadata"
    LOG = "log"
    ARCHIVED_LOG = "archived_log"
    PACKAGE = "package"
    RESULT = "result"
    ARTIFACT = "artifact"
    REQUIREMENTS = "requirements"
    DOCKERFILE = "dockerfile"
    BY_DATE_LOG = "by_date_log"
    BY_DATE_ARCHIVED_LOG = "by_date_archived_log"
    BASE_IMAGE = "base_image"
    SYSTEM = "system"


JOB_FILES = {
    METADATA_FILE: BlobKind.METADATA,
    LOG_FILE: BlobKind.LOG,
    ARCHIVED_LOG_FILE: BlobKind.ARCHIVED_LOG,
    PACKAGE_FILE: BlobKind.PACKAGE,
    RESULT_FILE: BlobKind.RESULT,
}
IMAGE_FILES = {REQUIREMENTS_FILE: BlobKind.REQUIREMENTS, DOCKERFILE: BlobKind.DOCKERFILE}


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob name parsed into what it is. Fields that do not apply are None."""

    name: str
    kind: BlobKind
    project: str | None = None
    user: str | None = None
    job_id: JobId | None = None
    dep_hash12: str | None = None
    artifact: str | None = None

    @property
    def is_pipeline_output(self) -> bool:
        """True for blobs the pipeline writes itself: reacting to them would loop."""
        return self.kind in {
            BlobKind.BY_DATE_LOG,
            BlobKind.BY_DATE_ARCHIVED_LOG,
            BlobKind.SYSTEM,
            BlobKind.ARCHIVED_LOG,
        }


# ---- building paths ------------------------------------------------------------------------


def user_jobs_prefix(project: str, user: str) -> str:
    """All jobs of one user in one project."""
    return f"{PROJECTS}/{_name(project, 'project')}/users/{_name(user, 'user')}/jobs/"


def job_prefix(job: JobId) -> str:
    """The job's folder, ending in `/`."""
    return f"{user_jobs_prefix(job.project, job.user)}{job}/"


def metadata_path(job: JobId) -> str:
    return job_prefix(job) + METADATA_FILE


def log_path(job: JobId) -> str:
    return job_prefix(job) + LOG_FILE


def archived_log_path(job: JobId) -> str:
    return job_prefix(job) + ARCHIVED_LOG_FILE


def package_path(job: JobId) -> str:
    return job_prefix(job) + PACKAGE_FILE


def result_path(job: JobId) -> str:
    return job_prefix(job) + RESULT_FILE


def artifacts_prefix(job: JobId) -> str:
    return job_prefix(job) + "artifacts/"


def artifact_path(job: JobId, name: str) -> str:
    """An artifact file of the job; `name` is one safe file name (no folders)."""
    if _ARTIFACT_SEGMENT.fullmatch(name) is None or ".." in name:
        raise InvalidBlobPath(f"artifact {name!r}", "must be one file name of A-Z a-z 0-9 . _ -")
    return artifacts_prefix(job) + name


def image_prefix(project: str, user: str, hash12: str) -> str:
    """The folder of one dependency set's image files."""
    if _HASH12.fullmatch(hash12) is None:
        raise InvalidBlobPath(f"dependency hash {hash12!r}", "must be 12 lowercase hex digits")
    return f"{PROJECTS}/{_name(project, 'project')}/users/{_name(user, 'user')}/images/{hash12}/"


def requirements_path(project: str, user: str, hash12: str) -> str:
    return image_prefix(project, user, hash12) + REQUIREMENTS_FILE


def dockerfile_path(project: str, user: str, hash12: str) -> str:
    return image_prefix(project, user, hash12) + DOCKERFILE


def by_date_prefix(project: str, day: date | None = None, *, month_only: bool = False) -> str:
    """`projects/{project}/logs/by-date/` or the folder of one day (or month) under it."""
    base = f"{PROJECTS}/{_name(project, 'project')}/logs/by-date/"
    if day is None:
        return base
    if month_only:
        return f"{base}{day:%Y}/{day:%m}/"
    return f"{base}{day:%Y}/{day:%m}/{day:%d}/"


def by_date_log_path(job: JobId, *, archived: bool = False) -> str:
    """The by-date copy of the job's log, dated by the job's creation day (UTC)."""
    suffix = ".log.jsonl.gz" if archived else ".log.jsonl"
    return f"{by_date_prefix(job.project, job.created_at.date())}{job}{suffix}"


def system_path(*parts: str) -> str:
    """A blob of the system's own records, under `_ascend/`."""
    for part in parts:
        if not part or part in {".", ".."} or "/" in part or _FORBIDDEN.search(part):
            raise InvalidBlobPath(f"system path part {part!r}", "must be one plain segment")
    return SYSTEM_PREFIX + "/".join(parts)


def _name(value: str, what: str) -> str:
    if not is_valid_name(value):
        raise InvalidBlobPath(f"{what} {value!r}", "is not a sanitized name")
    return value


# ---- parsing names -------------------------------------------------------------------------


def parse_blob_name(name: str) -> BlobRef:
    """What the blob `name` is, or `InvalidBlobPath` saying why it is outside the layout."""
    _check_plain(name)
    if name.startswith(SYSTEM_PREFIX):
        return BlobRef(name=name, kind=BlobKind.SYSTEM)
    if name.startswith(BASE_IMAGES_PREFIX) and len(name) > len(BASE_IMAGES_PREFIX):
        return BlobRef(name=name, kind=BlobKind.BASE_IMAGE)
    match name.split("/"):
        case [root, project, folder, *rest] if root == PROJECTS and rest:
            pass
        case _:
            raise InvalidBlobPath(
                _subject(name), "is not under projects/, shared/base-images/ or _ascend/"
            )
    if not is_valid_name(project):
        raise InvalidBlobPath(_subject(name), f"project {project!r} is not a sanitized name")
    match folder, rest:
        case "users", _:
            return _parse_user_blob(name, project, rest)
        case "logs", ["by-date", *dated]:
            return _parse_by_date(name, project, dated)
    raise InvalidBlobPath(_subject(name), f"unknown folder {folder!r} in project {project!r}")


def _check_plain(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidBlobPath("blob name ''", "is empty")
    if len(name) > MAX_BLOB_NAME:
        raise InvalidBlobPath(_subject(name), f"is longer than {MAX_BLOB_NAME} characters")
    if _FORBIDDEN.search(name):
        raise InvalidBlobPath(_subject(name), "contains %, a backslash or a control character")
    if not name.isascii():
        raise InvalidBlobPath(_subject(name), "contains non-ASCII characters")
    segments = name.split("/")
    if any(s == "" for s in segments):
        raise InvalidBlobPath(_subject(name), "has an empty path segment")
    if any(s in {".", ".."} for s in segments):
        raise InvalidBlobPath(_subject(name), "has a '.' or '..' segment")


def _parse_user_blob(name: str, project: str, rest: list[str]) -> BlobRef:
    user = rest[0]
    if not is_valid_name(user):
        raise InvalidBlobPath(_subject(name), f"user {user!r} is not a sanitized name")
    match rest[1:]:
        case ["jobs", job, *files] if files:
            return _parse_job_blob(name, project, user, [job, *files])
        case ["images", folder, file] if file in IMAGE_FILES:
            if _HASH12.fullmatch(folder) is None:
                raise InvalidBlobPath(
                    _subject(name), f"image folder {folder!r} is not a 12-hex hash"
                )
            return BlobRef(name, IMAGE_FILES[file], project, user, dep_hash12=folder)
    raise InvalidBlobPath(_subject(name), "is not a job file or an image file of the user")


def _parse_job_blob(name: str, project: str, user: str, rest: list[str]) -> BlobRef:
    job = _job_id_in(name, rest[0])
    if job.user != user or job.project != project:
        raise InvalidBlobPath(
            _subject(name),
            f"job {job} belongs to user {job.user!r} in project {job.project!r}, "
            f"not to folder {user!r} in {project!r}",
        )
    match rest[1:]:
        case [file] if file in JOB_FILES:
            return BlobRef(name, JOB_FILES[file], project, user, job)
        case ["artifacts", artifact] if _ARTIFACT_SEGMENT.fullmatch(artifact):
            return BlobRef(name, BlobKind.ARTIFACT, project, user, job, artifact=artifact)
    raise InvalidBlobPath(_subject(name), f"{'/'.join(rest[1:])!r} is not a file of a job folder")


def _parse_by_date(name: str, project: str, rest: list[str]) -> BlobRef:
    match rest:
        case [year, month, day, file]:
            pass
        case _:
            raise InvalidBlobPath(
                _subject(name), "by-date copies live at by-date/YYYY/MM/DD/{job}.log.jsonl"
            )
    if file.endswith(".log.jsonl.gz"):
        kind, stem = BlobKind.BY_DATE_ARCHIVED_LOG, file.removesuffix(".log.jsonl.gz")
    elif file.endswith(".log.jsonl"):
        kind, stem = BlobKind.BY_DATE_LOG, file.removesuffix(".log.jsonl")
    else:
        raise InvalidBlobPath(_subject(name), "a by-date copy must end in .log.jsonl")
    job = _job_id_in(name, stem)
    created = job.created_at
    if (year, month, day) != (f"{created:%Y}", f"{created:%m}", f"{created:%d}"):
        raise InvalidBlobPath(
            _subject(name), f"date folder does not match job {job}'s creation date"
        )
    if job.project != project:
        raise InvalidBlobPath(_subject(name), f"job {job} is not in project {project!r}")
    return BlobRef(name, kind, project, job.user, job)


def _job_id_in(name: str, text: str) -> JobId:
    try:
        return parse_job_id(text)
    except InvalidInput as exc:
        raise InvalidBlobPath(_subject(name), exc.reason) from None


def _subject(name: str) -> str:
    shown = name if len(name) <= SHOWN_NAME_CHARS else name[:SHOWN_NAME_CHARS] + "..."
    return f"blob {shown!r}"
