"""For the lifecycle tests: their usual seeded job (`lifecycle_job`, every blob written through
`tests.support.builders.seed_job(..., every_blob=True)`), a writer's retain=true, an apply with
the sweep's re-check, and a real store that dies after k writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle.apply import Applier, Result
from lifecycle.audit import AuditLog
from lifecycle.plan import JobPlan
from lifecycle.policy import RetentionPolicy
from lifecycle.sweep import replan_job
from shared.jobid import JobId
from shared.layout import metadata_path
from shared.ports import BlobStore, SearchIndex
from shared.services import Services
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


def set_retain_in_metadata(blobs: BlobStore, job: JobId) -> None:
    """Rewrite metadata.json with tags.retain=true and no index tags, as a bare writer would."""
    data = blobs.read(metadata_path(job)).data.replace(
        b'"experiment":"baseline"', b'"retain":"true"'
    )
    blobs.write(metadata_path(job), data)


def apply_rechecked(
    services: Services,
    job: JobId,
    plan: JobPlan,
    policy: RetentionPolicy,
    now: datetime,
    *,
    blobs: BlobStore | None = None,
) -> list[Result]:
    """Apply `plan` as "test" on `blobs` (the services' store by default), the re-check
    re-planning `job` from its current state as the sweep does; the results."""
    applier = Applier(
        blobs or services.blobs, services.index, AuditLog(services.blobs), "test", now
    )
    _, results = applier.apply_job(
        plan, lambda: replan_job(services.blobs, services.index, str(job), policy, now)
    )
    return results


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
