"""Compressing a finished job's log into a Cool block blob: `job.log.jsonl` -> `job.log.jsonl.gz`.

The `.gz` is a block blob with `Content-Encoding: gzip` (so it can take a tier), the original's
index tags (kind `archived_log`) and, in its metadata, the original's etag and SHA-256. Before the
original is removed the `.gz` is read back, decompressed and its SHA-256 compared: a mismatch keeps
the original. The original is then deleted only if it is still the version that was compressed
(etag), so a log still being appended to is never lost. Everything streams: no log is held whole.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shared.errors import BlobNotFound, StorageError
from shared.gunzip import GZIP_WBITS, SOURCE_ETAG, gunzip
from shared.ports import BlobStore
from shared.tags import KIND
from shared.tiers import Tier

LOG_CONTENT_TYPE = "application/x-ndjson"


@dataclass(frozen=True, slots=True)
class Compressed:
    """What a compression did: the `.gz` name, sizes, and whether the original was removed."""

    source: str
    destination: str
    original_bytes: int
    compressed_bytes: int
    sha256: str
    reused: bool  # a verified `.gz` of the same version was already there (a resumed sweep)


def gzip_stream(chunks: Iterable[bytes], digest: hashlib._Hash) -> Iterator[bytes]:
    """Gzip `chunks` as a stream, feeding the uncompressed bytes to `digest`."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    for chunk in chunks:
        digest.update(chunk)
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def gunzip_digest(
    chunks: Iterable[bytes], *, expected_size: int | None = None, name: str = "gzip stream"
) -> tuple[str, int]:
    """(SHA-256 hex, size) of the decompressed content of a gzip stream, inflated in bounded
    steps; past `expected_size` (the original's) it stops with `StorageError`."""
    digest, size = hashlib.sha256(), 0
    for data in gunzip(chunks, name, max_bytes=expected_size):
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def compress_log(blobs: BlobStore, source: str, *, tier: Tier = Tier.COOL) -> Compressed:
    """Gzip `source` into `source + '.gz'`, verify it, set its tier, remove `source`."""
    props = blobs.props(source, with_tags=True)
    if props is None:
        raise BlobNotFound(source, "does not exist (already compressed?)")
    destination = source + ".gz"
    reused = _verified_existing(blobs, source, destination, props.etag)
    if reused is None:
        digest = hashlib.sha256()
        tags = {**(props.tags or {}), KIND: "archived_log"} if props.tags else None
        written = blobs.write(
            destination,
            gzip_stream(blobs.read_chunks(source), digest),
            tags=tags,
            metadata={SOURCE_ETAG: props.etag},
            content_type=LOG_CONTENT_TYPE,
            content_encoding="gzip",
        )
        sha = digest.hexdigest()
        _verify(blobs, destination, sha, props.size)
        compressed_size = written.size
    else:
        sha, compressed_size = reused
    blobs.set_tier(destination, tier)
    blobs.delete(source, if_etag=props.etag)
    return Compressed(source, destination, props.size, compressed_size, sha, reused is not None)


def _verify(blobs: BlobStore, destination: str, sha: str, size: int) -> None:
    actual, actual_size = gunzip_digest(
        blobs.read_chunks(destination), expected_size=size, name=destination
    )
    if (actual, actual_size) != (sha, size):
        raise StorageError(
            destination,
            f"does not decompress to the original log (SHA-256 "
            f"{actual[:12]}... of {actual_size} bytes, expected {sha[:12]}... of "
            f"{size} bytes); original kept",
        )


def _verified_existing(
    blobs: BlobStore, source: str, destination: str, etag: str
) -> tuple[str, int] | None:
    """(sha, size) of a `.gz` left by an interrupted sweep for this very version, if it checks."""
    existing = blobs.props(destination)
    if existing is None or existing.metadata.get(SOURCE_ETAG) != etag:
        return None
    original, size = hashlib.sha256(), 0
    for chunk in blobs.read_chunks(source):
        original.update(chunk)
        size += len(chunk)
    try:
        actual, _ = gunzip_digest(
            blobs.read_chunks(destination), expected_size=size, name=destination
        )
    except StorageError:
        return None  # not a copy of this log: written again below
    return (actual, existing.size) if actual == original.hexdigest() else None
