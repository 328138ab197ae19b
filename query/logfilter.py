"""A fast level filter over a job's log bytes: pure, byte chunks in, lines or records out.

It holds at most one chunk plus one partial line, and keeps the order. Its fast path never
parses a line that cannot match: it searches each chunk for the quoted names of the wanted
levels (`"ERROR"`, `"CRITICAL"`) with `bytes.find`, and confirms only those lines with `orjson`.
Lines where a JSON escape (`\\u0045`...) could spell a level without its plain bytes are
confirmed too, so the result is always exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import InvalidInput
from shared.logrecords import LEVEL_RANK, LEVELS, MAX_LINE_BYTES

Record = dict[str, Any]
_ESCAPES = (b"\\u004", b"\\u005")


def parse_level(text: str | None) -> str | None:
    """A user's minimum level (any ASCII case, spaces or tabs around it), or None for no
    filter; `InvalidInput` if unknown. Exactly what the API's documented pattern says."""
    stripped = (text or "").strip(" \t")
    if not stripped:
        return None
    level = stripped.upper() if stripped.isascii() else ""  # `ı`.upper() is `I`: not a level
    level = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)
    if level not in LEVEL_RANK:
        raise InvalidInput(f"level {text!r}", f"must be one of {', '.join(LEVELS)}")
    return level


@dataclass(frozen=True, slots=True)
class LevelFilter:
    """Which lines pass: records whose `level` ranks at least `minimum` (None: every line)."""

    minimum: str | None
    levels: frozenset[str]
    tokens: tuple[bytes, ...]

    @classmethod
    def at_least(cls, minimum: str | None) -> LevelFilter:
        """The filter of `minimum` and above. Its tokens are bytes every matching line holds
        unless it spells its level with escapes: the opening quote and the name without its
        last letter (`"ERRO`); ending on an uppercase letter, rare in logs, lets `bytes.find`
        skip ahead much further than a closing quote would."""
        rank = LEVEL_RANK[minimum] if minimum else 0
        levels = frozenset(name for name in LEVELS if LEVEL_RANK[name] >= rank)
        return cls(minimum, levels, tuple(b'"' + name[:-1].encode() for name in sorted(levels)))

    def matches(self, line: bytes) -> Record | None:
        """The record of `line` if it is a JSON object with a wanted level, else None."""
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if isinstance(record, dict) and record.get("level") in self.levels:
            return record
        return None


@dataclass(frozen=True, slots=True)
class Lines:
    """Whole lines `data[start:end]`, each ending in `\\n`: a view of a chunk, not a copy."""

    data: bytes
    start: int
    end: int

    def to_bytes(self) -> bytes:
        return self.data[self.start : self.end]


def whole_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE_BYTES) -> Iterator[Lines]:
    """The chunks as runs of whole lines. Only a line split between chunks is copied; a last
    line without `\\n` gets one; a line longer than `max_line` is dropped (memory stays flat)."""
    pending, dropping = b"", False
    for chunk in chunks:
        first = chunk.find(b"\n")
        if first < 0:
            dropping = dropping or len(pending) + len(chunk) > max_line
            pending = b"" if dropping else pending + chunk
            continue
        start = 0
        if pending or dropping:
            if not dropping:
                yield Lines(pending + chunk[: first + 1], 0, len(pending) + first + 1)
            start, dropping = first + 1, False
        end = chunk.rfind(b"\n") + 1
        if start < end:
            yield Lines(chunk, start, end)
        dropping = len(chunk) - end > max_line
        pending = b"" if dropping else chunk[end:]
    if pending:
        yield Lines(pending + b"\n", 0, len(pending) + 1)


def matching_lines(lines: Lines, wanted: LevelFilter) -> Iterator[tuple[int, int, Record]]:
    """(start, end, record) of each line of `lines` that passes, in order."""
    if wanted.minimum is None or wanted.minimum == LEVELS[0]:
        starts: Iterable[int] = _line_starts(lines)
    else:
        starts = sorted(_token_starts(lines, wanted.tokens) | _escape_starts(lines))
    data = lines.data
    for start in starts:
        end = data.find(b"\n", start) + 1
        record = wanted.matches(data[start:end])
        if record is not None:
            yield start, end, record


def _line_starts(lines: Lines) -> Iterator[int]:
    start = lines.start
    while start < lines.end:
        yield start
        start = lines.data.find(b"\n", start) + 1


def _token_starts(lines: Lines, tokens: tuple[bytes, ...]) -> set[int]:
    data, end = lines.data, lines.end
    starts: set[int] = set()
    for token in tokens:
        position = data.find(token, lines.start, end)
        while position >= 0:
            starts.add(data.rfind(b"\n", lines.start, position) + 1 or lines.start)
            position = data.find(token, data.find(b"\n", position), end)
    return starts


def _escape_starts(lines: Lines) -> set[int]:
    """Lines holding `\\u004X`/`\\u005X`: an uppercase letter spelled as a JSON escape, as a
    level could be written (an escaped backslash before `u004` only adds a harmless candidate)."""
    data, end = lines.data, lines.end
    starts: set[int] = set()
    for escape in _ESCAPES:
        position = data.find(escape, lines.start, end)
        while position >= 0:
            starts.add(data.rfind(b"\n", lines.start, position) + 1 or lines.start)
            position = data.find(escape, position + len(escape), end)
    return starts


def filter_raw(chunks: Iterable[bytes], minimum: str | None) -> Iterator[bytes]:
    """Blocks of the stored lines, unchanged, whose level ranks at least `minimum`; with no
    minimum every stored line passes through as it is (even one that is not a record)."""
    wanted = LevelFilter.at_least(minimum)
    for lines in whole_lines(chunks):
        if minimum is None:
            yield lines.to_bytes()
            continue
        data = lines.data
        kept = b"".join(data[start:end] for start, end, _ in matching_lines(lines, wanted))
        if kept:
            yield kept


def filter_records(chunks: Iterable[bytes], minimum: str | None) -> Iterator[Record]:
    """The records (parsed) whose level ranks at least `minimum`; lines that are not records
    with a known level are left out."""
    wanted = LevelFilter.at_least(minimum)
    for lines in whole_lines(chunks):
        for _, _, record in matching_lines(lines, wanted):
            yield record


# ---- the streams ---------------------------------------------------------------------------
