"""`LogStreamer`: a job's JSON Lines log, buffered in memory and appended to its append blob.

A bounded, thread-safe buffer (default 1000 lines) takes lines from any thread; a background
thread flushes it every `flush_interval` seconds, or as soon as it is half full, into the job's
`job.log.jsonl` append blob, in blocks of at most 4 MiB. When the buffer is full the oldest
unflushed lines are dropped and counted (`dropped`, which also counts lines over the reader's
1 MiB limit); a failed flush puts its lines back for the next one; lines that could not be
stored by `close()` are counted in `unwritten`. Logging never raises into the job: every
failure becomes a counter.

Appends are conditional on the blob's known size (`appendpos`), so an append whose response was
lost and then retried is recognized instead of being stored twice. One streamer is the only
writer of its job's log.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from shared.errors import BlobExists, BlobNotFound, InternalError, PreconditionFailed
from shared.jobid import JobId
from shared.layout import log_path
from shared.logrecords import MAX_LINE_BYTES, JobContext, JobLogHandler, dump_record
from shared.ports import BlobStore
from shared.tags import job_blob_tags

MAX_BLOCK_BYTES = 4 << 20
LOG_CONTENT_TYPE = "application/x-ndjson"
_log = logging.getLogger("ascend.producer.streamer")


def pack_blocks(lines: list[bytes], limit: int = MAX_BLOCK_BYTES) -> list[list[bytes]]:
    """Group whole lines, in order, into blocks of at most `limit` bytes each."""
    blocks: list[list[bytes]] = []
    size = limit + 1
    for line in lines:
        if size + len(line) > limit:
            blocks.append([])
            size = 0
        blocks[-1].append(line)
        size += len(line)
    return blocks


class LogStreamer:
    """Streams one job's log lines into its append blob; see the module docstring."""

    def __init__(
        self,
        blobs: BlobStore,
        job: JobId,
        *,
        retain: bool = False,
        capacity: int = 1000,
        flush_interval: float = 1.0,
        tail_size: int = 1000,
        flush_early: bool = True,
    ) -> None:
        if capacity < 1 or tail_size < 0 or flush_interval <= 0:
            raise ValueError("capacity >= 1, tail_size >= 0 and flush_interval > 0 are required")
        self.blobs, self.job, self.retain = blobs, job, retain
        self.path = log_path(job)
        self.capacity, self.flush_interval = capacity, flush_interval
        self._early_at = max(1, capacity // 2) if flush_early else -1
        self.dropped = self.failed_flushes = self.unwritten = self.stored = 0
        self._buffer: deque[bytes] = deque()
        self._tail: deque[bytes] = deque(maxlen=tail_size)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._offset: int | None = None  # size of the blob as we know it; None: not created yet
        self._closing = False  # set once by close(): later lines are counted unwritten
        self._closed = threading.Event()  # stops the flush thread
        self._wake = threading.Event()  # set when the buffer is half full, or on close
        self._thread = threading.Thread(target=self._run, name=f"log-{job}", daemon=True)
        self._thread.start()

    # ---- the job's side: never raises ---------------------------------------------------------

    def write(self, line: bytes) -> None:
        """Buffer one line (a newline is added if missing); never raises."""
        try:
            data = line if line.endswith(b"\n") else line + b"\n"
            if type(data) is not bytes:
                data = bytes(data)  # a bytearray the caller may reuse
            with self._lock:
                if self._closing:
                    self.unwritten += 1
                elif len(data) > MAX_LINE_BYTES:
                    self.dropped += 1  # readers refuse such lines anyway
                else:
                    self._buffer.append(data)
                    self._tail.append(data)
                    if len(self._buffer) > self.capacity:
                        self._buffer.popleft()
                        self.dropped += 1
                    elif len(self._buffer) == self._early_at:
                        self._wake.set()
        except Exception:
            _log.debug("log line refused", exc_info=True)
            with self._lock:
                self.dropped += 1

    def emit(self, record: Mapping[str, Any]) -> None:
        """Buffer one log record (a dict of the design's fields) as a JSON line; never raises."""
        try:
            line = dump_record(record)
        except Exception:
            _log.debug("log record not serializable", exc_info=True)
            with self._lock:
                self.dropped += 1
            return
        self.write(line)

    def tail(self, n: int | None = None) -> list[bytes]:
        """The last `n` lines written (all kept lines when `n` is None), oldest first."""
        with self._lock:
            lines = list(self._tail)
        return lines if n is None else lines[max(len(lines) - n, 0) :]

    @property
    def pending(self) -> int:
        """Lines buffered and not stored yet."""
        with self._lock:
            return len(self._buffer)

    # ---- flushing ------------------------------------------------------------------------------

    def flush(self) -> bool:
        """Store every buffered line now; True when nothing is left unstored. Never raises."""
        with self._flush_lock:
            with self._lock:
                lines = list(self._buffer)
                self._buffer.clear()
            if not lines:
                return True
            stored = self._store(lines)
            if stored < len(lines):
                self._requeue(lines[stored:])
                return False
            return True

    def close(self) -> None:
        """Flush what is buffered and stop the flush thread; idempotent, never raises."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._closed.set()
        self._wake.set()
        self._thread.join()
        self.flush()
        with self._lock:
            self.unwritten += len(self._buffer)
            self._buffer.clear()

    def __enter__(self) -> LogStreamer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        # Every `flush_interval`, or at once when the buffer is half full: a chatty job is then
        # limited by storage throughput, not by capacity / interval.
        while not self._closed.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if not self._closed.is_set():
                self.flush()

    def _store(self, lines: list[bytes]) -> int:
        """Append `lines` block by block; how many lines were stored before a failure."""
        done = 0
        try:
            self._ensure_blob()
            for block in pack_blocks(lines):
                self._append(b"".join(block))
                done += len(block)
                with self._lock:
                    self.stored += len(block)
        except Exception as exc:
            with self._lock:
                self.failed_flushes += 1
            _log.warning("log flush of %s failed: %s", self.job, exc)
        return done

    def _requeue(self, lines: list[bytes]) -> None:
        """Put unstored lines back in front for the next flush; the oldest go when full."""
        with self._lock:
            self._buffer.extendleft(reversed(lines))
            self._trim()

    def _trim(self) -> None:
        while len(self._buffer) > self.capacity:
            self._buffer.popleft()
            self.dropped += 1

    # ---- the blob ------------------------------------------------------------------------------

    def _ensure_blob(self) -> None:
        if self._offset is not None:
            return
        try:
            self.blobs.create_append(
                self.path,
                tags=job_blob_tags(self.job, "log", retain=self.retain),
                content_type=LOG_CONTENT_TYPE,
                create_only=True,
            )
            self._offset = 0
        except BlobExists:
            self._offset = self._current_size()

    def _append(self, data: bytes) -> None:
        """One conditional append; a lost response that did land is recognized, not repeated."""
        expected = self._offset
        if expected is None:
            raise InternalError(f"log {self.path}: appended to before its blob was ensured")
        try:
            self._offset = self.blobs.append(self.path, data, at_offset=expected)
        except PreconditionFailed:
            size = self._current_size()
            if size == expected + len(data):
                self._offset = size  # our earlier attempt landed; its response was lost
                return
            self._offset = size  # someone else moved the end: append after it
            self._offset = self.blobs.append(self.path, data, at_offset=size)
        except BlobNotFound:
            self._offset = None  # deleted under us: recreate on the next flush
            raise

    def _current_size(self) -> int:
        props = self.blobs.props(self.path)
        if props is None:
            raise BlobNotFound(self.path, "vanished while being appended to")
        return props.size


@contextmanager
def job_logging(
    streamer: LogStreamer,
    *,
    logger: str | logging.Logger = "",
    level: int = logging.DEBUG,
    context: Mapping[str, Any] | None = None,
) -> Iterator[JobLogHandler]:
    """Route a `logging` logger (the root by default) into `streamer` for the block's duration,
    each record carrying the job's ID, user, project and `context`."""
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger or None)
    job = streamer.job
    bound = JobContext(
        job_id=str(job), user=job.user, project=job.project, context=dict(context or {})
    )
    handler = JobLogHandler(bound, streamer.write, level)
    target.addHandler(handler)
    try:
        yield handler
    finally:
        target.removeHandler(handler)
