"""Builders for the indexer's tests: valid metadata, a job written into storage the way a job
writes it (tagged blobs, an append-blob log), log records, and the events Event Grid sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import orjson

from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from indexer.outcomes import Outcome
from shared.jobid import JobId, parse_job_id
from shared.layout import log_path, metadata_path
from shared.ports import BlobStore
from shared.services import Services
from shared.tags import job_blob_tags
from tests.support.builders import make_metadata

EVENTS_CREATED = datetime(2026, 3, 10, 9, 30, 0, tzinfo=UTC)  # the indexer tests' jobs
HASH12 = "a3f5d2c8e9b1"


def job_id(
    user: str = "alice",
    project: str = "frauddetect",
    run: str = "7b9e4f1a",
    created: datetime = EVENTS_CREATED,
    hash12: str = HASH12,
) -> str:
    return f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{hash12[:8]}-{run}"


def log_record(
    jid: str, level: str = "INFO", message: str = "step", metrics: dict[str, Any] | None = None
) -> dict[str, Any]:
    job = parse_job_id(jid)
    record: dict[str, Any] = {
        "timestamp": "2026-03-10T09:30:30.000000Z",
        "level": level,
        "logger": "ascend.runner",
        "job_id": jid,
        "user": job.user,
        "project": job.project,
        "message": message,
    }
    if metrics:
        record["metrics"] = metrics
    return record


def default_log(jid: str) -> list[dict[str, Any]]:
    """Five records: two errors (the last says 'CUDA out of memory') and two metric updates."""
    return [
        log_record(jid, "INFO", "Job started"),
        log_record(jid, "INFO", "epoch 1", metrics={"loss": 0.9, "gpu_util": 80}),
        log_record(jid, "ERROR", "Failed to upload artifact, retrying"),
        log_record(jid, "INFO", "epoch 2", metrics={"loss": 0.4}),
        log_record(jid, "CRITICAL", "CUDA out of memory"),
    ]


def lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_metadata(blobs: BlobStore, meta: dict[str, Any] | bytes, jid: str | None = None) -> str:
    """Write metadata.json (dict or raw bytes) with the job's tags; returns the blob name."""
    job = parse_job_id(jid or (meta["job_id"] if isinstance(meta, dict) else ""))
    data = meta if isinstance(meta, bytes) else orjson.dumps(meta)
    retain = isinstance(meta, dict) and meta.get("tags", {}).get("retain") == "true"
    name = metadata_path(job)
    blobs.write(
        name,
        data,
        content_type="application/json",
        tags=job_blob_tags(job, "metadata", retain=retain),
    )
    return name


def write_log(
    blobs: BlobStore, jid: str, records: list[dict[str, Any]], *, retain: bool = False
) -> str:
    """The job's log as an append blob (as a running job streams it)."""
    job = parse_job_id(jid)
    name = log_path(job)
    blobs.create_append(
        name,
        tags=job_blob_tags(job, "log", retain=retain),
        content_type="application/x-ndjson",
        create_only=False,
    )
    if records:
        blobs.append(name, lines(records))
    return name


def write_job(
    blobs: BlobStore,
    meta: dict[str, Any] | None = None,
    *,
    records: list[dict[str, Any]] | None = None,
) -> JobId:
    """A job's log then its metadata.json, as a finished job leaves them."""
    meta = meta or make_metadata(created_at=EVENTS_CREATED)
    retain = meta.get("tags", {}).get("retain") == "true"
    write_log(
        blobs,
        meta["job_id"],
        default_log(meta["job_id"]) if records is None else records,
        retain=retain,
    )
    write_metadata(blobs, meta)
    return parse_job_id(meta["job_id"])


def created_payload(blobs: BlobStore, container: str, name: str) -> dict[str, Any]:
    """The Event Grid schema BlobCreated event of the blob as it is now."""
    props = blobs.props(name)
    assert props is not None, name
    return grid_event(container, props)


def deliver(services: Services, name: str) -> Outcome:
    """Hand the BlobCreated event of `name` to the handler, as Event Grid would."""
    payload = created_payload(services.blobs, services.settings.container, name)
    return handle(
        event_from_dict(payload), services.blobs, services.index, services.clock, services.settings
    )


def function_event(payload: dict[str, Any]) -> func.EventGridEvent:
    """The `azure.functions.EventGridEvent` the Functions host builds from a payload."""
    return func.EventGridEvent(
        id=payload["id"],
        data=payload["data"],
        topic=payload["topic"],
        subject=payload["subject"],
        event_type=payload["eventType"],
        event_time=datetime.fromisoformat(payload["eventTime"].replace("Z", "+00:00")),
        data_version=payload.get("dataVersion", ""),
    )


def cloud_event(payload: dict[str, Any]) -> func.CloudEvent:
    """The same event in the CloudEvents 1.0 schema, as `azure.functions.CloudEvent`."""
    return func.CloudEvent(
        id=payload["id"],
        source=payload["topic"],
        type=payload["eventType"],
        specversion="1.0",
        data=payload["data"],
        subject=payload["subject"],
        time=datetime.fromisoformat(payload["eventTime"].replace("Z", "+00:00")),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
