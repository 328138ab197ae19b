"""Retries against real transient faults: a TCP proxy in front of Azurite drops, resets and delays
requests; the adapter and the producer get through bounded faults, give up on persistent ones
with `TransientError`, and never retry a 404 or 409."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ascend_cli.azurite import Azurite
from producer.jobs import create_job, read_metadata, set_status
from producer.streamer import LogStreamer
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.clock import FixedClock
from shared.errors import BlobExists, BlobNotFound, TransientError
from shared.layout import log_path
from shared.metadata import JobStatus
from shared.settings import Settings, azurite_connection_string
from tests.support.builders import DEPENDENCIES, NOW, make_job_id
from tests.support.faultproxy import FOREVER, FaultProxy

ATTEMPTS = 4


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's Azurite."""
    with FaultProxy(azurite.port) as running:
        yield running


def through(proxy: FaultProxy, settings: Settings, **client_options: object) -> AzureBlobStore:
    """The real adapter on the test's container, talking through the proxy, with quick retries."""
    via_proxy = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
    )
    return AzureBlobStore.from_settings(
        via_proxy, retry=RetryPolicy(ATTEMPTS, 20, 0.01, 0.05), **client_options
    )


@pytest.fixture
def faulty(proxy: FaultProxy, settings: Settings, blob_store: AzureBlobStore) -> AzureBlobStore:
    """The adapter through the proxy (the container already exists: `blob_store` made it)."""
    return through(proxy, settings)


def test_reads_get_through_two_dropped_requests(
    blob_store: AzureBlobStore, faulty: AzureBlobStore, proxy: FaultProxy
) -> None:
    """Two requests closed before reaching Azurite are retried; the third reads the blob."""
    blob_store.write("a.txt", b"payload")
    proxy.inject("drop", times=2)
    assert faulty.read("a.txt").data == b"payload"
    assert (proxy.faults_applied, proxy.requests) == (2, 3)


def test_writes_get_through_connections_reset_mid_response(
    faulty: AzureBlobStore, blob_store: AzureBlobStore, proxy: FaultProxy
) -> None:
    """Writes whose answers are cut off are retried until one is answered; the blob is right."""
    proxy.inject("reset", times=3)
    written = faulty.write("w.txt", b"v1", tags={"retain": "false"})
    assert proxy.faults_applied == 3
    stored = blob_store.read("w.txt")
    assert stored.data == b"v1"
    assert stored.props.etag == written.etag
    assert blob_store.get_tags("w.txt") == {"retain": "false"}


def test_listings_get_through_dropped_pages(
    blob_store: AzureBlobStore, faulty: AzureBlobStore, proxy: FaultProxy
) -> None:
    """A listing whose page request is dropped twice still lists every blob once."""
    for i in range(5):
        blob_store.write(f"p/{i}", b"x")
    proxy.inject("drop", times=2)
    assert list(faulty.list_names("p/")) == [f"p/{i}" for i in range(5)]
    assert [p.name for p in faulty.list("p/")] == [f"p/{i}" for i in range(5)]


def test_a_slow_answer_times_out_and_is_retried(
    blob_store: AzureBlobStore, proxy: FaultProxy, settings: Settings
) -> None:
    """A request held longer than the read timeout is abandoned and retried."""
    blob_store.write("slow", b"s")
    impatient = through(proxy, settings, read_timeout=2)
    proxy.inject("delay", seconds=5)
    assert impatient.read("slow").data == b"s"
    assert proxy.faults_applied == 1
    assert proxy.requests >= 2


def test_a_persistent_fault_surfaces_as_transient_after_the_bounded_attempts(
    faulty: AzureBlobStore, proxy: FaultProxy
) -> None:
    """With every request dropped, a read gives up after exactly ATTEMPTS tries."""
    proxy.inject("drop", times=FOREVER)
    with pytest.raises(TransientError, match=r"^missing\.txt: "):
        faulty.read("missing.txt")
    assert proxy.requests == ATTEMPTS


def test_not_found_and_already_exists_are_raised_at_once(
    blob_store: AzureBlobStore, faulty: AzureBlobStore, proxy: FaultProxy
) -> None:
    """A 404 and a 409 are permanent: one request each, no retries."""
    with pytest.raises(BlobNotFound):
        faulty.read("nope")
    assert proxy.requests == 1
    blob_store.write("there", b"x")
    with pytest.raises(BlobExists):
        faulty.write("there", b"y", create_only=True)
    assert proxy.requests == 2


def test_a_log_append_whose_answer_was_lost_is_not_stored_twice(
    faulty: AzureBlobStore, blob_store: AzureBlobStore, proxy: FaultProxy
) -> None:
    """The streamer's append lands, its answer is reset, the retry is recognized: lines once."""
    job = make_job_id()
    with LogStreamer(faulty, job, flush_interval=3600) as streamer:
        streamer.write(b"first")
        assert streamer.flush()
        proxy.inject("reset")  # the next request is the append of "second"
        streamer.write(b"second")
        assert streamer.flush()
    assert proxy.faults_applied == 1
    assert blob_store.read(log_path(job)).data == b"first\nsecond\n"
    assert (streamer.dropped, streamer.unwritten, streamer.failed_flushes) == (0, 0, 0)


def test_a_job_created_and_updated_through_lost_answers_is_consistent(
    faulty: AzureBlobStore, proxy: FaultProxy
) -> None:
    """Create-only and if-etag writes whose answers are lost are recognized as our own."""
    proxy.inject("reset")  # the metadata.json create lands, its answer does not
    version = create_job(
        faulty,
        user="alice",
        project="frauddetect",
        function_name="train",
        args_hash="a1",
        dependencies=DEPENDENCIES,
        clock=FixedClock(NOW),
    )
    job = version.meta.parsed_job_id
    proxy.inject("reset", after=1)  # set_status reads, then writes: the write's answer is lost
    moved = set_status(faulty, job, "running", FixedClock(NOW))
    assert proxy.faults_applied == 2
    assert moved.status is JobStatus.RUNNING
    assert read_metadata(faulty, job)[0] == moved


def test_server_busy_is_retried_after_the_retry_after_it_asks_for(
    blob_store: AzureBlobStore, proxy: FaultProxy, settings: Settings
) -> None:
    """Two `503 ServerBusy` answers with `Retry-After: 2` (a throttled account) are waited out
    for exactly that long, not the jittered backoff, and the tier is then set."""
    waits: list[float] = []
    via_proxy = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
    )
    store = AzureBlobStore.from_settings(
        via_proxy, retry=RetryPolicy(ATTEMPTS, 20, 0.01, 0.05, sleep=waits.append)
    )
    blob_store.write("busy.bin", b"x")
    proxy.inject("busy", times=2, seconds=2)
    store.set_tier("busy.bin", "Cool")
    assert waits == [2.0, 2.0]
    assert (proxy.faults_applied, proxy.requests) == (2, 3)
    props = blob_store.props("busy.bin")
    assert props is not None
    assert props.tier == "Cool"


def test_a_delete_answered_server_busy_is_retried_and_deletes_once(
    blob_store: AzureBlobStore, proxy: FaultProxy, settings: Settings
) -> None:
    """A guarded delete answered `503 ServerBusy` is sent again after the Retry-After and
    deletes the blob (the throttled request never reached storage)."""
    waits: list[float] = []
    via_proxy = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
    )
    store = AzureBlobStore.from_settings(
        via_proxy, retry=RetryPolicy(ATTEMPTS, 20, 0.01, 0.05, sleep=waits.append)
    )
    blob_store.write("gone.bin", b"x", tags={"retain": "false"})
    proxy.inject("busy", seconds=1)
    assert store.delete("gone.bin", if_tags="\"retain\" <> 'true'") is True
    assert waits == [1.0]
    assert blob_store.props("gone.bin") is None
