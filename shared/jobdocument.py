"""The search document of a job, derived from its metadata and its log: a pure function.

Shared by the indexer (which writes documents) and the query module (which builds one from
storage when the index cannot answer), so neither imports the other.

Derived fields: `dep_hash` from the job ID, `image_hash` = dependencies.hash, `package_names`
PEP 503 normalized, `cost_usd` = duration_seconds / 3600 x the node type's hourly price (0 for a
node type the price table does not know; None while the duration is unknown), `tags` as
`key=value`, `retain` from tags, artifact names and total bytes, the log's size, the creation
week (its Monday) and month for reports, and the log fields from
`LogStats` (None until the job is final and its log has been read), with the error's masked
`error_pattern` and its fingerprint `error_signature` (`shared.signatures`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from shared.documents import SearchDocument, empty_document, format_datetime
from shared.metadata import JobMetadata
from shared.packages import split_requirement
from shared.signatures import error_signature
from shared.tiers import Tier

DEFAULT_TIER = Tier.HOT


@dataclass(frozen=True, slots=True)
class LogStats:
    """The log-derived fields of a search document."""

    lines: int = 0
    errors: int = 0
    last_error: str | None = None
    metrics_last: dict[str, float] = field(default_factory=dict)
    bad_lines: int = 0
    error_pattern: str | None = None

    def digest(self) -> str:
        """A short fingerprint, stored with the by-date copy, to tell whether a document's log
        fields were computed from that copy."""
        return stats_digest(
            self.lines, self.errors, self.last_error, self.metrics_last, self.error_pattern
        )


def stats_digest(
    lines: Any, errors: Any, last_error: Any, metrics: Any, error_pattern: Any = None
) -> str:
    """The fingerprint of log-derived fields (from `LogStats` or from a stored document). The
    error pattern is part of it, so a document indexed before signatures existed is read again.
    """
    payload = orjson.dumps(
        [lines, errors, last_error, metrics or {}, error_pattern], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(payload).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class LogFacts:
    """What the indexer learned about the job's log: its stats (None: not read), tier and
    size in bytes (None: not looked at)."""

    stats: LogStats | None = None
    tier: str | None = None
    size: int | None = None


# Every field, in FIELDS' order; `build_document` sets each list field and `metrics_last`.
_BLANK: Final = empty_document("")


def build_document(
    meta: JobMetadata,
    *,
    prices: Mapping[str, float],
    source_version: str,
    log: LogFacts = LogFacts(),
    image_packages: Sequence[str] = (),
) -> SearchDocument:
    """The search document of `meta`; `image_packages` stand in when the metadata lists none."""
    deps, config, artifacts = meta.dependencies, meta.config, meta.artifacts
    packages = list(deps.packages or image_packages)
    duration = job_duration(meta)
    created = format_datetime(meta.created_at)
    # One dict display over the blank document: its key order (FIELDS') and every field, each
    # list and the metrics dict made anew. Ingest builds one per job, so no copies beyond that.
    return {
        **_BLANK,
        "job_id": meta.job_id,
        "created_at": created,
        "updated_at": format_datetime(meta.updated_at),
        "status": meta.status.value,
        "user": meta.user,
        "project": meta.project,
        "function_name": meta.function_name,
        "node_type": config.node_type,
        "dep_hash": meta.parsed_job_id.dep_hash,
        "image_hash": deps.hash,
        "python_version": deps.python_version,
        "packages": packages,
        "package_names": package_names(packages),
        "use_gpu": deps.use_gpu,
        "duration_seconds": duration,
        "exit_code": meta.execution.exit_code,
        "cost_usd": job_cost(duration, config.node_type, prices),
        "tags": [f"{key}={value}" for key, value in sorted(meta.tags.items())],
        "retain": meta.retain,
        "artifact_names": [a.name for a in artifacts],
        "artifact_bytes": sum(a.size_bytes for a in artifacts),
        "tier": log.tier or DEFAULT_TIER,
        "log_bytes": log.size,
        # the document's own time text: the same day and month as `week_of`/strftime give
        "created_week": _monday(created[:10]),
        "created_month": created[:7],
        "source_version": source_version,
        **log_fields(log.stats),
    }


def log_fields(stats: LogStats | None) -> SearchDocument:
    """The document's log fields (all None when the log has not been read)."""
    if stats is None:
        return {
            "log_lines": None,
            "log_errors": None,
            "log_last_error": None,
            "metrics_last": {},
            "error_pattern": None,
            "error_signature": None,
        }
    return {
        "log_lines": stats.lines,
        "log_errors": stats.errors,
        "log_last_error": stats.last_error,
        "metrics_last": dict(stats.metrics_last),
        "error_pattern": stats.error_pattern,
        "error_signature": error_signature(stats.error_pattern),
    }


def stats_from_document(doc: Mapping[str, object]) -> LogStats | None:
    """The log stats a stored document carries, or None when it has none."""
    lines, errors = doc.get("log_lines"), doc.get("log_errors")
    if not isinstance(lines, int) or not isinstance(errors, int):
        return None
    metrics = doc.get("metrics_last")
    last_error, pattern = doc.get("log_last_error"), doc.get("error_pattern")
    return LogStats(
        lines,
        errors,
        last_error if isinstance(last_error, str) else None,
        dict(metrics) if isinstance(metrics, dict) else {},
        error_pattern=pattern if isinstance(pattern, str) else None,
    )


def week_of(moment: datetime) -> str:
    """The Monday (UTC) that starts the week of `moment`, as YYYY-MM-DD: the `--by week` key."""
    return _monday(moment.astimezone(UTC).date().isoformat())


@functools.lru_cache(maxsize=1 << 12)  # jobs of a load fall on few days: one date parse each
def _monday(day: str) -> str:
    """The Monday of the day `YYYY-MM-DD`, in the same form."""
    date = datetime.fromisoformat(day).date()
    return (date - timedelta(days=date.weekday())).isoformat()


def job_duration(meta: JobMetadata) -> float | None:
    """execution.duration_seconds, or end - start when only the times are given."""
    run = meta.execution
    if run.duration_seconds is not None:
        return float(run.duration_seconds)
    if run.start_time and run.end_time:
        return (run.end_time - run.start_time).total_seconds()
    return None


def job_cost(
    duration: float | None, node_type: str | None, prices: Mapping[str, float]
) -> float | None:
    """Node-hours x hourly price, in USD, rounded to 1/10000 of a cent; 0 for unknown nodes."""
    if duration is None:
        return None
    price = prices.get(node_type or "", 0.0)
    return round(duration / 3600.0 * price, 6)


def package_names(packages: Sequence[str]) -> list[str]:
    """PEP 503 normalized names of requirement strings, in first-seen order, without repeats."""
    return list(_package_names(tuple(packages)))


@functools.lru_cache(maxsize=1 << 14)  # jobs share few dependency sets: one walk per set
def _package_names(packages: tuple[str, ...]) -> tuple[str, ...]:
    names = dict.fromkeys(package_name(spec) for spec in packages)
    return tuple(n for n in names if n)


def package_name(spec: str) -> str:
    """The PEP 503 name of one requirement string (best effort for ones that do not parse)."""
    return split_requirement(spec)[0]
