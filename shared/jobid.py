"""Content-addressable job IDs: `{YYYYMMDD-HHMMSS}-{user}-{project}-{dep_hash}-{run_hash}`.

Also the names that go into them (sanitized user and project names), the dependency set hash that
correlates jobs with image tags `{user}-{hash12}`, the run hash, and artifact names
`{job_id}.{artifact_type}.{extension}`.

Sanitizing: names are folded to ASCII lowercase, every run of other characters becomes one `_`,
leading and trailing `_` are dropped and the result is cut to 16 characters. A *user* that
sanitizes to nothing is refused (`InvalidName`): a job must belong to someone. A *project* that
is missing or blank becomes `default`; one that has characters but sanitizes to nothing is refused
rather than silently merged into `default`. Sanitizing is not one-to-one (`Alice` and `alice`,
`fraud-detect` and `fraud_detect` collide): the sanitized name *is* the identity in every path,
tag and ID, so whoever creates accounts or projects must check `sanitize_name` for collisions
against existing names (`find_collision`) before handing a new name out.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import InvalidJobId, InvalidName

MAX_NAME_LENGTH = 16
DEFAULT_PROJECT = "default"
DEP_HASH_LENGTH = 8
IMAGE_HASH_LENGTH = 12
RUN_HASH_LENGTH = 8
_JOB_ID_PARTS = ("date", "time", "user", "project", "dep_hash", "run_hash")

NAME_PATTERN = r"[a-z0-9](?:[a-z0-9_]{0,14}[a-z0-9])?"
_NAME_RE = re.compile(NAME_PATTERN)
_UNSAFE_RUN = re.compile(r"[^a-z0-9]+")
_HEX = "[0-9a-f]"
# ASCII digits only: `\d` would also match other scripts' digits (e.g. fullwidth ones).
JOB_ID_PATTERN = (
    rf"(?P<date>[0-9]{{8}})-(?P<time>[0-9]{{6}})-(?P<user>{NAME_PATTERN})-(?P<project>{NAME_PATTERN})"
    rf"-(?P<dep_hash>{_HEX}{{{DEP_HASH_LENGTH}}})-(?P<run_hash>{_HEX}{{{RUN_HASH_LENGTH}}})"
)
_JOB_ID_RE = re.compile(JOB_ID_PATTERN)
_IMAGE_TAG_RE = re.compile(rf"(?P<user>{NAME_PATTERN})-(?P<hash>{_HEX}{{{IMAGE_HASH_LENGTH}}})")
_ARTIFACT_TYPE_RE = re.compile(r"[a-z0-9](?:[a-z0-9_]{0,30}[a-z0-9])?")
_EXTENSION_RE = re.compile(r"[a-z0-9]{1,16}(?:\.[a-z0-9]{1,16}){0,2}")
_TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
FIRST_JOB_YEAR = 1970
LAST_JOB_YEAR = 9000


def sanitize_name(raw: str, *, what: str = "name") -> str:
    """Fold `raw` to a safe lowercase name of at most 16 characters, or raise `InvalidName`."""
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()
    name = _UNSAFE_RUN.sub("_", folded).strip("_")[:MAX_NAME_LENGTH].rstrip("_")
    if not name:
        raise InvalidName(f"{what} {raw!r}", "has no letters or digits left after sanitizing")
    return name


def sanitize_user(raw: str) -> str:
    """The user's name as it appears in job IDs, paths and tags."""
    return sanitize_name(raw, what="user")


def sanitize_project(raw: str | None) -> str:
    """The project's name; a missing or blank project is `default`."""
    if raw is None or not raw.strip():
        return DEFAULT_PROJECT
    return sanitize_name(raw, what="project")


def is_valid_name(name: str) -> bool:
    """True when `name` is already in sanitized form."""
    return _NAME_RE.fullmatch(name) is not None


def find_collision(raw: str, existing: Iterable[str]) -> str | None:
    """The existing raw name that sanitizes like `raw` (and is not `raw` itself), if any."""
    target = sanitize_name(raw)
    for other in existing:
        if other != raw and sanitize_name(other) == target:
            return other
    return None


@dataclass(frozen=True, slots=True)
class JobId:
    """A parsed job ID; `str()` gives back the canonical text."""

    created_at: datetime
    user: str
    project: str
    dep_hash: str
    run_hash: str

    def __str__(self) -> str:
        stamp = self.created_at.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)
        return f"{stamp}-{self.user}-{self.project}-{self.dep_hash}-{self.run_hash}"


def parse_job_id(text: str) -> JobId:
    """Parse a job ID, or raise `InvalidJobId` saying what is wrong with it."""
    if not isinstance(text, str):
        raise InvalidJobId(f"job ID {text!r}", "is not text")
    return _parse_job_id_text(text)


@functools.lru_cache(maxsize=1 << 12)  # ingest parses each ID twice: validation, then document
def _parse_job_id_text(text: str) -> JobId:
    match = _JOB_ID_RE.fullmatch(text)
    if match is None:
        raise InvalidJobId(f"job ID {text[:120]!r}", _why_not_job_id(text))
    date, time, user, project, dep_hash, run_hash = match.groups()
    try:  # ISO 8601's basic form: 7x faster than six ints (ingest parses every ID once)
        created = datetime.fromisoformat(f"{date}T{time}+00:00")
    except ValueError:
        reason = "timestamp is not a real UTC date and time"
        raise InvalidJobId(f"job ID {text!r}", reason) from None
    if not FIRST_JOB_YEAR <= created.year <= LAST_JOB_YEAR:
        # Dates near year 1 or 9999 overflow every age and by-date computation downstream.
        reason = f"timestamp year must lie between {FIRST_JOB_YEAR} and {LAST_JOB_YEAR}"
        raise InvalidJobId(f"job ID {text!r}", reason)
    return JobId(created, user, project, dep_hash, run_hash)


def is_job_id(text: str) -> bool:
    """True when `text` parses as a job ID."""
    try:
        parse_job_id(text)
    except InvalidJobId:
        return False
    return True


def _why_not_job_id(text: str) -> str:
    if not text:
        return "is empty"
    parts = text.split("-")
    if len(parts) != len(_JOB_ID_PARTS):
        return (
            f"has {len(parts)} dash-separated parts, expected {len(_JOB_ID_PARTS)} "
            "(YYYYMMDD-HHMMSS-user-project-dep_hash-run_hash)"
        )
    date, time, user, project, dep, run = parts
    checks = [
        (re.fullmatch(r"[0-9]{8}", date), "date part must be YYYYMMDD"),
        (re.fullmatch(r"[0-9]{6}", time), "time part must be HHMMSS"),
        (is_valid_name(user), "user must be 1-16 of a-z, 0-9, _ (not at the ends)"),
        (is_valid_name(project), "project must be 1-16 of a-z, 0-9, _ (not at the ends)"),
        (re.fullmatch(f"{_HEX}{{8}}", dep), "dep_hash must be 8 lowercase hex digits"),
        (re.fullmatch(f"{_HEX}{{8}}", run), "run_hash must be 8 lowercase hex digits"),
    ]
    return next((reason for ok, reason in checks if not ok), "is not a job ID")


def make_job_id(
    *, user: str, project: str | None, dependency_hash: str, run_hash: str, created_at: datetime
) -> JobId:
    """Build a job ID from raw names and hashes, sanitizing and checking each part."""
    if created_at.tzinfo is None:
        raise InvalidJobId("created_at", "must be timezone-aware (UTC)")
    hash_pattern = f"{_HEX}{{{IMAGE_HASH_LENGTH}}}|{_HEX}{{{DEP_HASH_LENGTH}}}"
    if not re.fullmatch(hash_pattern, dependency_hash):
        raise InvalidJobId(f"dependency hash {dependency_hash!r}", "must be 8 or 12 hex digits")
    if not re.fullmatch(f"{_HEX}{{{RUN_HASH_LENGTH}}}", run_hash):
        raise InvalidJobId(f"run hash {run_hash!r}", "must be 8 hex digits")
    return JobId(
        created_at=created_at.astimezone(UTC).replace(microsecond=0),
        user=sanitize_user(user),
        project=sanitize_project(project),
        dep_hash=dependency_hash[:DEP_HASH_LENGTH],
        run_hash=run_hash,
    )


def compute_run_hash(function_name: str, args_hash: str, nonce: str | None = None) -> str:
    """First 8 hex characters of SHA-256(function_name + args_hash + nonce); nonce is random."""
    # hashlib and secrets here, not at the top: parsing job IDs (every `ascend` command) needs
    # neither, and loading OpenSSL's hashes costs a few ms of start-up
    import hashlib
    import secrets

    nonce = secrets.token_hex(16) if nonce is None else nonce
    digest = hashlib.sha256(f"{function_name}{args_hash}{nonce}".encode())
    return digest.hexdigest()[:RUN_HASH_LENGTH]


@dataclass(frozen=True, slots=True)
class DependencySet:
    """What a job's image is built from; its hash names the image and prefixes job IDs."""

    packages: tuple[str, ...]
    python_version: str
    system_packages: tuple[str, ...] = ()
    use_gpu: bool = False

    def calculate_hash(self) -> str:
        """12 hex characters, independent of package order, case and PEP 503 name spelling."""
        import hashlib

        canonical = "\n".join(
            [
                f"python={self.python_version}",
                f"gpu={self.use_gpu}",
                *sorted(_canonical_requirement(p) for p in self.packages),
                "--system--",
                *sorted(s.strip().lower() for s in self.system_packages),
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:IMAGE_HASH_LENGTH]


def _canonical_requirement(spec: str) -> str:
    # Imported here: `packaging` costs ~20 ms that `ascend` start-up never needs.
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return spec.strip().lower()
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{canonicalize_name(req.name)}{extras}{req.specifier}"


def image_tag(user: str, dependency_hash: str) -> str:
    """The image tag `{user}-{hash12}` of a user's dependency set."""
    tag = f"{sanitize_user(user)}-{dependency_hash}"
    if _IMAGE_TAG_RE.fullmatch(tag) is None:
        raise InvalidName(f"image tag {tag!r}", "dependency hash must be 12 hex digits")
    return tag


def parse_image_tag(tag: str) -> tuple[str, str]:
    """(user, hash12) of an image tag `{user}-{hash12}`, or `InvalidName`."""
    match = _IMAGE_TAG_RE.fullmatch(tag)
    if match is None:
        raise InvalidName(f"image tag {tag!r}", "must be user-<12 hex digits>")
    return match["user"], match["hash"]


def artifact_name(job_id: JobId | str, artifact_type: str, extension: str) -> str:
    """`{job_id}.{artifact_type}.{extension}`, checking each part."""
    job = parse_job_id(job_id) if isinstance(job_id, str) else job_id
    if _ARTIFACT_TYPE_RE.fullmatch(artifact_type) is None:
        raise InvalidName(f"artifact type {artifact_type!r}", "must be a-z, 0-9, _ (1-32)")
    if _EXTENSION_RE.fullmatch(extension) is None:
        raise InvalidName(f"extension {extension!r}", "must be like 'pkl' or 'log.jsonl'")
    return f"{job}.{artifact_type}.{extension}"


def parse_artifact_name(name: str) -> tuple[JobId, str, str]:
    """(job ID, artifact type, extension) of an artifact name, or an `InvalidInput`."""
    job_text, dot, rest = name.partition(".")
    job = parse_job_id(job_text)
    artifact_type, dot2, extension = rest.partition(".")
    if not (dot and dot2):
        raise InvalidName(f"artifact name {name!r}", "must be {job_id}.{type}.{extension}")
    artifact_name(job, artifact_type, extension)  # validates both parts
    return job, artifact_type, extension
