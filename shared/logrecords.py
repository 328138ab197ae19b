"""The JSON Lines record of a job's log: writing it (a `logging.Formatter`) and reading it back.

A record is one JSON object on one line with the required fields `timestamp` (ISO 8601, UTC,
microseconds), `level`, `logger`, `job_id`, `user`, `project`, `message`, and the optional
`context`, `extra`, `exception`, `duration_ms`, `metrics`.

`JobLogFormatter` emits exactly that for standard `logging` records, with the job's context bound
once. `iter_log_lines` streams records out of byte chunks (a blob download, a file) without
holding more than one line at a time, and reports bad lines as `BadLine` values instead of failing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
REQUIRED_FIELDS = ("timestamp", "level", "logger", "job_id", "user", "project", "message")
OPTIONAL_FIELDS = ("context", "extra", "exception", "duration_ms", "metrics")
MAX_LINE_BYTES = 1 << 20

# Attributes every LogRecord has; anything else passed through `extra=` becomes record `extra`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_OWN_KEYS = frozenset({"context", "duration_ms", "metrics"})


@dataclass(frozen=True, slots=True)
class JobContext:
    """What every record of one job carries: bound once, when the job's logging starts."""

    job_id: str
    user: str
    project: str
    context: Mapping[str, Any] = field(default_factory=dict)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 with microseconds, in UTC, with a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_level(levelname: str) -> str:
    """Map Python level names (including WARN, FATAL and custom ones) onto the five levels."""
    name = levelname.upper()
    if name in LEVEL_RANK:
        return name
    return {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, "INFO")


def make_record(
    job: JobContext,
    *,
    level: str,
    logger: str,
    message: str,
    when: datetime,
    **optional: Any,
) -> dict[str, Any]:
    """A record dict in field order; optional fields that are None or empty are left out."""
    record: dict[str, Any] = {
        "timestamp": format_timestamp(when),
        "level": normalize_level(level),
        "logger": logger,
        "job_id": job.job_id,
        "user": job.user,
        "project": job.project,
        "message": message,
    }
    context = {**job.context, **(optional.pop("context", None) or {})}
    if context:
        record["context"] = context
    for key in OPTIONAL_FIELDS:
        value = optional.get(key)
        if value not in (None, {}, []):
            record[key] = value
    return record


def dump_record(record: Mapping[str, Any]) -> bytes:
    """One line of JSON (with the newline); values JSON cannot hold become strings."""
    return orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE)


class JobLogFormatter(logging.Formatter):
    """Formats `logging` records as the JSON Lines records of one job's log."""

    def __init__(self, job: JobContext) -> None:
        super().__init__()
        self.job = job

    def format(self, record: logging.LogRecord) -> str:
        # Without the newline, as `logging.Formatter.format` is: stream handlers add their own.
        return self.to_line(record).decode().removesuffix("\n")

    def to_record(self, record: logging.LogRecord) -> dict[str, Any]:
        extra = {
            k: v
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and k not in _OWN_KEYS and not k.startswith("_")
        }
        return make_record(
            self.job,
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
            when=datetime.fromtimestamp(record.created, UTC),
            context=getattr(record, "context", None),
            extra=extra,
            exception=_exception(record),
            duration_ms=getattr(record, "duration_ms", None),
            metrics=getattr(record, "metrics", None),
        )

    def to_line(self, record: logging.LogRecord) -> bytes:
        return dump_record(self.to_record(record))


def _exception(record: logging.LogRecord) -> dict[str, str] | None:
    if not record.exc_info or record.exc_info[0] is None:
        return None
    kind, value, tb = record.exc_info
    return {
        "type": kind.__name__,
        "message": str(value),
        "stacktrace": "".join(traceback.format_exception(kind, value, tb)),
    }


class JobLogHandler(logging.Handler):
    """A logging handler that formats records of one job and hands each line to `sink`.

    `sink` is typically `LogStreamer.write`; a failing sink is counted, never raised, so logging
    can never break the job.
    """

    def __init__(self, job: JobContext, sink: Any, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.formatter_ = JobLogFormatter(job)
        self.sink = sink
        self.failures = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(self.formatter_.to_line(record))
        except Exception:
            self.failures += 1


# ---- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a valid record: where, why, and its first bytes."""

    line_number: int
    reason: str
    raw: bytes


def split_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines (without `\\n`) from byte chunks; a line longer than `max_line` is cut and flagged."""
    pending = bytearray()
    for chunk in chunks:
        if not chunk:
            continue
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                pending += chunk[start:]
                if len(pending) > max_line:
                    # Keep only a prefix: the line is reported bad, memory stays bounded.
                    del pending[max_line + 1 :]
                break
            if pending:
                pending += chunk[start:end]
                yield bytes(pending)
                pending.clear()
            else:
                yield chunk[start:end]
            start = end + 1
    if pending:
        yield bytes(pending)


def parse_line(line: bytes, line_number: int) -> dict[str, Any] | BadLine:
    """One line as a record, or a `BadLine` saying why not."""
    if len(line) > MAX_LINE_BYTES:
        return BadLine(line_number, f"longer than {MAX_LINE_BYTES} bytes", line[:200])
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return BadLine(line_number, f"not valid JSON ({exc.msg})", line[:200])
    if not isinstance(record, dict):
        return BadLine(line_number, "not a JSON object", line[:200])
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        return BadLine(line_number, f"missing {', '.join(missing)}", line[:200])
    level = record["level"]
    if not isinstance(level, str) or level not in LEVEL_RANK:  # a list or dict is unhashable
        return BadLine(line_number, f"unknown level {str(level)[:40]!r}", line[:200])
    return record


def iter_log_lines(chunks: Iterable[bytes]) -> Iterator[dict[str, Any] | BadLine]:
    """Records and bad lines, in order, streamed from byte chunks; blank lines are skipped."""
    for number, line in enumerate(split_lines(chunks), start=1):
        if line.strip():
            yield parse_line(line.rstrip(b"\r"), number)
