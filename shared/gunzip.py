"""Inflating gzip from outside the process, safely: in bounded steps, with a ratio cap.

A compressed log is the pipeline's own output only if the pipeline wrote it; anyone who can write
a job's folder can also drop a 400 KB `.gz` that inflates to gigabytes. `gunzip` never inflates
more than `step` bytes per call to zlib (so memory stays flat whatever the input), follows
concatenated members, and refuses a stream whose output grows past `max_ratio` times the
compressed input read so far (after a grace of `grace` bytes, so small repetitive logs pass) or
past `max_bytes` when the true size is known.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from shared.errors import StorageError
from shared.ports import BlobProps

GZIP_WBITS = 31  # zlib's gzip container
STEP = 1 << 20
MAX_RATIO = 200  # real JSON Lines logs inflate 5-30x; deflate's own ceiling is ~1030x
GRACE = 64 << 20
# The lifecycle writes each `.gz` with the etag of the log it compressed in this metadata key
# and `Content-Encoding: gzip`; a `.gz` without them was not written by the pipeline.
SOURCE_ETAG = "source_etag"


def written_by_pipeline(props: BlobProps) -> bool:
    """True for a `.gz` log as the lifecycle writes it (a marker, not a proof: readers still
    inflate it with `gunzip`'s bounds)."""
    return props.content_encoding == "gzip" and bool(props.metadata.get(SOURCE_ETAG))


def gunzip(
    chunks: Iterable[bytes],
    name: str = "gzip stream",
    *,
    step: int = STEP,
    max_ratio: int = MAX_RATIO,
    grace: int = GRACE,
    max_bytes: int | None = None,
) -> Iterator[bytes]:
    """The inflated bytes of a gzip stream, at most `step` at a time; a corrupt, truncated or
    over-inflating stream raises `StorageError` naming `name`."""
    inflater = zlib.decompressobj(GZIP_WBITS)
    read = produced = 0
    started = False
    for chunk in chunks:
        read += len(chunk)
        data = chunk
        while data:
            started = True
            for out in _drain(inflater, data, step, name):
                produced += len(out)
                _check(name, produced, read, max_ratio=max_ratio, grace=grace, max_bytes=max_bytes)
                yield out
            if not inflater.eof:
                break
            data = inflater.unused_data
            inflater, started = zlib.decompressobj(GZIP_WBITS), False
    if started and not inflater.eof:
        raise StorageError(name, "ends in the middle of its gzip stream")


def _drain(inflater: zlib._Decompress, data: bytes, step: int, name: str) -> Iterator[bytes]:
    """Everything `data` inflates to, `step` bytes at a time (input kept in zlib's tail)."""
    while True:
        try:
            out = inflater.decompress(data, step)
        except zlib.error as exc:
            raise StorageError(name, f"is not valid gzip ({exc})") from None
        if out:
            yield out
        data = inflater.unconsumed_tail
        if inflater.eof or (not data and len(out) < step):
            return


def _check(
    name: str, produced: int, read: int, *, max_ratio: int, grace: int, max_bytes: int | None
) -> None:
    if max_bytes is not None and produced > max_bytes:
        raise StorageError(name, f"inflates past its expected {max_bytes} bytes: refused")
    if produced > grace and produced > max_ratio * read:
        raise StorageError(
            name,
            f"inflates more than {max_ratio}x ({produced} bytes from "
            f"{read}): refused as a likely gzip bomb",
        )
