"""Keep the index tags of every blob of a job (`shared.tags.job_blob_tags`: `retain`, `project`,
`user`, `job`, `kind`, `created`) in step with its metadata, whoever wrote the blob: the lifecycle
sweep and Azure's native policy select blobs by those tags, not by metadata.json.

A blob with none of the tags (written by a writer that does not tag, e.g. the bare SDK) is as
stale as one with another `retain`. Tags a writer set for itself are kept, after ours (Azure
allows 10 per blob).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.errors import BlobNotFound, InvalidBlobPath
from shared.layout import parse_blob_name
from shared.ports import BlobProps, BlobStore
from shared.tags import job_blob_tags

MAX_TAGS = 10  # Azure allows 10 index tags per blob
JOB_TAG_COUNT = 6  # the tags `job_blob_tags` gives every blob of a job


def wanted_tags(name: str, retain: bool) -> dict[str, str] | None:
    """The tags blob `name` of a job should carry; None for a blob outside a job's files."""
    try:
        ref = parse_blob_name(name)
    except InvalidBlobPath:
        return None
    if ref.job_id is None:
        return None
    return job_blob_tags(ref.job_id, ref.kind.value, retain=retain)


def tags_differ(tags: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """True when `tags` lack one of `wanted` or say otherwise."""
    return any(tags.get(key) != value for key, value in wanted.items())


def is_stale(props: BlobProps, retain: bool) -> bool:
    """True when the blob (listed with its tags) does not carry the job's tags for `retain`."""
    if props.tags is None:  # tags not fetched: nothing to judge by
        return False
    wanted = wanted_tags(props.name, retain)
    return wanted is not None and tags_differ(props.tags, wanted)


def stale_tags(folder: Iterable[BlobProps], retain: bool) -> list[BlobProps]:
    """The blobs (listed with their tags) that do not carry the job's tags for `retain`."""
    return [p for p in folder if is_stale(p, retain)]


def merged_tags(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    """Ours first, then the writer's own tags while there is room."""
    others = {k: v for k, v in current.items() if k not in wanted}
    return dict(list({**wanted, **others}.items())[:MAX_TAGS])


def retag_blob(blobs: BlobStore, name: str, current: Mapping[str, str], retain: bool) -> bool:
    """Give one blob the job's tags if it lacks them; True when it was changed."""
    wanted = wanted_tags(name, retain)
    if wanted is None or not tags_differ(current, wanted):
        return False
    try:
        blobs.set_tags(name, merged_tags(current, wanted))
    except BlobNotFound:
        return False  # deleted meanwhile: nothing to keep in step
    return True


def retag_job_blobs(blobs: BlobStore, folder: Iterable[BlobProps], *, retain: bool) -> int:
    """Re-tag the listed blobs of a job whose tags are stale; returns how many were changed."""
    return sum(retag_blob(blobs, p.name, p.tags or {}, retain) for p in stale_tags(folder, retain))
