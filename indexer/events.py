"""Blob events in, one `BlobEvent` out: Event Grid schema, CloudEvents 1.0, and the Functions
library's `EventGridEvent` / `CloudEvent` objects all become the same frozen value.

Also the other direction: `grid_event` builds the Event Grid `BlobCreated` / `BlobDeleted` event
Azure would send for a blob, which the local worker (`ascend pipeline run`) and reconcile hand to
the same handler. A payload that is not a blob event of storage raises `InvalidInput` naming the
event and the reason; the handler turns that into a `Skipped` outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import InvalidInput
from shared.metadata import describe_validation_error
from shared.ports import BlobProps

CREATED = "Microsoft.Storage.BlobCreated"
DELETED = "Microsoft.Storage.BlobDeleted"
SUBJECT_PREFIX = "/blobServices/default/containers/"


class _BlobData(BaseModel):
    """The `data` of a storage blob event (the fields we use; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    api: str | None = None
    url: str | None = None
    etag: str | None = Field(default=None, alias="eTag")
    content_type: str | None = Field(default=None, alias="contentType")
    content_length: int | None = Field(default=None, alias="contentLength")
    blob_type: str | None = Field(default=None, alias="blobType")
    sequencer: str | None = None


@dataclass(frozen=True, slots=True)
class BlobEvent:
    """One blob event, whatever schema it came in."""

    event_id: str
    event_type: str
    container: str
    blob: str
    event_time: datetime | None = None
    api: str | None = None
    etag: str | None = None  # without quotes
    content_length: int | None = None
    blob_type: str | None = None
    sequencer: str | None = None
    url: str | None = None
    recheck: bool = False  # from reconcile, which found the job stale: never a mere repeat

    @property
    def is_created(self) -> bool:
        return self.event_type == CREATED

    @property
    def is_deleted(self) -> bool:
        return self.event_type == DELETED


def parse_subject(subject: str) -> tuple[str, str]:
    """(container, blob name) of `/blobServices/default/containers/{c}/blobs/{name}`."""
    if not isinstance(subject, str) or not subject.startswith(SUBJECT_PREFIX):
        raise InvalidInput(f"event subject {str(subject)[:200]!r}", "is not a blob subject")
    container, sep, blob = subject[len(SUBJECT_PREFIX) :].partition("/blobs/")
    if not sep or not container or not blob or "/" in container:
        raise InvalidInput(f"event subject {subject[:200]!r}", "has no container or blob name")
    return container, blob


def event_from_parts(
    event_id: Any, event_type: Any, subject: Any, data: Any, event_time: Any = None
) -> BlobEvent:
    """A `BlobEvent` from the fields both schemas share; `InvalidInput` when they do not fit."""
    where = f"event {str(event_id)[:80]!r}"
    if not isinstance(event_type, str) or not event_type:
        raise InvalidInput(where, "has no event type")
    container, blob = parse_subject(subject)
    try:
        body = _BlobData.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise InvalidInput(where, f"data {describe_validation_error(exc)}") from None
    return BlobEvent(
        event_id=str(event_id or ""),
        event_type=event_type,
        container=container,
        blob=blob,
        event_time=_time(event_time),
        api=body.api,
        etag=_etag(body.etag),
        content_length=body.content_length,
        blob_type=body.blob_type,
        sequencer=body.sequencer or None,
        url=body.url,
    )


def event_from_dict(payload: Any) -> BlobEvent:
    """An Event Grid schema or CloudEvents 1.0 event as JSON-decoded data."""
    if not isinstance(payload, dict):
        raise InvalidInput("event", f"must be a JSON object, not {type(payload).__name__}")
    if "specversion" in payload:
        return event_from_parts(
            payload.get("id"),
            payload.get("type"),
            payload.get("subject"),
            payload.get("data"),
            payload.get("time"),
        )
    return event_from_parts(
        payload.get("id"),
        payload.get("eventType"),
        payload.get("subject"),
        payload.get("data"),
        payload.get("eventTime"),
    )


def event_from_function(event: Any) -> BlobEvent:
    """A `BlobEvent` from `azure.functions.EventGridEvent` or `azure.functions.CloudEvent`."""
    if hasattr(event, "specversion"):
        return event_from_parts(event.id, event.type, event.subject, event.get_json(), event.time)
    return event_from_parts(
        event.id, event.event_type, event.subject, event.get_json(), event.event_time
    )


def content_version(props: BlobProps, sequencer: str | None = None) -> str:
    """The sortable version of the blob content that was read: its last-modified time, then the
    event's sequencer (when the event is about exactly this content), then the etag. It always
    ends in `-{etag}`, so reconcile can tell from a listing whether a document is current."""
    moment = props.last_modified.astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S.%f}Z-{sequencer or ''}-{props.etag}"


def is_version_of(version: str | None, etag: str) -> bool:
    """True when a document's `source_version` was made from the content with `etag`."""
    return bool(version) and str(version).endswith(f"-{etag}")


def local_sequencer(props: BlobProps) -> str:
    """A stand-in for Event Grid's per-blob sequencer: 32 hex digits of last-modified µs."""
    micros = int(props.last_modified.timestamp() * 1_000_000)
    return f"{micros:032x}"


def grid_event(
    container: str,
    props: BlobProps,
    *,
    deleted: bool = False,
    account_url: str = "http://127.0.0.1:10000/devstoreaccount1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Event Grid schema event Azure sends when `props`' blob is created (or deleted)."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    data: dict[str, Any] = {
        "api": "DeleteBlob" if deleted else "PutBlob",
        "clientRequestId": str(uuid.uuid4()),
        "requestId": str(uuid.uuid4()),
        "eTag": f'"{props.etag}"',
        "contentType": props.content_type or "application/octet-stream",
        "contentLength": 0 if deleted else props.size,
        "blobType": props.blob_type,
        "url": f"{account_url.rstrip('/')}/{container}/{props.name}",
        "sequencer": local_sequencer(props),
        "storageDiagnostics": {"batchId": str(uuid.uuid4())},
    }
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/local/resourceGroups/local/providers/"
        "Microsoft.Storage/storageAccounts/local",
        "subject": f"{SUBJECT_PREFIX}{container}/blobs/{props.name}",
        "eventType": DELETED if deleted else CREATED,
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "data": data,
        "dataVersion": "",
        "metadataVersion": "1",
    }


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
