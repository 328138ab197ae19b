"""What a job's log says, in one streaming pass: record count, ERROR/CRITICAL count, the last
error's message, the masked pattern of what went wrong (`shared.signatures`), and the last
value of each numeric metric (`metrics_last`).

`summarize` is pure (records in, `LogStats` out); `read_log_stats` streams a blob through it
chunk by chunk, never holding more than one line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from shared.errors import BlobArchived, BlobNotFound, PreconditionFailed, StorageError
from shared.jobdocument import LogStats
from shared.logrecords import ERROR_LEVELS, BadLine, iter_log_lines
from shared.ports import BlobProps, BlobStore
from shared.signatures import error_pattern

MAX_ERROR_MESSAGE = 1024
ONE_REQUEST_BYTES = (4 << 20) - 1  # the largest range the SDK reads with an MD5 check


class LogSummarizer:
    """Folds log records (and bad lines) into `LogStats`, one record at a time."""

    def __init__(self) -> None:
        self.lines = 0
        self.errors = 0
        self.bad_lines = 0
        self.last_error: str | None = None
        self.last_exception: tuple[str, str] | None = None
        self.metrics: dict[str, float] = {}

    def add(self, record: dict[str, Any] | BadLine) -> None:
        if isinstance(record, BadLine):
            self.bad_lines += 1
            return
        self.lines += 1
        if record.get("level") in ERROR_LEVELS:
            self.errors += 1
            self.last_error = str(record.get("message", ""))[:MAX_ERROR_MESSAGE]
            self._note_exception(record.get("exception"))
        metrics = record.get("metrics")
        if isinstance(metrics, dict):
            self.metrics.update(numeric_metrics(metrics))

    def _note_exception(self, exception: Any) -> None:
        if isinstance(exception, dict) and exception.get("type"):
            self.last_exception = (
                str(exception["type"]),
                str(exception.get("message", ""))[:MAX_ERROR_MESSAGE],
            )

    def result(self) -> LogStats:
        return LogStats(
            self.lines,
            self.errors,
            self.last_error,
            dict(self.metrics),
            self.bad_lines,
            self._error_pattern(),
        )

    def _error_pattern(self) -> str | None:
        """What went wrong, masked: the last exception an ERROR/CRITICAL record carried (a
        crash is usually followed by a bare "Function crashed"), else the last error message.
        """
        if self.last_exception is not None:
            return error_pattern(*self.last_exception)
        return error_pattern(None, self.last_error) if self.errors else None


def numeric_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite numeric values of a record's `metrics` (booleans and text are not metrics)."""
    return {
        str(name): float(value)
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def summarize(records: Iterable[dict[str, Any] | BadLine]) -> LogStats:
    """`LogStats` of a stream of records."""
    summarizer = LogSummarizer()
    for record in records:
        summarizer.add(record)
    return summarizer.result()


def read_log_stats(blobs: BlobStore, name: str, *, length: int | None = None) -> LogStats:
    """Stream the blob `name` (its first `length` bytes) once and summarize it."""
    return summarize(iter_log_lines(blobs.read_chunks(name, length=length)))


def read_listed_log_stats(blobs: BlobStore, log: BlobProps) -> LogStats:
    """Stats of exactly the version of the log that was listed (`PreconditionFailed` if it has
    changed since). A log that fits in one chunk is read in one request, with the same memory
    bound as one chunk of the stream; a larger one is streamed chunk by chunk."""
    if log.size > ONE_REQUEST_BYTES:
        return read_log_stats(blobs, log.name, length=log.size)
    try:
        blob = blobs.read(log.name, max_bytes=ONE_REQUEST_BYTES)
    except (BlobArchived, BlobNotFound):
        raise
    except StorageError as exc:  # grew past one request since it was listed
        raise PreconditionFailed(log.name, f"changed since it was listed ({exc.reason})") from exc
    if blob.props.etag != log.etag:
        raise PreconditionFailed(log.name, "changed since it was listed")
    return stats_of(blob.data)


def stats_of(data: bytes) -> LogStats:
    """Stats of a whole log already in memory."""
    return summarize(iter_log_lines([data]))
