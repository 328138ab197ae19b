"""The events Event Grid sends, for the indexer's tests: a blob's BlobCreated payload, its
delivery to the handler, and the `azure.functions` objects the Functions host builds from it
(the jobs and logs they are about come from `tests.support.builders`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from indexer.outcomes import Outcome
from shared.ports import BlobStore
from shared.services import Services


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
