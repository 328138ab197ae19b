"""Finding 3: gzip bombs. Inflation is bounded per step and capped by ratio or expected size; a
`.gz` log the pipeline did not write is rejected by the indexer and never read."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.events import BlobEvent
from indexer.handler import handle
from indexer.outcomes import Rejected, Skipped
from indexer.rejected import list_rejections
from lifecycle.compress import compress_log, gunzip_digest
from query.logs import stored_log
from shared.errors import StorageError
from shared.gunzip import STEP, gunzip
from shared.layout import archived_log_path, log_path
from shared.services import Services
from tests.support.builders import seed_job


def bomb(inflated_mb: int) -> bytes:
    """A gzip member of `inflated_mb` MiB of zeros (about 1/1000 of that compressed)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(inflated_mb)) + packer.flush()


BOMB = bomb(256)  # ~250 KB that inflates to 256 MiB


def created(services: Services, blob: str, event_id: str) -> BlobEvent:
    return BlobEvent(
        event_id=event_id,
        event_type="Microsoft.Storage.BlobCreated",
        container=services.settings.container,
        blob=blob,
    )


def drain(chunks: Iterator[bytes]) -> int:
    biggest = 0
    for chunk in chunks:
        biggest = max(biggest, len(chunk))
    return biggest


def test_a_bomb_is_refused_with_flat_memory() -> None:
    """Inflating 256 MiB from ~250 KB stops with a one-line error; the peak stays a few MiB."""
    tracemalloc.start()
    try:
        with pytest.raises(StorageError, match="gzip bomb"):
            drain(gunzip([BOMB], "job.log.jsonl.gz", grace=8 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_no_step_inflates_more_than_the_bound() -> None:
    """Each piece handed on is at most STEP bytes, even from one huge input chunk."""
    assert drain(gunzip([gzip.compress(bytes(5 * STEP))])) == STEP


def test_the_lifecycle_check_stops_at_the_originals_size() -> None:
    """Verifying a .gz against a log of known size stops as soon as it inflates past it."""
    with pytest.raises(StorageError, match="expected 1000 bytes"):
        gunzip_digest([BOMB], expected_size=1000)


@given(st.lists(st.binary(max_size=200), max_size=5), st.integers(1, 64))
def test_bounded_gunzip_gives_back_any_content_in_any_step(parts: list[bytes], step: int) -> None:
    """Whatever the members and the step, the bytes come back exactly."""
    packed = b"".join(gzip.compress(p) for p in parts)
    assert b"".join(
        gunzip([packed[i : i + 7] for i in range(0, len(packed), 7)], step=step)
    ) == b"".join(parts)


def test_a_foreign_gz_log_is_rejected_by_the_indexer_and_never_read(services: Services) -> None:
    """A .gz dropped in a job folder (no lifecycle marker) is a recorded rejection; `jobs logs`
    refuses to read it instead of inflating it."""
    meta = seed_job(services.blobs, services.index)
    name = archived_log_path(meta.parsed_job_id)
    services.blobs.write(name, BOMB, content_encoding="gzip")
    outcome = handle(
        created(services, name, "ev-1"),
        services.blobs,
        services.index,
        services.clock,
        services.settings,
    )
    assert isinstance(outcome, Rejected)
    assert [r.blob for r in list_rejections(services.blobs)] == [name]
    with pytest.raises(StorageError, match="not written by the pipeline"):
        drain(stored_log(services.blobs, meta.parsed_job_id))


def test_the_lifecycles_own_gz_passes_the_indexer(services: Services) -> None:
    """A .gz the lifecycle wrote is skipped as the pipeline's own output, and reads back."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "ERROR"])
    done = compress_log(services.blobs, log_path(meta.parsed_job_id))
    assert isinstance(
        handle(
            created(services, done.destination, "ev-2"),
            services.blobs,
            services.index,
            services.clock,
            services.settings,
        ),
        Skipped,
    )
    assert b"".join(stored_log(services.blobs, meta.parsed_job_id)).count(b"\n") == 2


def test_a_marked_bomb_still_stops_jobs_logs(services: Services) -> None:
    """Even with a forged marker, reading the log stops at the ratio cap, memory flat."""
    meta = seed_job(services.blobs, services.index)
    services.blobs.write(
        archived_log_path(meta.parsed_job_id),
        bomb(512),
        content_encoding="gzip",
        metadata={"source_etag": "forged"},
    )
    tracemalloc.start()
    try:
        with pytest.raises(StorageError, match="gzip bomb"):
            drain(stored_log(services.blobs, meta.parsed_job_id))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20
