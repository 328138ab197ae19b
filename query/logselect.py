"""Which log lines a reader wants, as logcli users ask for them: a time window (`--since 1h`,
`--from`, `--to`), text or a regular expression in the message (`--grep`), one of the job's
output streams (`--stream stdout`), a minimum level, and the last N (`--tail`), also while
following a running job (`--tail N --follow`, as `tail -n N -f`).

Pure: a `LogSelection` is built from the user's words and a clock's now, and applied to the
stored lines (raw bytes kept, so `--json` still prints them unchanged).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import orjson

from query.logs import whole_lines
from shared.errors import InvalidInput
from shared.logrecords import LEVEL_RANK

STREAMS = {"stdout": "ascend.job.stdout", "stderr": "ascend.job.stderr"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True, slots=True)
class Line:
    """One stored line: its bytes as stored (without the newline) and its record (None: bad)."""

    raw: bytes
    record: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class LogSelection:
    """The lines wanted; every part optional."""

    minimum: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    pattern: re.Pattern[str] | None = None
    logger: str | None = None
    tail: int | None = None

    @property
    def filters(self) -> bool:
        """Whether anything beyond the level is asked for (the level has a faster path)."""
        return any(
            x is not None for x in (self.start, self.end, self.pattern, self.logger, self.tail)
        )

    def wants(self, record: dict[str, Any]) -> bool:
        """Whether one record passes every part of the selection but `tail`."""
        if self.minimum and LEVEL_RANK.get(str(record.get("level")), -1) < LEVEL_RANK[self.minimum]:
            return False
        if self.logger and record.get("logger") != self.logger:
            return False
        if self.start or self.end:
            moment = _time(record.get("timestamp"))
            if (
                moment is None
                or (self.start and moment < self.start)
                or (self.end and moment >= self.end)
            ):
                return False
        return not (self.pattern and not self.pattern.search(str(record.get("message", ""))))


def selection(
    *,
    minimum: str | None = None,
    since: str | None = None,
    start: str | None = None,
    end: str | None = None,
    grep: str | None = None,
    regex: bool = False,
    ignore_case: bool = False,
    stream: str | None = None,
    tail: int | None = None,
    now: datetime,
) -> LogSelection:
    """A `LogSelection` from the user's words, or `InvalidInput` naming the option."""
    if since and start:
        raise InvalidInput("--since/--from", "give one of them, not both")
    begin = (
        parse_moment(since, now, "--since")
        if since
        else (parse_moment(start, now, "--from") if start else None)
    )
    until = parse_moment(end, now, "--to") if end else None
    if stream is not None and stream.lower() not in STREAMS:
        raise InvalidInput(f"--stream {stream!r}", "must be stdout or stderr")
    return LogSelection(
        minimum=minimum,
        start=begin,
        end=until,
        pattern=_pattern(grep, regex, ignore_case),
        logger=STREAMS[stream.lower()] if stream else None,
        tail=tail,
    )


def parse_moment(text: str, now: datetime, option: str) -> datetime:
    """`1h`, `30m`, `2d`, `1w` back from now, or an ISO 8601 date/time (UTC when no zone)."""
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match[1]) * _SECONDS[match[2].lower()])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r}",
            "is neither a duration (30s, 15m, 1h, 2d, 1w) "
            "nor an ISO 8601 time (2026-03-14T12:00:00Z)",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def select(chunks: Iterable[bytes], wanted: LogSelection) -> Iterator[Line]:
    """The stored lines the selection wants, in order (the last `tail` of them with `tail`).
    Lines that are not records pass only when nothing but the level filters."""
    lines = _wanted_lines(chunks, wanted)
    if wanted.tail is None:
        return lines
    return iter(deque(lines, maxlen=wanted.tail))


def select_following(chunks: Iterable[bytes], wanted: LogSelection, held: int) -> Iterator[Line]:
    """`tail -n N -f`: the last `wanted.tail` wanted lines of the first `held` bytes (the log as
    it was when asked), then every wanted line after them as it comes."""
    source = iter(chunks)
    rest: list[bytes] = []
    if wanted.tail is not None and held > 0:
        yield from deque(
            _wanted_lines(_first_bytes(source, held, rest), wanted), maxlen=wanted.tail
        )
    yield from _wanted_lines(chain(rest, source), wanted)


def _first_bytes(source: Iterator[bytes], size: int, rest: list[bytes]) -> Iterator[bytes]:
    """The chunks up to `size` bytes, ended at a whole line; the bytes after go to `rest`."""
    seen = 0
    for chunk in source:
        if seen + len(chunk) < size:
            seen += len(chunk)
            yield chunk
            continue
        cut = chunk.rfind(b"\n", 0, size - seen) + 1 or size - seen
        yield chunk[:cut]
        rest.append(chunk[cut:])
        return


def _wanted_lines(chunks: Iterable[bytes], wanted: LogSelection) -> Iterator[Line]:
    for block in whole_lines(chunks):
        for piece in block.to_bytes().split(b"\n"):
            raw = piece.rstrip(b"\r")
            if not raw.strip():
                continue
            record = _record(raw)
            if record is None:
                if not wanted.filters and wanted.minimum is None:
                    yield Line(raw, None)
                continue
            if wanted.wants(record):
                yield Line(raw, record)


def _record(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _pattern(grep: str | None, regex: bool, ignore_case: bool) -> re.Pattern[str] | None:
    if grep is None:
        return None
    flags = re.IGNORECASE if ignore_case else 0
    try:
        return re.compile(grep if regex else re.escape(grep), flags)
    except re.error as exc:
        raise InvalidInput(f"--grep {grep!r}", f"is not a regular expression: {exc}") from None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
