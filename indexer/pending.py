"""What a pass of the local worker must deliver (pure): the events for blobs that are new,
changed or gone since the checkpoint, grouped so that one job's events stay together in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from indexer.events import grid_event
from shared.documents import parse_datetime
from shared.errors import InvalidBlobPath
from shared.layout import SYSTEM_PREFIX, parse_blob_name
from shared.listing import StoppableListing
from shared.ports import BlobProps


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One event to deliver: the blob, its listed version (None: deleted), the event payload."""

    name: str
    props: BlobProps | None
    payload: dict[str, Any]


Handled = list[tuple[PendingEvent, str]]  # what a batch of events came to: (event, outcome kind)


def is_watched(name: str) -> bool:
    """False for the pipeline's own writes, which an Event Grid subscription would filter out."""
    if name.startswith(SYSTEM_PREFIX):
        return False
    try:
        return not parse_blob_name(name).is_pipeline_output
    except InvalidBlobPath:
        return True  # outside the layout: the handler says why, and records it when it must


def pending_events(
    container: str,
    listing: Iterable[BlobProps],
    seen: Mapping[str, list[str]],
) -> list[PendingEvent]:
    """Events for blobs that are new or changed since `seen`, then for blobs that vanished
    (only where the listing was complete: a blob past a failed page, or in a prefix that failed
    to list, is not gone)."""
    current: set[str] = set()
    events: list[PendingEvent] = []
    for props in listing:
        if not is_watched(props.name):
            continue
        current.add(props.name)
        known = seen.get(props.name)
        if known is None or known[0] != props.etag:
            events.append(PendingEvent(props.name, props, grid_event(container, props)))
    covered = listing.lists if isinstance(listing, StoppableListing) else lambda _: True
    for name, (etag, modified) in seen.items():
        if name not in current and covered(name):
            gone = _gone(name, etag, modified)
            events.append(PendingEvent(name, None, grid_event(container, gone, deleted=True)))
    return events


def group_by_job(events: Iterable[PendingEvent]) -> list[list[PendingEvent]]:
    """Events grouped so that one job's events stay together and in order."""
    groups: dict[str, list[PendingEvent]] = defaultdict(list)
    for event in events:
        groups[_job_key(event.name)].append(event)
    return list(groups.values())


def _job_key(name: str) -> str:
    match name.split("/"):
        case ["projects", _, _, _, "jobs", job, *_]:
            return job
    return name


def _gone(name: str, etag: str, modified: str) -> BlobProps:
    return BlobProps(name=name, size=0, etag=etag, last_modified=parse_datetime(modified))
