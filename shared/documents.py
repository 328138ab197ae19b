"""The search document: one per job, key `job_id`, as a plain JSON-ready dict.

`FIELDS` is the single field list behind both index adapters: the SQLite schema and the Azure AI
Search index definition are generated from it, so they cannot drift apart. Field names are the
contract's (more may be added, none renamed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple, TypedDict, cast


class SearchDocument(TypedDict, total=False):
    """One job's search document: the fields of `FIELDS`, by name and type (a test checks that
    both agree). Adapters may return some fields only (a projection); None where unknown."""

    job_id: str
    created_at: str
    updated_at: str | None
    status: str | None
    user: str
    project: str
    function_name: str | None
    node_type: str | None
    dep_hash: str | None
    image_hash: str | None
    python_version: str | None
    packages: list[str]
    package_names: list[str]
    use_gpu: bool | None
    duration_seconds: float | None
    exit_code: int | None
    cost_usd: float | None
    tags: list[str]
    retain: bool | None
    artifact_names: list[str]
    artifact_bytes: int | None
    log_bytes: int | None
    created_week: str | None
    created_month: str | None
    log_errors: int | None
    log_lines: int | None
    log_last_error: str | None
    error_signature: str | None
    error_pattern: str | None
    tier: str | None
    metrics_last: dict[str, float]
    source_version: str | None


class FieldType(StrEnum):
    STRING = "string"
    DATETIME = "datetime"  # ISO 8601 text in UTC with Z, e.g. 2025-12-04T14:30:22Z
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STRINGS = "strings"  # a list of strings
    METRICS = "metrics"  # {name: number}; a collection of {name, value} in Azure AI Search


@dataclass(frozen=True, slots=True)
class SearchField:
    name: str
    type: FieldType
    key: bool = False
    filterable: bool = True
    sortable: bool = False
    facetable: bool = False
    searchable: bool = False
    description: str = ""

    @property
    def is_collection(self) -> bool:
        return self.type in {FieldType.STRINGS, FieldType.METRICS}


_S, _D, _B, _I, _F, _L = (
    FieldType.STRING,
    FieldType.DATETIME,
    FieldType.BOOL,
    FieldType.INT,
    FieldType.FLOAT,
    FieldType.STRINGS,
)

FIELDS: tuple[SearchField, ...] = (
    SearchField("job_id", _S, key=True, sortable=True, description="the job ID"),
    SearchField("created_at", _D, sortable=True, description="creation time (UTC)"),
    SearchField("updated_at", _D, sortable=True, description="last metadata update (UTC)"),
    SearchField(
        "status", _S, facetable=True, description="queued|running|completed|failed|cancelled"
    ),
    SearchField("user", _S, facetable=True, sortable=True, description="owner (sanitized)"),
    SearchField("project", _S, facetable=True, sortable=True, description="project (sanitized)"),
    SearchField("function_name", _S, facetable=True, searchable=True, description="function run"),
    SearchField("node_type", _S, facetable=True, description="config.node_type"),
    SearchField("dep_hash", _S, facetable=True, description="8 hex: the job ID's dependency hash"),
    SearchField("image_hash", _S, facetable=True, description="12 hex: dependencies.hash"),
    SearchField("python_version", _S, facetable=True, description="dependencies.python_version"),
    SearchField("packages", _L, facetable=True, description="name==version as in the metadata"),
    SearchField("package_names", _L, facetable=True, description="PEP 503 normalized names"),
    SearchField("use_gpu", _B, facetable=True, description="dependencies.use_gpu"),
    SearchField("duration_seconds", _F, sortable=True, description="execution.duration_seconds"),
    SearchField("exit_code", _I, facetable=True, description="execution.exit_code"),
    SearchField("cost_usd", _F, sortable=True, description="duration x node-type hourly price"),
    SearchField("tags", _L, facetable=True, description="key=value of the metadata tags"),
    SearchField("retain", _B, facetable=True, description="tags.retain == true"),
    SearchField("artifact_names", _L, description="artifact file names"),
    SearchField("artifact_bytes", _I, sortable=True, description="sum of artifact sizes"),
    SearchField("log_bytes", _I, sortable=True, description="size of the job's log"),
    SearchField(
        "created_week",
        _S,
        facetable=True,
        description="Monday (UTC) of the creation week, YYYY-MM-DD",
    ),
    SearchField("created_month", _S, facetable=True, description="creation month, YYYY-MM"),
    SearchField("log_errors", _I, sortable=True, description="ERROR and CRITICAL log lines"),
    SearchField("log_lines", _I, sortable=True, description="records in the log"),
    SearchField(
        "log_last_error",
        _S,
        filterable=False,
        searchable=True,
        description="message of the last ERROR/CRITICAL record",
    ),
    SearchField(
        "error_signature",
        _S,
        facetable=True,
        description="12 hex: fingerprint of error_pattern (shared.signatures)",
    ),
    SearchField(
        "error_pattern",
        _S,
        filterable=False,
        description="the last exception (or error) with its varying parts masked",
    ),
    SearchField("tier", _S, facetable=True, description="access tier of the job's log"),
    SearchField("metrics_last", FieldType.METRICS, description="last value of each numeric metric"),
    SearchField(
        "source_version",
        _S,
        filterable=False,
        description="metadata.json version indexed: sequencer or etag (event order)",
    ),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
FIELD_NAMES = tuple(f.name for f in FIELDS)


class JsonDocument(NamedTuple):
    """A search document as JSON text, ready to send as it is (`--json`, the API), and the
    three values a page's cursor needs: the sort field's value, `created_at` and `job_id`."""

    json: bytes
    sort_value: Any
    created_at: str
    job_id: str


KEY_FIELD: Final = "job_id"


def empty_document(job_id: str) -> SearchDocument:
    """A document with every field present: lists empty, the rest None."""
    raw: dict[str, Any] = {f.name: ([] if f.type is _L else None) for f in FIELDS}
    raw.update(job_id=job_id, metrics_last={})
    return as_document(raw)


def as_document(raw: Mapping[str, Any]) -> SearchDocument:
    """A dict whose keys are document fields (an adapter's row), typed as a document: the one
    place an untyped mapping becomes a `SearchDocument`."""
    return cast(SearchDocument, dict(raw))


def value_text(value: object) -> str:
    """A field value as a facet shows it: booleans `true`/`false`, the rest as `str`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_datetime(moment: datetime) -> str:
    """The one text form of times in documents (UTC, milliseconds, `Z`): sorts as it compares."""
    # %-formatting the fields: twice as fast as isoformat and slicing, 3x strftime (ingest
    # formats two times per job); isoformat's milliseconds truncate the same way.
    utc = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond // 1000,
    )


def parse_datetime(text: str) -> datetime:
    """A document time (or any ISO 8601 time with a zone) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no timezone")
    return moment.astimezone(UTC)
