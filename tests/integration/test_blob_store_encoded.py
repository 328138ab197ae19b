"""Blobs stored with a Content-Encoding (the lifecycle's gzip logs) read back as stored."""

import gzip

import pytest

from shared.adapters.azure_blob import AzureBlobStore
from shared.errors import StorageError


def test_a_gzip_encoded_blob_reads_back_as_its_stored_bytes(blob_store: AzureBlobStore) -> None:
    """`read` returns the compressed bytes unchanged and verified, not decoded or refused."""
    stored = gzip.compress(b'{"level":"INFO"}\n' * 500)
    blob_store.write("logs/job.log.jsonl.gz", stored, content_encoding="gzip")
    blob = blob_store.read("logs/job.log.jsonl.gz")
    assert blob.data == stored
    assert blob.props.content_encoding == "gzip"


def test_a_blob_whose_bytes_disagree_with_its_md5_is_refused(blob_store: AzureBlobStore) -> None:
    """A stored Content-MD5 that does not match the bytes fails the read, naming the blob."""
    blob_store.write("a.txt", b"hello")
    client = blob_store.container.get_blob_client("a.txt")
    props = client.get_blob_properties()
    settings = props.content_settings
    settings.content_md5 = bytearray(16)  # a checksum of other bytes
    client.set_http_headers(settings)
    with pytest.raises(StorageError, match=r"a\.txt: checksum mismatch"):
        blob_store.read("a.txt")
