"""`metadata.json`: the pydantic models of the whole document, and its one-line validation errors.

`parse_metadata` is the boundary: bytes in, a `JobMetadata` out, or `InvalidMetadata` naming the
field and the reason (`execution.end_time: is before execution.start_time`). Beyond types it
checks what matters for security and correctness: the job ID agrees with `user`, `project` and
`created_at`, and `dependencies.hash` starts with the job ID's dep_hash.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from shared.errors import InvalidInput, InvalidMetadata
from shared.jobid import JobId, parse_job_id

# re-exported: the models' callers import the status from here as well
from shared.status import FINAL_STATUSES as FINAL_STATUSES  # noqa: PLC0414
from shared.status import JobStatus as JobStatus  # noqa: PLC0414

ALLOWED_TRANSITIONS = {
    JobStatus.QUEUED: {JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED},
    JobStatus.RUNNING: {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED},
}

TAG_KEY = r"^[A-Za-z0-9_.:+/=-]{1,128}$"
_ONE_SECOND = timedelta(seconds=1)


def scalar_text(value: Any) -> Any:
    """What jobs really write for a text value, as the contract's string: a JSON boolean as
    `true`/`false`, a number as its shortest form (`4`, `0.5`); anything else is left for
    validation to accept (a string) or refuse (null, objects, lists, NaN)."""
    if type(value) is str:  # what nearly every value is: one check
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


Text = Annotated[str, Field(max_length=1024)]
# Kubernetes takes a quantity as a number or a string (`cpu: 4`, `cpu: "4"`, `memory: "8Gi"`).
# The length before the BeforeValidator: pydantic-core checks it in the str schema (after it,
# pydantic adds a Python function per value that says "items after validation").
Quantity = Annotated[str, Field(max_length=1024), BeforeValidator(scalar_text)]
TagValue = Annotated[str, Field(max_length=256), BeforeValidator(scalar_text)]
NonNegative = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=False)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# A time with a zone, kept in UTC (`datetime.UTC`, not pydantic's own zone object).
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]


class JobConfig(_Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    timeout: Annotated[StrictInt, Field(ge=0)] | None = None
    node_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None


class Dependencies(_Model):
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]
    python_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")]
    # default_factory, not `= []`: pydantic deep-copies a mutable default for every document.
    packages: Annotated[list[Text], Field(max_length=2000, default_factory=list)]
    system_packages: Annotated[list[Text], Field(max_length=2000, default_factory=list)]
    use_gpu: bool = False


class Execution(_Model):
    start_time: UtcTime | None = None
    end_time: UtcTime | None = None
    duration_seconds: NonNegative | None = None
    pod_name: Text | None = None
    namespace: Text | None = None
    node_name: Text | None = None
    exit_code: StrictInt | None = None  # strict: `true` or "0" is not an exit code

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Execution:
        if self.start_time and self.end_time and self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        return self


class Resources(_Model):
    cpu_requested: Quantity | None = None
    memory_requested: Quantity | None = None
    gpu_requested: Quantity | None = None
    peak_memory_mb: NonNegative | None = None
    avg_cpu_percent: NonNegative | None = None
    avg_gpu_utilization_percent: NonNegative | None = None


class Artifact(_Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")]
    type: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    size_bytes: Annotated[StrictInt, Field(ge=0)]
    created_at: AwareDatetime | None = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class JobMetadata(_Model):
    """The whole metadata.json of a job."""

    model_config = ConfigDict(extra="allow", frozen=True)

    job_id: str
    created_at: UtcTime
    updated_at: UtcTime
    status: JobStatus
    user: str
    project: str
    function_name: Annotated[str, Field(min_length=1, max_length=256)]
    config: JobConfig = JobConfig()
    dependencies: Dependencies
    execution: Execution = Execution()
    resources: Resources = Resources()
    artifacts: Annotated[list[Artifact], Field(max_length=10_000, default_factory=list)]
    tags: Annotated[
        dict[Annotated[str, Field(pattern=TAG_KEY)], TagValue], Field(default_factory=dict)
    ]

    @property
    def parsed_job_id(self) -> JobId:
        return parse_job_id(self.job_id)

    @property
    def retain(self) -> bool:
        """`retain=true` in the tags: the job is never deleted by retention."""
        return self.tags.get("retain", "").strip().lower() == "true"

    @model_validator(mode="after")
    def _consistent(self) -> JobMetadata:
        try:
            job = parse_job_id(self.job_id)
        except InvalidInput as exc:
            raise ValueError(f"job_id {exc.reason}") from None
        if job.user != self.user:
            raise ValueError(f"user {self.user!r} does not match the job ID's user {job.user!r}")
        if job.project != self.project:
            raise ValueError(
                f"project {self.project!r} does not match the job ID's project {job.project!r}"
            )
        if abs(self.created_at - job.created_at) >= _ONE_SECOND:
            raise ValueError(
                f"created_at {self.created_at.isoformat()} does not match the job ID's "
                f"timestamp {job.created_at:%Y%m%d-%H%M%S}"
            )
        if not self.dependencies.hash.startswith(job.dep_hash):
            raise ValueError(
                f"dependencies.hash {self.dependencies.hash!r} does not start with the job ID's "
                f"dep_hash {job.dep_hash!r}"
            )
        if self.updated_at < self.created_at:
            raise ValueError("updated_at is before created_at")
        return self


def parse_metadata(raw: bytes | str, *, source: str = "metadata.json") -> JobMetadata:
    """Validate a metadata.json document, or raise `InvalidMetadata` with a one-line reason."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidMetadata(source, f"is not valid JSON ({_short(str(exc))})") from None
    if not isinstance(data, dict):
        raise InvalidMetadata(source, f"must be a JSON object, not {type(data).__name__}")
    if _may_nest_deeper(raw) and _depth(data) > MAX_DEPTH:
        raise InvalidMetadata(source, f"nests deeper than {MAX_DEPTH} levels")
    try:
        meta: JobMetadata = _validate(data)
    except ValidationError as exc:
        raise InvalidMetadata(source, describe_validation_error(exc)) from None
    return meta


# pydantic-core's validator of the model, called as it is: `model_validate` adds a Python
# frame and seven keyword arguments per call (a microsecond of the ~40 a document takes).
_validate = JobMetadata.__pydantic_validator__.validate_python


MAX_DEPTH = 32  # far beyond any real config; orjson itself refuses to write past 255


def _may_nest_deeper(raw: bytes | str) -> bool:
    """Could the document nest deeper than MAX_DEPTH? Not when the text has no more opening
    brackets than that (those inside strings only add to the count). A real document has a
    dozen, so the walk of `_depth` (a third of validation's time) runs only for odd ones."""
    if isinstance(raw, str):
        return raw.count("{") + raw.count("[") > MAX_DEPTH
    return raw.count(b"{") + raw.count(b"[") > MAX_DEPTH


def _depth(value: object) -> int:
    """How deeply objects and arrays nest in `value` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def dump_metadata(meta: JobMetadata) -> bytes:
    """The document as compact JSON with timestamps in UTC `Z` form."""
    return orjson.dumps(meta.model_dump(mode="json", exclude_none=True), option=orjson.OPT_UTC_Z)


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error as `field.path: reason`, plus a count of the rest."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(_location_part(p) for p in first["loc"])
    message = _short(_clean_message(first["msg"]))
    line = f"{where}: {message}" if where else message
    if len(errors) > 1:
        more = len(errors) - 1
        line += f" (and {more} more problem{'s' if more > 1 else ''})"
    return line


def _location_part(part: str | int) -> str:
    # Keys come from the document: one with a newline, a dot or a quote is shown quoted, so the
    # message stays one unambiguous line.
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_\[\]-]+", text) else repr(text)


def _clean_message(message: str) -> str:
    return re.sub(r"^(Value error|Assertion failed), ", "", message)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def metadata_as_dict(meta: JobMetadata) -> dict[str, Any]:
    """JSON-ready dict of the document (for CLI and API output)."""
    dumped: dict[str, Any] = orjson.loads(dump_metadata(meta))
    return dumped
