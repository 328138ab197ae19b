"""For the lifecycle tests: their usual seeded job (`lifecycle_job`, every blob written through
`tests.support.builders.seed_job(..., every_blob=True)`) and a real store that dies after k
writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.jobid import JobId
from shared.ports import BlobStore, SearchIndex
from tests.support.builders import seed_job


def lifecycle_job(
    blobs: BlobStore,
    index: SearchIndex | None,
    created_at: datetime,
    *,
    project: str = "vision",
    records: int = 30,
    user: str = "alice",
    retain: bool = False,
    tagged: bool = True,
) -> JobId:
    """The id of a finished job created at `created_at`, every blob written (its log `records`
    INFO records) and, unless `index` is None, indexed; `retain`, `tagged` as in `seed_job`."""
    return seed_job(
        blobs,
        index,
        created_at,
        every_blob=True,
        user=user,
        project=project,
        levels=["INFO"] * records,
        retain=retain,
        tagged=tagged,
    ).parsed_job_id


class Killed(BaseException):
    """The process died (not an error anyone handles): raised by `DyingBlobStore`."""


class DyingBlobStore:
    """A real store that 'dies' (raises `Killed`) on the (k+1)-th change it is asked to make."""

    CHANGES = frozenset({"set_tier", "delete", "write", "append", "create_append", "set_tags"})

    def __init__(self, inner: BlobStore, changes_allowed: int) -> None:
        self.inner = inner
        self.left = changes_allowed

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in self.CHANGES:
            return attribute

        def change(*args: Any, **kwargs: Any) -> Any:
            if self.left <= 0 and not _is_audit(args):
                raise Killed(f"killed before {name}{args[:1]}")
            if not _is_audit(args):
                self.left -= 1
            return attribute(*args, **kwargs)

        return change


def _is_audit(args: tuple[Any, ...]) -> bool:
    return bool(args) and str(args[0]).startswith("_ascend/audit/")
