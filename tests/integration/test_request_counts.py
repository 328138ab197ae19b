"""Storage requests per event kind, counted on the wire (a proxy in front of Azurite): each
budget is what the handler needs today, so a change that adds a request fails here and must
say why (or lower the budget when it removes one). `python -m bench.events` reports the same
counts with the CPU per event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

from ascend_cli.azurite import Azurite
from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.jobid import parse_job_id
from shared.layout import (
    artifact_path,
    by_date_log_path,
    log_path,
    metadata_path,
    requirements_path,
)
from shared.services import Services
from shared.settings import azurite_connection_string
from shared.tags import job_blob_tags
from tests.support.builders import (
    EVENTS_CREATED,
    HASH12,
    make_metadata,
    write_job,
    write_log,
    write_metadata,
)
from tests.support.faultproxy import FaultProxy

# Event kind -> the storage requests its handling may make (Azurite's own read of a copy's
# source, through the same proxy, included).
BUDGET = {
    # GET metadata.json, Get Blob Tags of the log (is its `retain` tag the metadata's?)
    "metadata.json, running job, first event": 2,
    # GET metadata.json, Get Blob Tags and GET of the log (stats and props in one read), the
    # by-date copy: Put Block From URL + Put Block List
    "metadata.json, final job, first event": 5,
    # the document was made from this content: nothing to read
    "metadata.json, final job, again (a duplicate)": 0,
    "metadata.json, running job, again (a duplicate)": 0,
    # a job's log is created when it starts: Get Blob Tags (does it carry the job's six tags?
    # a blob written by a bare SDK gets them here), nothing else until its metadata says final
    "job.log.jsonl created, job running": 1,
    # Get Blob Tags, GET metadata.json, HEAD of the log, the by-date copy's listing (of this log?)
    "job.log.jsonl created again, job final (a late re-creation)": 4,
    # Get Blob Tags (plus Set Blob Tags when the writer left them out)
    "artifact created": 1,
    # HEAD of the image record, GET requirements.txt, PUT the record
    "requirements.txt of a new image": 3,
    "by-date copy created (the pipeline's own)": 0,
}


@pytest.fixture
def counted(services: Services, azurite: Azurite) -> Iterator[tuple[Services, FaultProxy]]:
    """The same services, with their storage requests going through a counting proxy."""
    with FaultProxy(azurite.port) as proxy:
        via = services.settings.model_copy(
            update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
        )
        counted = services.using(
            settings=via,
            blobs=AzureBlobStore.from_settings(via, retry=RetryPolicy(2, 20, 0.01, 0.02)),
        )
        yield counted, proxy


def requests_of(counted: tuple[Services, FaultProxy], plain: Services, name: str) -> list[str]:
    """The requests the handler made for the BlobCreated event of `name` as it is now."""
    services, proxy = counted
    props = plain.blobs.props(name)
    assert props is not None, name
    event = event_from_dict(grid_event(plain.settings.container, props))
    before = len(proxy.request_lines)
    handle(event, services.blobs, services.index, services.clock, services.settings)
    return proxy.request_lines[before:]


def operation(line: str) -> str:
    """`PUT metadata.json ?comp=tags`: a request line, short."""
    method, _, target = line.partition(" ")
    path, _, query = target.partition("?")
    params = [p for p in query.split("&") if p.split("=")[0] in {"comp", "restype", "blockid"}]
    return f"{method} {unquote(path).rsplit('/', 1)[-1]} {'&'.join(params)}".strip()


def measure(counted: tuple[Services, FaultProxy], plain: Services) -> dict[str, list[str]]:
    """Each event kind's requests, on a fresh job of its own where it needs one."""
    blobs = plain.blobs
    running = make_metadata(run_hash="00000001", status="running", created_at=EVENTS_CREATED)
    write_metadata(blobs, running)
    started = parse_job_id(running["job_id"])
    write_log(blobs, str(started), [])
    final = write_job(blobs, make_metadata(run_hash="00000002", created_at=EVENTS_CREATED))
    found: dict[str, Any] = {}
    found["metadata.json, running job, first event"] = requests_of(
        counted, plain, metadata_path(started)
    )
    found["metadata.json, running job, again (a duplicate)"] = requests_of(
        counted, plain, metadata_path(started)
    )
    found["job.log.jsonl created, job running"] = requests_of(counted, plain, log_path(started))
    found["metadata.json, final job, first event"] = requests_of(
        counted, plain, metadata_path(final)
    )
    found["metadata.json, final job, again (a duplicate)"] = requests_of(
        counted, plain, metadata_path(final)
    )
    found["job.log.jsonl created again, job final (a late re-creation)"] = requests_of(
        counted, plain, log_path(final)
    )
    artifact = artifact_path(final, "model.pkl")
    blobs.write(artifact, b"m", tags=job_blob_tags(final, "artifact", retain=False))
    found["artifact created"] = requests_of(counted, plain, artifact)
    image = requirements_path(final.project, final.user, HASH12)
    blobs.write(image, b"torch==2.0.0\n")
    found["requirements.txt of a new image"] = requests_of(counted, plain, image)
    found["by-date copy created (the pipeline's own)"] = requests_of(
        counted, plain, by_date_log_path(final)
    )
    return found


def test_no_event_kind_makes_more_storage_requests_than_its_budget(
    counted: tuple[Services, FaultProxy], services: Services
) -> None:
    """Each kind of event costs at most its budget of storage requests (the list is printed
    when it does not, so the new request is named)."""
    found = measure(counted, services)
    over = {
        kind: [operation(line) for line in lines]
        for kind, lines in found.items()
        if len(lines) > BUDGET[kind]
    }
    assert not over, over
    assert set(found) == set(BUDGET)
