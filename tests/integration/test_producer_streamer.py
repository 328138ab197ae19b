"""The log streamer against Azurite: nothing lost below capacity, drops counted above it, never a
raise into the job, periodic flushes, and records the log reader reads back."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from ascend_cli.azurite import free_port
from producer.streamer import MAX_BLOCK_BYTES, LogStreamer, job_logging, pack_blocks
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.layout import log_path
from shared.logrecords import JobContext, iter_log_lines, make_record
from shared.settings import Settings, azurite_connection_string
from tests.support.builders import NOW, make_job_id

JOB = make_job_id()


def stored_lines(store: AzureBlobStore) -> list[bytes]:
    return store.read(log_path(JOB)).data.splitlines()


def test_lines_from_many_threads_are_all_stored_in_order_below_capacity(
    blob_store: AzureBlobStore,
) -> None:
    """Eight threads writing 100 lines each lose nothing, and each thread's lines stay in order."""
    with LogStreamer(blob_store, JOB, flush_interval=0.05) as streamer:

        def produce(worker: int) -> None:
            for i in range(100):
                streamer.write(f'{{"w": {worker}, "i": {i}}}'.encode())

        threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = stored_lines(blob_store)
    assert len(lines) == 800
    assert (streamer.dropped, streamer.unwritten, streamer.stored) == (0, 0, 800)
    for worker in range(8):
        mine = [line for line in lines if line.startswith(f'{{"w": {worker},'.encode())]
        assert mine == [f'{{"w": {worker}, "i": {i}}}'.encode() for i in range(100)]


def test_the_log_is_an_append_blob_with_the_jobs_tags_and_ndjson_type(
    blob_store: AzureBlobStore,
) -> None:
    """The first flush creates job.log.jsonl as an append blob tagged like every job blob."""
    with LogStreamer(blob_store, JOB, retain=True, flush_interval=60) as streamer:
        streamer.write(b"{}")
    props = blob_store.props(log_path(JOB), with_tags=True)
    assert props is not None
    assert props.blob_type == "AppendBlob"
    assert props.content_type == "application/x-ndjson"
    assert props.tags is not None
    assert props.tags["retain"] == "true"
    assert props.tags["kind"] == "log"
    assert props.tags["job"] == str(JOB)


def test_lines_beyond_capacity_drop_the_oldest_and_are_counted(blob_store: AzureBlobStore) -> None:
    """With room for 10 lines and no flush in between, 25 writes keep the newest 10."""
    with LogStreamer(
        blob_store, JOB, capacity=10, flush_interval=3600, flush_early=False
    ) as streamer:
        for i in range(25):
            streamer.write(f"line {i}".encode())
        assert streamer.dropped == 15
    assert stored_lines(blob_store) == [f"line {i}".encode() for i in range(15, 25)]


def test_a_half_full_buffer_is_flushed_before_the_interval(blob_store: AzureBlobStore) -> None:
    """A burst that fills half the buffer is stored at once, not an hour later."""
    with LogStreamer(blob_store, JOB, capacity=100, flush_interval=3600) as streamer:
        for i in range(50):
            streamer.write(f"line {i}".encode())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and streamer.stored < 50:
            time.sleep(0.05)
        assert streamer.stored == 50
        assert streamer.dropped == 0


def test_storage_that_is_down_never_raises_into_the_job() -> None:
    """Pointed at a closed port, writing, flushing and closing all return quietly, and count."""
    settings = Settings(
        storage_connection_string=azurite_connection_string(port=free_port()), container="down"
    )
    store = AzureBlobStore.from_settings(settings, retry=RetryPolicy(2, 5, 0.01, 0.02))
    streamer = LogStreamer(store, JOB, flush_interval=0.05)
    for i in range(5):
        streamer.write(f"line {i}".encode())
        streamer.emit({"message": i})
    time.sleep(0.2)
    assert streamer.flush() is False
    streamer.close()
    assert streamer.failed_flushes >= 2
    assert streamer.unwritten == 10
    assert streamer.stored == 0


def test_the_flush_interval_stores_lines_without_an_explicit_flush(
    blob_store: AzureBlobStore,
) -> None:
    """Lines appear in storage within a few flush intervals while the job is still running."""
    streamer = LogStreamer(blob_store, JOB, flush_interval=0.1)
    try:
        for i in range(3):
            streamer.write(f"line {i}".encode())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and streamer.stored < 3:
            time.sleep(0.05)
        assert stored_lines(blob_store) == [b"line 0", b"line 1", b"line 2"]
    finally:
        streamer.close()


def test_emitted_records_read_back_unchanged_through_the_log_reader(
    blob_store: AzureBlobStore,
) -> None:
    """Records emitted as dicts are the records `iter_log_lines` reads from the stored blob."""
    context = JobContext(job_id=str(JOB), user=JOB.user, project=JOB.project)
    records = [
        make_record(
            context,
            level=level,
            logger="ascend.test",
            message=f"m{i}",
            when=NOW,
            metrics={"epoch": i},
        )
        for i, level in enumerate(["INFO", "DEBUG", "WARNING", "ERROR"])
    ]
    with LogStreamer(blob_store, JOB, flush_interval=60) as streamer:
        for record in records:
            streamer.emit(record)
    assert list(iter_log_lines(blob_store.read_chunks(log_path(JOB), chunk_size=64))) == records


def test_the_tail_holds_the_last_lines_written(blob_store: AzureBlobStore) -> None:
    """`tail(n)` gives the newest n lines, bounded by `tail_size`, oldest first."""
    with LogStreamer(blob_store, JOB, tail_size=5, flush_interval=60) as streamer:
        for i in range(12):
            streamer.write(f"line {i}\n".encode())
    assert streamer.tail(2) == [b"line 10\n", b"line 11\n"]
    assert streamer.tail() == [f"line {i}\n".encode() for i in range(7, 12)]


def test_close_is_idempotent_and_later_lines_are_counted_unwritten(
    blob_store: AzureBlobStore,
) -> None:
    """A second close does nothing; a line written after close is counted, not raised."""
    streamer = LogStreamer(blob_store, JOB, flush_interval=60)
    streamer.write(b"kept")
    streamer.close()
    streamer.close()
    streamer.write(b"too late")
    assert streamer.unwritten == 1
    assert stored_lines(blob_store) == [b"kept"]


def test_a_second_streamer_appends_after_an_existing_log(blob_store: AzureBlobStore) -> None:
    """A restarted job's streamer finds the log already there and appends after its end."""
    with LogStreamer(blob_store, JOB, flush_interval=60) as first:
        first.write(b"one")
    with LogStreamer(blob_store, JOB, flush_interval=60) as second:
        second.write(b"two")
    assert stored_lines(blob_store) == [b"one", b"two"]


def test_a_flush_larger_than_one_block_is_split_and_fully_stored(
    blob_store: AzureBlobStore,
) -> None:
    """About 9 MiB of lines go out as several appends of at most 4 MiB and all arrive."""
    line = b"x" * (64 << 10)
    with LogStreamer(blob_store, JOB, capacity=200, flush_interval=3600) as streamer:
        for _ in range(150):
            streamer.write(line)
    props = blob_store.props(log_path(JOB))
    assert props is not None
    assert props.size == 150 * (len(line) + 1)
    assert streamer.stored == 150


def test_python_logging_is_routed_into_the_log_with_the_jobs_fields(
    blob_store: AzureBlobStore,
) -> None:
    """Records logged through `logging` inside `job_logging` land as the design's records."""
    logger = logging.getLogger("ascend.test.streamer")
    logger.setLevel(logging.DEBUG)
    with LogStreamer(blob_store, JOB, flush_interval=60) as streamer:
        with job_logging(streamer, logger=logger, context={"function_name": "train_model"}):
            logger.info("Job started", extra={"duration_ms": 12.5})
            try:
                raise RuntimeError("CUDA out of memory")
            except RuntimeError:
                logger.exception("Function crashed")
        logger.info("after the block: not in the job's log")
    records = [
        r for r in iter_log_lines([blob_store.read(log_path(JOB)).data]) if isinstance(r, dict)
    ]
    assert [r["message"] for r in records] == ["Job started", "Function crashed"]
    assert records[0]["job_id"] == str(JOB)
    assert records[0]["context"] == {"function_name": "train_model"}
    assert records[0]["duration_ms"] == 12.5
    assert records[1]["level"] == "ERROR"
    assert records[1]["exception"]["type"] == "RuntimeError"


def test_an_oversized_line_is_refused_and_counted_not_stored(blob_store: AzureBlobStore) -> None:
    """A line over the reader's 1 MiB limit is counted as dropped; its neighbours are kept."""
    with LogStreamer(blob_store, JOB, flush_interval=60) as streamer:
        streamer.write(b"before")
        streamer.write(b"y" * (2 << 20))
        streamer.write(b"after")
    assert streamer.dropped == 1
    assert stored_lines(blob_store) == [b"before", b"after"]


@pytest.mark.parametrize("sizes", [[], [1], [10] * 5, [MAX_BLOCK_BYTES], [3 << 20, 2 << 20]])
def test_blocks_hold_whole_lines_in_order_and_never_exceed_the_limit(sizes: list[int]) -> None:
    """Packing keeps line order, never splits a line and stays within 4 MiB per block."""
    lines = [bytes([65 + i % 26]) * size for i, size in enumerate(sizes)]
    blocks = pack_blocks(lines)
    assert [line for block in blocks for line in block] == lines
    assert all(sum(map(len, block)) <= MAX_BLOCK_BYTES for block in blocks)
