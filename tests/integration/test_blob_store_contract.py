"""The `BlobStore` contract, run against every adapter that can run here (the Azure Blob adapter
on Azurite, and the in-memory double handler tests may use): reads, writes, properties, listings,
tags, appends, conditional writes, copies."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pytest
from azure.storage.blob import ContentSettings

from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.memory_blob import MemoryBlobStore
from shared.errors import (
    BlobArchived,
    BlobExists,
    BlobNotFound,
    PreconditionFailed,
    StorageError,
)
from shared.ports import BlobStore
from shared.tags import retain_guard

ADAPTERS: dict[str, Callable[[pytest.FixtureRequest], BlobStore]] = {
    "azure_blob": lambda request: request.getfixturevalue("blob_store"),
    "memory": lambda request: MemoryBlobStore(),
}


@pytest.fixture(params=sorted(ADAPTERS))
def store(request: pytest.FixtureRequest) -> BlobStore:
    """Each adapter of the port, on a fresh container."""
    return ADAPTERS[request.param](request)


def test_written_bytes_read_back_with_their_properties(store: BlobStore) -> None:
    """A write returns the blob's props; a read gives the bytes, the same etag and the MD5."""
    written = store.write(
        "a/b.json",
        b'{"x": 1}',
        content_type="application/json",
        metadata={"source": "test"},
        tags={"retain": "false"},
    )
    blob = store.read("a/b.json")
    assert blob.data == b'{"x": 1}'
    assert blob.props.etag == written.etag
    assert (blob.props.size, written.size) == (8, 8)
    assert blob.props.content_type == "application/json"
    assert blob.props.content_md5 == hashlib.md5(b'{"x": 1}').digest()  # noqa: S324
    assert blob.props.metadata == {"source": "test"}
    assert blob.props.blob_type == "BlockBlob"


def test_the_props_a_write_returns_are_those_of_that_write(store: BlobStore) -> None:
    """The etag returned by a write is the etag storage reports right after it."""
    written = store.write("x", b"1")
    again = store.write("x", b"2")
    current = store.props("x")
    assert current is not None
    assert written.etag != again.etag
    assert current.etag == again.etag
    assert current.last_modified == again.last_modified


def test_chunked_writes_are_streamed_and_checksummed(store: BlobStore) -> None:
    """An iterable of chunks becomes one blob with the whole content's MD5."""
    chunks = [bytes([i]) * 100_000 for i in range(30)]
    written = store.write("big.bin", iter(chunks), content_type="application/octet-stream")
    whole = b"".join(chunks)
    blob = store.read("big.bin")
    assert blob.data == whole
    assert written.size == len(whole)
    assert blob.props.content_md5 == hashlib.md5(whole).digest()  # noqa: S324


def test_range_reads_stream_the_requested_part(store: BlobStore) -> None:
    """read_chunks honours offset and length and never returns more than asked."""
    store.write("r", bytes(range(256)) * 40)
    assert (
        b"".join(store.read_chunks("r", offset=10, length=20, chunk_size=7))
        == (bytes(range(256)) * 40)[10:30]
    )
    assert len(b"".join(store.read_chunks("r"))) == 10240


def test_missing_blobs_are_none_in_props_and_not_found_on_read(store: BlobStore) -> None:
    """props() of a missing blob is None; read() raises BlobNotFound naming the blob."""
    assert store.props("nope/x") is None
    with pytest.raises(BlobNotFound, match=r"^nope/x: does not exist"):
        store.read("nope/x")
    with pytest.raises(BlobNotFound, match=r"^nope/x: "):
        list(store.read_chunks("nope/x"))


def test_a_read_larger_than_allowed_is_refused(store: BlobStore) -> None:
    """max_bytes bounds what a read may hold in memory."""
    store.write("big", b"x" * 1000)
    with pytest.raises(StorageError, match=r"^big: is 1000 bytes, over the 10 allowed$"):
        store.read("big", max_bytes=10)
    assert store.read("big", max_bytes=1000).data == b"x" * 1000


def test_listings_by_prefix_with_tags_names_and_folders(store: BlobStore) -> None:
    """list, list_names and walk see exactly the blobs (and folders) under a prefix."""
    for name in ("p/a/1", "p/a/2", "p/b", "q/c"):
        store.write(name, b"x", tags={"name": name.replace("/", "_")})
    assert [p.name for p in store.list("p/")] == ["p/a/1", "p/a/2", "p/b"]
    assert [p.tags for p in store.list("p/a/", with_tags=True)] == [
        {"name": "p_a_1"},
        {"name": "p_a_2"},
    ]
    assert list(store.list_names("q/")) == ["q/c"]
    assert list(store.walk("p/")) == ["p/a/", "p/b"]


def test_an_overwrite_without_tags_leaves_none(store: BlobStore) -> None:
    """Tags belong to a write: overwriting without them clears them (so writers resend them)."""
    store.write("t", b"1", tags={"retain": "true"})
    store.write("t", b"2")
    assert store.get_tags("t") == {}


def test_exactly_one_of_16_racing_create_only_writers_wins(store: BlobStore) -> None:
    """Sixteen threads creating one blob at once: one succeeds, fifteen get BlobExists."""
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def create(i: int) -> None:
        barrier.wait()
        try:
            store.write("race", f"{i}".encode(), create_only=True)
            outcomes.append(f"won {i}")
        except BlobExists:
            outcomes.append("lost")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1
    assert outcomes.count("lost") == 15
    assert store.read("race").data == winners[0].split()[1].encode()


def test_create_only_on_an_existing_blob_says_it_exists(store: BlobStore) -> None:
    """A create-only write to an existing name raises BlobExists and leaves the blob alone."""
    store.write("once", b"first")
    with pytest.raises(BlobExists, match=r"^once: already exists$"):
        store.write("once", b"second", create_only=True)
    with pytest.raises(BlobExists):
        store.write("once", iter([b"chunked"]), create_only=True)
    assert store.read("once").data == b"first"


def test_a_write_with_a_stale_etag_is_refused(store: BlobStore) -> None:
    """if_etag writes succeed on the current etag and fail with PreconditionFailed on an old one."""
    first = store.write("m", b"1")
    second = store.write("m", b"2", if_etag=first.etag)
    with pytest.raises(PreconditionFailed, match=r"^m: condition not met"):
        store.write("m", b"3", if_etag=first.etag)
    store.write("m", b"3", if_etag=f'"{second.etag}"')
    assert store.read("m").data == b"3"


def test_appends_are_positional_when_asked(store: BlobStore) -> None:
    """append returns the new size; an append at the wrong position is PreconditionFailed."""
    created = store.create_append("log", tags={"kind": "log"}, content_type="application/x-ndjson")
    assert (created.blob_type, created.size) == ("AppendBlob", 0)
    assert store.append("log", b"one\n", at_offset=0) == 4
    assert store.append("log", b"two\n") == 8
    with pytest.raises(PreconditionFailed):
        store.append("log", b"late\n", at_offset=4)
    with pytest.raises(BlobExists):
        store.create_append("log")
    props = store.props("log", with_tags=True)
    assert props is not None
    assert (props.blob_type, props.size, props.tags) == ("AppendBlob", 8, {"kind": "log"})
    assert store.read("log").data == b"one\ntwo\n"


def test_deletes_report_whether_anything_was_there(store: BlobStore) -> None:
    """delete is True for a blob, False once it is gone; a stale etag keeps it."""
    written = store.write("d", b"1")
    store.write("d", b"2")
    with pytest.raises(PreconditionFailed):
        store.delete("d", if_etag=written.etag)
    assert store.delete("d") is True
    assert store.delete("d") is False


def test_the_retain_guard_protects_retained_blobs_from_deletion(store: BlobStore) -> None:
    """A delete guarded by `"retain" <> 'true'` removes ordinary blobs and refuses retained ones."""
    store.write("keep", b"1", tags={"retain": "true"})
    store.write("drop", b"1", tags={"retain": "false"})
    with pytest.raises(PreconditionFailed):
        store.delete("keep", if_tags=retain_guard())
    assert store.delete("drop", if_tags=retain_guard()) is True
    assert store.props("keep") is not None


def test_tags_can_be_replaced_and_found(store: BlobStore) -> None:
    """set_tags replaces a blob's tags; find_by_tags finds the container's matching blobs.

    (Azurite 3.37 ignores `if_tags` on Set Blob Tags and Set Blob Tier, so conditional tag and
    tier changes are not part of what this suite can check here.)"""
    store.write("a", b"1", tags={"retain": "true", "project": "x"})
    store.write("b", b"1", tags={"retain": "false", "project": "x"})
    store.write("c", b"1", tags={"retain": "true", "project": "y"})
    store.set_tags("b", {"retain": "false", "project": "x", "seen": "1"})
    assert store.get_tags("b") == {"retain": "false", "project": "x", "seen": "1"}
    found = set(store.find_by_tags("\"retain\" = 'true' AND \"project\" = 'x'"))
    assert found == {"a"}


def test_an_append_blob_copies_to_a_block_blob_that_can_be_tiered(store: BlobStore) -> None:
    """copy_to_block_blob makes a BlockBlob with the same bytes and tags; it can go Cool."""
    store.create_append("log")
    store.append("log", b"line 1\nline 2\n")
    with pytest.raises(StorageError) as refused:
        store.set_tier("log", "Cool")  # tiers apply to block blobs only
    assert str(refused.value).startswith("log: ")
    assert "StorageErrorCode" not in str(refused.value)
    if isinstance(store, AzureBlobStore):
        assert str(refused.value).startswith("log: HTTP 400 ")
    copied = store.copy_to_block_blob("log", "copy.jsonl", tags={"kind": "copy"})
    assert (copied.blob_type, copied.size) == ("BlockBlob", 14)
    assert store.read("copy.jsonl").data == b"line 1\nline 2\n"
    assert store.get_tags("copy.jsonl") == {"kind": "copy"}
    store.set_tier("copy.jsonl", "Cool")
    props = store.props("copy.jsonl")
    assert props is not None
    assert props.tier == "Cool"


def test_a_copy_from_a_source_that_changed_is_refused(store: BlobStore) -> None:
    """With the etag the caller read at, a changed source fails the copy, leaving no copy."""
    first = store.write("src", b"1")
    store.write("src", b"2")
    with pytest.raises(PreconditionFailed, match=r"^src: changed since it was read"):
        store.copy_to_block_blob("src", "dst", if_etag=first.etag)
    assert store.props("dst") is None


def test_archived_blobs_keep_props_but_cannot_be_read(store: BlobStore) -> None:
    """An Archive-tier blob lists and reports props, but reading it raises BlobArchived."""
    store.write("old", b"data")
    store.set_tier("old", "Archive")
    props = store.props("old")
    assert props is not None
    assert props.tier == "Archive"
    with pytest.raises(BlobArchived, match=r"^old: is archived"):
        store.read("old")


def test_a_stored_checksum_that_does_not_match_the_bytes_is_detected(
    blob_store: AzureBlobStore,
) -> None:
    """A blob whose stored Content-MD5 disagrees with its bytes fails the read, naming it."""
    blob_store.write("tampered", b"honest bytes")
    client = blob_store.container.get_blob_client("tampered")
    client.set_http_headers(ContentSettings(content_md5=bytearray(hashlib.md5(b"other").digest())))  # noqa: S324
    with pytest.raises(StorageError, match=r"^tampered: .*(MD5|checksum) mismatch"):
        blob_store.read("tampered")


def test_a_copy_whose_source_changed_after_it_was_read_is_refused(store: BlobStore) -> None:
    """Given the source's props as read earlier, a source rewritten since fails the block reads
    (the source must still have that etag), leaving no copy behind."""
    first = store.write("src", b"first version")
    store.write("src", b"second version, longer")
    with pytest.raises(PreconditionFailed):
        store.copy_to_block_blob("src", "dst", source_props=first)
    assert store.props("dst") is None
