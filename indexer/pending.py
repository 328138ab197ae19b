"""What a pass of the local worker must deliver (pure): the events for blobs that are new,
changed or gone since the checkpoint, grouped so that one job's events stay together in order.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from indexer.events import grid_event
from shared.documents import parse_datetime
from shared.errors import AscendError, InvalidBlobPath
from shared.layout import SYSTEM_PREFIX, parse_blob_name
from shared.ports import BlobProps

log = logging.getLogger("ascend.pipeline")


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


class StoppableListing:
    """A listing that ends, instead of raising, at the first storage failure (one bad blob name
    made Azurite's listing answer 500): what was listed is still handled, `error` says why the
    rest was not, and the next pass lists again."""

    def __init__(self, listing: Iterable[BlobProps]) -> None:
        self.listing = listing
        self.error: str | None = None

    def __iter__(self) -> Iterator[BlobProps]:
        try:
            yield from self.listing
        except AscendError as exc:
            self.error = " ".join(str(exc).split())
            log.warning("listing stopped early, the rest waits for the next pass: %s", exc)


def pending_events(
    container: str,
    listing: Iterable[BlobProps],
    seen: Mapping[str, list[str]],
) -> list[PendingEvent]:
    """Events for blobs that are new or changed since `seen`, then for blobs that vanished
    (only after a complete listing: a blob past a failed page is not gone)."""
    current: set[str] = set()
    events: list[PendingEvent] = []
    for props in listing:
        if not is_watched(props.name):
            continue
        current.add(props.name)
        known = seen.get(props.name)
        if known is None or known[0] != props.etag:
            events.append(PendingEvent(props.name, props, grid_event(container, props)))
    if getattr(listing, "error", None) is not None:
        return events
    for name, (etag, modified) in seen.items():
        if name not in current:
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
    parts = name.split("/")
    if len(parts) > 5 and parts[0] == "projects" and parts[4] == "jobs":
        return parts[5]
    return name


def _gone(name: str, etag: str, modified: str) -> BlobProps:
    return BlobProps(name=name, size=0, etag=etag, last_modified=parse_datetime(modified))
