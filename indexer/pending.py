"""What a pass of the local worker must deliver (pure): the events for blobs that are new,
changed or gone since the checkpoint, grouped so that one job's events stay together in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
    seen: Mapping[str, Sequence[str]],
) -> list[PendingEvent]:
    """Events for blobs that are new or changed since `seen`, then for blobs that vanished
    (only where the listing was complete: a blob past a failed page, or in a prefix that failed
    to list, is not gone)."""
    listed = list(listing)
    events = changed_events(container, listed, seen)
    covered = listing.lists if isinstance(listing, StoppableListing) else lambda _: True
    current = {props.name for props in listed}
    return events + [
        deleted_event(container, name, known)
        for name, known in seen.items()
        if name not in current and is_watched(name) and covered(name)
    ]


def changed_events(
    container: str, listed: Iterable[BlobProps], seen: Mapping[str, Sequence[str]]
) -> list[PendingEvent]:
    """`BlobCreated` for each watched blob of `listed` that is new or whose etag is not the one
    `seen` recorded, unless the recorded version is newer (a listing page read earlier)."""
    events: list[PendingEvent] = []
    for props in listed:
        if not is_watched(props.name):
            continue
        known = seen.get(props.name)
        if known is not None and (known[0] == props.etag or _is_older(props, known[1])):
            continue
        events.append(PendingEvent(props.name, props, grid_event(container, props)))
    return events


def deleted_event(container: str, name: str, known: Sequence[str]) -> PendingEvent:
    """`BlobDeleted` for a recorded blob (its recorded etag and last-modified)."""
    gone = _gone(name, known[0], known[1])
    return PendingEvent(name, None, grid_event(container, gone, deleted=True))


def _is_older(props: BlobProps, recorded_modified: str) -> bool:
    try:
        return props.last_modified < parse_datetime(recorded_modified)
    except (ValueError, TypeError):
        return False


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
