"""Reading a job's log from storage: the blob streams the level filter (`query.logfilter`)
reads.

The stored log (`job.log.jsonl`, any blob type), the lifecycle's gzip copy (`job.log.jsonl.gz`,
gunzipped as it streams) when the plain log is gone or archived, and a tail of a running job's
append blob by range reads from the last offset. The filter's names are re-exported here for the
callers that read both.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from query.logfilter import (
    LevelFilter,
    Lines,
    Record,
    filter_raw,
    filter_records,
    matching_lines,
    parse_level,
    whole_lines,
)
from shared.errors import BlobArchived, BlobNotFound, StorageError
from shared.gunzip import gunzip, written_by_pipeline
from shared.jobid import JobId
from shared.layout import archived_log_path, log_path
from shared.ports import BlobProps, BlobStore

__all__ = [
    "BULK_RANGE",
    "LevelFilter",
    "Lines",
    "Record",
    "filter_raw",
    "filter_records",
    "follow_log",
    "gunzip",
    "matching_lines",
    "parallel_ranges",
    "parse_level",
    "read_ahead",
    "stored_log",
    "whole_lines",
]

BULK_RANGE = 16 << 20


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


def parallel_ranges(
    blobs: BlobStore, name: str, size: int, *, range_size: int = BULK_RANGE, workers: int = 2
) -> Iterator[bytes]:
    """The first `size` bytes of a blob as ranges fetched `workers` at a time, yielded in
    order; at most `workers + 1` ranges are held at once."""

    def fetch(offset: int) -> bytes:
        length = min(range_size, size - offset)
        return b"".join(
            blobs.read_chunks(
                name, offset=offset, length=length, chunk_size=length, verify_ranges=False
            )
        )

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
