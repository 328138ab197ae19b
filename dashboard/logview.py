"""The log view: pages of log lines from a byte offset, filtered by level and text.

A 100 MB log is never read whole: a page reads from `offset` until it has `limit` matching lines
or has scanned `budget` bytes, and says where the next page starts (`next_offset`, and the line
number there, so numbering stays right when paging). Lines that cannot match are skipped on their
bytes, without parsing. A trailing line without its newline (a running job mid-write) is left
for the next page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from query.logs import parse_level
from shared.errors import BlobArchived, BlobNotFound, StorageError
from shared.gunzip import gunzip, written_by_pipeline
from shared.jobid import JobId
from shared.layout import archived_log_path, log_path
from shared.logrecords import LEVEL_RANK, LEVELS
from shared.ports import BlobStore

PAGE_LINES = 500
PAGE_BUDGET = 8 << 20
READ_CHUNK = 4 << 20
FIRST_RANGE = 256 << 10
_ESCAPE = b"\\u00"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line as the page shows it (`number` counts from 1)."""

    number: int
    offset: int
    level: str
    timestamp: str
    logger: str
    message: str
    exception: str | None = None
    extra: str | None = None


@dataclass(frozen=True, slots=True)
class LogPage:
    """Matching lines, where the next page starts, and whether the stored end was reached."""

    lines: list[LogLine]
    next_offset: int
    next_line: int
    end: bool


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which lines a page shows: a minimum level and a case-insensitive text."""

    minimum: str | None = None
    text: str = ""

    @classmethod
    def of(cls, level: str | None, text: str | None) -> LogFilter:
        """From the page's parameters; an unknown level is `InvalidInput`."""
        return cls(parse_level(level), (text or "").strip()[:500])

    @property
    def levels(self) -> frozenset[str]:
        rank = LEVEL_RANK[self.minimum] if self.minimum else 0
        return frozenset(name for name in LEVELS if LEVEL_RANK[name] >= rank)

    def could_match(self, raw: bytes) -> bool:
        """False only when the bytes prove the line cannot match (no parse needed)."""
        if _ESCAPE in raw:
            return True
        if self.minimum and not any(
            b'"level":"' + name.encode() + b'"' in raw for name in self.levels
        ):
            return False
        needle = self.text.lower().encode()
        return not needle or b'"' in needle or b"\\" in needle or needle in raw.lower()

    def accepts(self, line: LogLine) -> bool:
        if self.minimum and line.level not in self.levels:
            return False
        if not self.text:
            return True
        needle = self.text.lower()
        return any(
            needle in (part or "").lower()
            for part in (line.message, line.logger, line.exception, line.extra)
        )


def parse_log_line(raw: bytes, number: int, offset: int) -> LogLine:
    """A stored line as shown: a record's fields, or the raw text of a line that is not one."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return LogLine(number, offset, "INFO", "", "", raw.decode("utf-8", "replace"))
    level = record.get("level")
    return LogLine(
        number,
        offset,
        level if level in LEVEL_RANK else "INFO",
        str(record.get("timestamp", "")),
        str(record.get("logger", "")),
        str(record.get("message", "")),
        _exception(record.get("exception")),
        _extra(record),
    )


def _exception(value: Any) -> str | None:
    if not value:
        return None
    if isinstance(value, dict):
        trace = value.get("stacktrace") or value.get("traceback")
        head = f"{value.get('type', 'Exception')}: {value.get('message', '')}"
        return str(trace) if trace else head
    return str(value)


def _extra(record: dict[str, Any]) -> str | None:
    parts = {k: record[k] for k in ("metrics", "extra", "context", "duration_ms") if k in record}
    return orjson.dumps(parts, default=str).decode() if parts else None


def scan(
    chunks: Iterable[bytes],
    *,
    offset: int,
    line: int,
    wanted: LogFilter,
    limit: int = PAGE_LINES,
    budget: int = PAGE_BUDGET,
) -> LogPage:
    """One page from `chunks` (the log's bytes from `offset`, where line `line` + 1 starts)."""
    found: list[LogLine] = []
    position, number = offset, line
    for raw, start, end in _lines(chunks, offset):
        number += 1
        position = end
        if wanted.could_match(raw):
            shown = parse_log_line(raw, number, start)
            if wanted.accepts(shown):
                found.append(shown)
        if len(found) >= limit or position - offset >= budget:
            return LogPage(found, position, number, end=False)
    return LogPage(found, position, number, end=True)


def _lines(chunks: Iterable[bytes], offset: int) -> Iterator[tuple[bytes, int, int]]:
    """(line without newline, its start offset, the offset after its newline); a trailing
    partial line is not yielded."""
    pending = bytearray()
    base = offset  # offset of pending[0]
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if pending:
                pending += chunk[start:end]
                raw = bytes(pending)
                pending.clear()
            else:
                raw = chunk[start:end]
            line_start = base
            base = line_start + len(raw) + 1
            yield raw.rstrip(b"\r"), line_start, base
            start = end + 1
        pending += chunk[start:]


def log_size(blobs: BlobStore, job: JobId) -> int | None:
    """The plain log's size in bytes (None when only the gzip copy is readable)."""
    props = blobs.props(log_path(job))
    return props.size if props is not None and props.tier != "Archive" else None


def log_chunks(blobs: BlobStore, job: JobId, offset: int, length: int) -> Iterator[bytes]:
    """Up to `length` bytes of the job's log from `offset`: range reads of the plain log, or
    the gzip copy streamed and skipped up to `offset` when the plain log is gone."""
    plain = blobs.props(log_path(job))
    if plain is not None and plain.tier != "Archive":
        return _growing_ranges(blobs, plain.name, offset, min(offset + length, plain.size))
    packed = blobs.props(archived_log_path(job))
    if packed is not None and packed.tier != "Archive":
        if not written_by_pipeline(packed):
            raise StorageError(packed.name, "was not written by the pipeline: not read")
        return _skip(gunzip(blobs.read_chunks(packed.name), packed.name), offset)
    if plain is not None or packed is not None:
        raise BlobArchived(f"log of job {job}", "is in the Archive tier: rehydrate it to read it")
    raise BlobNotFound(f"log of job {job}", "does not exist (yet)")


def _growing_ranges(blobs: BlobStore, name: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes [start, end) as range reads of 256 KiB, then doubling up to 4 MiB: a first page
    (500 lines are ~100 KB) costs one small GET, a long scan few large ones."""
    size, position = FIRST_RANGE, start
    while position < end:
        length = min(size, end - position)
        yield from blobs.read_chunks(
            name, offset=position, length=length, chunk_size=length, verify_ranges=False
        )
        position += length
        size = min(size * 2, READ_CHUNK)


def _skip(chunks: Iterable[bytes], offset: int) -> Iterator[bytes]:
    left = offset
    for chunk in chunks:
        if left >= len(chunk):
            left -= len(chunk)
            continue
        yield chunk[left:]
        left = 0
