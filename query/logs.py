"""Reading a job's log: a fast level filter over byte chunks, and the blob streams it reads.

The filter is pure: byte chunks in, complete lines (or records) out, in order, holding at most one
chunk plus one partial line. Its fast path never parses a line that cannot match: it searches each
chunk for the quoted names of the wanted levels (`"ERROR"`, `"CRITICAL"`) with `bytes.find`,
and confirms only those lines with `orjson`. Lines where a JSON escape (`\\u0045`...) could spell
a level without its plain bytes are confirmed too, so the result is always exact.

The streams around it: the stored log (`job.log.jsonl`, any blob type), the lifecycle's gzip copy
(`job.log.jsonl.gz`, gunzipped as it streams) when the plain log is gone or archived, and a tail
of a running job's append blob by range reads from the last offset.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import BlobArchived, BlobNotFound, InvalidInput, StorageError
from shared.gunzip import gunzip, written_by_pipeline
from shared.jobid import JobId
from shared.layout import archived_log_path, log_path
from shared.logrecords import LEVEL_RANK, LEVELS, MAX_LINE_BYTES
from shared.ports import BlobProps, BlobStore

Record = dict[str, Any]
BULK_RANGE = 16 << 20
_ESCAPES = (b"\\u004", b"\\u005")


def parse_level(text: str | None) -> str | None:
    """A user's minimum level (any case), or None for no filter; `InvalidInput` if unknown."""
    if text is None or not text.strip():
        return None
    level = text.strip().upper()
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


def stored_log(blobs: BlobStore, job: JobId) -> Iterator[bytes]:
    """The job's stored log as byte chunks: the plain log, else the gzip copy, gunzipped."""
    plain = blobs.props(log_path(job))
    if plain is not None and plain.tier != "Archive":
        return _bulk(blobs, plain)
    packed = blobs.props(archived_log_path(job))
    if packed is not None and packed.tier != "Archive":
        if not written_by_pipeline(packed):
            raise StorageError(packed.name, "was not written by the pipeline: not read")
        return gunzip(_bulk(blobs, packed), packed.name)
    if plain is not None or packed is not None:
        raise BlobArchived(f"log of job {job}", "is in the Archive tier: rehydrate it to read it")
    raise BlobNotFound(f"log of job {job}", "does not exist (yet)")


def _bulk(blobs: BlobStore, props: BlobProps) -> Iterator[bytes]:
    # Big ranges without a per-range MD5 read several times faster than 4 MiB verified ones
    # (bench.logs). A blob with a Content-MD5 (a block blob copy) is read in order so the
    # adapter can check the whole of it; an append blob (the usual log) has no MD5 to check,
    # so its ranges are fetched two at a time, which beats one streamed download.
    if props.content_md5:
        return blobs.read_chunks(props.name, chunk_size=BULK_RANGE, verify_ranges=False)
    return parallel_ranges(blobs, props.name, props.size, range_size=BULK_RANGE)


def parallel_ranges(blobs: BlobStore, name: str, size: int, *, range_size: int = BULK_RANGE,
                    workers: int = 2) -> Iterator[bytes]:
    """The first `size` bytes of a blob as ranges fetched `workers` at a time, yielded in
    order; at most `workers + 1` ranges are held at once."""
    def fetch(offset: int) -> bytes:
        length = min(range_size, size - offset)
        return b"".join(blobs.read_chunks(name, offset=offset, length=length,
                                          chunk_size=length, verify_ranges=False))

    with ThreadPoolExecutor(workers, thread_name_prefix="log-range") as pool:
        window: deque[Future[bytes]] = deque()
        for offset in range(0, size, range_size):
            window.append(pool.submit(fetch, offset))
            if len(window) > workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def follow_log(
    blobs: BlobStore,
    job: JobId,
    is_final: Callable[[], bool],
    *,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], object] = time.sleep,
) -> Iterator[bytes]:
    """Tail the job's log by range reads from the last offset until `is_final()`, then drain."""
    name = log_path(job)
    offset = 0
    while True:
        final = is_final()  # asked before the drain: what was appended before it is read below
        props = blobs.props(name)
        if props is not None and props.size > offset:
            for chunk in blobs.read_chunks(name, offset=offset, length=props.size - offset):
                offset += len(chunk)
                yield chunk
        if final:
            return
        sleep(poll_seconds)


def read_ahead(chunks: Iterable[bytes], depth: int = 2) -> Iterator[bytes]:
    """The same chunks, fetched by a background thread up to `depth` ahead, so downloading the
    next range overlaps with filtering this one. An error of the source is raised here, in
    order; a consumer that stops early stops the thread."""
    pipe: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in chunks:
                if not _put(pipe, chunk, stop):
                    return
            _put(pipe, None, stop)
        except BaseException as exc:  # handed to the consumer and raised there, in order
            _put(pipe, exc, stop)

    threading.Thread(target=pump, name="log-read-ahead", daemon=True).start()
    try:
        while (item := pipe.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _put(pipe: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item` unless the consumer has stopped (then False)."""
    while not stop.is_set():
        try:
            pipe.put(item, timeout=0.2)
        except queue.Full:
            continue
        return True
    return False
