"""Rejected inputs: one JSON record per rejected blob version under `_ascend/rejected/`.

The record's name is a hash of (blob name, etag), written create-only: a retried or duplicated
event for the same version of the same blob finds the record already there and adds nothing.
The rejected blob itself is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.documents import format_datetime
from shared.errors import BlobExists, BlobNotFound
from shared.layout import system_path
from shared.listing import Skipped
from shared.ports import BlobStore
from shared.principal import Principal

FOLDER = "rejected"


class Rejection(BaseModel):
    """One rejected input: the blob, why, the event that brought it, when, and its version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    blob: str
    reason: str
    event_id: str
    at: str
    etag: str | None = None


def rejection_path(blob: str, etag: str | None) -> str:
    """Where the record of this version of `blob` lives."""
    key = hashlib.sha256(f"{blob}\n{etag or ''}".encode()).hexdigest()[:32]
    return system_path(FOLDER, f"{key}.json")


def record_rejection(
    blobs: BlobStore, *, blob: str, reason: str, event_id: str, at: datetime, etag: str | None
) -> Rejection:
    """Write the record unless this version of `blob` is already recorded."""
    record = Rejection(
        blob=blob,
        reason=" ".join(reason.split()),
        event_id=event_id,
        at=format_datetime(at),
        etag=etag,
    )
    with contextlib.suppress(BlobExists):  # this version is recorded already
        blobs.write(
            rejection_path(blob, etag),
            orjson.dumps(record.model_dump()),
            content_type="application/json",
            create_only=True,
        )
    return record


def record_skipped(blobs: BlobStore, skipped: Iterable[Skipped], *, at: datetime) -> None:
    """Record each prefix a listing had to go around (once per prefix and day: a prefix that
    keeps failing shows up again each day it does)."""
    for part in skipped:
        record_rejection(
            blobs,
            blob=part.prefix,
            reason=f"{part.prefix}: fails to list ({part.reason}); its blobs"
            f"{' after ' + repr(part.after) if part.after else ''} wait, and the "
            "listing tries it again on every pass",
            event_id="listing",
            at=at,
            etag=f"listing {at:%Y-%m-%d}",
        )


def list_rejections(blobs: BlobStore) -> Iterator[Rejection]:
    """Every record, oldest first; an unreadable record is reported as such, not skipped."""
    names = list(blobs.list_names(system_path(FOLDER) + "/"))
    records = [_read(blobs, name) for name in names]
    yield from sorted((r for r in records if r is not None), key=lambda r: (r.at, r.blob))


def rejection_owner(rejection: Rejection) -> tuple[str, str] | None:
    """(project, user) of the rejected blob when its name is under a user's tree, else None.
    Read from the raw name (a rejected blob may not parse): `projects/P/users/U/...`."""
    match rejection.blob.split("/"):
        case ["projects", project, "users", user, _, *_]:
            return project, user
    return None


def visible_to(who: Principal, rejection: Rejection) -> bool:
    """A user sees the rejections of blobs in their own tree; the rest only an admin (of its
    project, or of everything for blobs outside any project)."""
    owner = rejection_owner(rejection)
    if owner is None:
        return who.is_admin
    return who.can_see(owner[1], owner[0])


def _read(blobs: BlobStore, name: str) -> Rejection | None:
    try:
        data = blobs.read(name, max_bytes=64 << 10).data
        return Rejection.model_validate(orjson.loads(data))
    except BlobNotFound:
        return None
    except (orjson.JSONDecodeError, ValidationError):
        return Rejection(
            blob=name, reason="the rejection record itself is unreadable", event_id="", at=""
        )
