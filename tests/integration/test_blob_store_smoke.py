"""Smoke: the Azure Blob adapter talks to the tests' own Azurite."""

from shared.adapters.azure_blob import AzureBlobStore


def test_write_then_read_round_trips_bytes_tags_and_metadata(blob_store: AzureBlobStore) -> None:
    """A written blob reads back with its bytes, its MD5 verified, its tags and metadata."""
    props = blob_store.write("a/b.txt", b"hello", tags={"retain": "false"}, metadata={"k": "v"})
    blob = blob_store.read("a/b.txt")
    assert blob.data == b"hello"
    assert blob.props.etag == props.etag
    assert blob_store.get_tags("a/b.txt") == {"retain": "false"}
    assert blob.props.metadata == {"k": "v"}
