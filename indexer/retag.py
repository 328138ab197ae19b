"""Keep the `retain` index tag of every blob of a job in step with the metadata's tags.retain:
the lifecycle sweep and Azure's native policy select blobs by that tag, not by metadata.json."""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import BlobNotFound, InvalidBlobPath
from shared.jobid import JobId
from shared.layout import parse_blob_name
from shared.ports import BlobProps, BlobStore
from shared.tags import RETAIN, job_blob_tags

MAX_TAGS = 10  # Azure allows 10 index tags per blob


def stale_tags(folder: Iterable[BlobProps], retain: bool) -> list[BlobProps]:
    """The blobs (listed with their tags) whose `retain` tag says otherwise than `retain`."""
    wanted = "true" if retain else "false"
    return [p for p in folder if p.tags is not None and p.tags.get(RETAIN) != wanted]


def retag_job_blobs(blobs: BlobStore, job: JobId, folder: Iterable[BlobProps], *,
                    retain: bool) -> int:
    """Re-tag the job's blobs whose `retain` tag is stale; returns how many were changed."""
    changed = 0
    for props in stale_tags(folder, retain):
        try:
            kind = parse_blob_name(props.name).kind.value
        except InvalidBlobPath:
            continue  # not a file of the job's folder: leave it alone
        ours = job_blob_tags(job, kind, retain=retain)
        others = {k: v for k, v in (props.tags or {}).items() if k not in ours}
        tags = dict(list({**ours, **others}.items())[:MAX_TAGS])
        try:
            blobs.set_tags(props.name, tags)
        except BlobNotFound:
            continue  # deleted meanwhile: nothing to keep in step
        changed += 1
    return changed
