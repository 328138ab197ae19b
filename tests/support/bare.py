"""Jobs written as another writer would: the plain Azure SDK `ContainerClient`, no index tags,
no blob metadata, the log as an append blob (the Ascend runner is not our producer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from azure.storage.blob import ContainerClient

from shared.jobid import parse_job_id
from shared.layout import artifact_path, log_path, metadata_path, package_path, result_path
from shared.ports import BlobStore

BARE_ARTIFACTS = (("model.pkl", b"m" * 100), ("plot.png", b"p" * 24))


def container_of(blobs: BlobStore) -> ContainerClient:
    """The SDK's own container client under the adapter (the test's Azurite container)."""
    client = getattr(blobs, "container", None)
    assert isinstance(client, ContainerClient), "needs the Azure Blob adapter"
    return client


def bare_metadata(container: ContainerClient, meta: dict[str, Any]) -> str:
    """(Over)write metadata.json with the SDK, untagged; returns its name."""
    name = metadata_path(parse_job_id(meta["job_id"]))
    container.upload_blob(name, orjson.dumps(meta), overwrite=True)
    return name


def bare_log(container: ContainerClient, jid: str, body: bytes) -> str:
    """The log as an append blob created and appended with the SDK, untagged."""
    name = log_path(parse_job_id(jid))
    client = container.get_blob_client(name)
    client.create_append_blob()
    if body:
        client.append_block(body)
    return name


def bare_job(
    container: ContainerClient,
    meta: dict[str, Any],
    log: bytes,
    artifacts: Iterable[tuple[str, bytes]] = BARE_ARTIFACTS,
) -> list[str]:
    """A whole job as the runner leaves it: package, log, result, artifacts, metadata.json."""
    job = parse_job_id(meta["job_id"])
    names = [package_path(job), result_path(job)]
    for name in names:
        container.upload_blob(name, b"pickle-bytes", overwrite=True)
    names.append(bare_log(container, meta["job_id"], log))
    for file_name, data in artifacts:
        container.upload_blob(artifact_path(job, file_name), data, overwrite=True)
        names.append(artifact_path(job, file_name))
    names.append(bare_metadata(container, meta))
    return names
