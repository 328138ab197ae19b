"""Deleting one blob of a job so that a racing `retain=true` wins, whether or not the blob carries
the `retain` index tag.

A blob with the tag is deleted on the condition `"retain" <> 'true'` (one request, checked by
storage). That condition is false on a blob without the tag (a writer that does not tag, before
the indexer tagged it), so such a blob is judged by the job's metadata.json instead: the caller
read it (and its `retain`) and passes its etag; right before the delete the etag is read again,
and a metadata.json that changed since (retain may have been set) stops the delete. metadata.json
itself is deleted on its etag either way.
"""

from __future__ import annotations

from shared.errors import PreconditionFailed
from shared.layout import METADATA_FILE
from shared.ports import BlobStore
from shared.tags import retain_guard


def delete_unless_retained(
    blobs: BlobStore,
    name: str,
    *,
    tagged: bool,
    etag: str | None,
    metadata: str,
    metadata_etag: str | None,
) -> bool:
    """Delete `name` (False: already gone); `PreconditionFailed` when `retain=true` may have been
    set since the job was judged, or the blob changed. `tagged`: it carries a `retain` tag;
    `etag`: the blob's as judged; `metadata_etag`: the job's metadata.json's as judged."""
    is_metadata = name.endswith("/" + METADATA_FILE)
    if tagged:
        return blobs.delete(
            name, if_tags=retain_guard(), if_etag=etag if is_metadata and etag else None
        )
    if not is_metadata:
        current = blobs.props(metadata)
        if (current.etag if current else None) != metadata_etag:
            raise PreconditionFailed(metadata, "changed since the job was judged")
    return blobs.delete(name, if_etag=etag or None)
