"""Deletes that do not depend on a tag: jobs whose blobs carry no index tags (another writer's,
not yet tagged by the indexer) are judged by their metadata.json, and a racing retain still wins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.admin import BulkRunner, delete_job, select_jobs
from lifecycle.audit import AuditLog
from lifecycle.plan import DELETE
from lifecycle.sweep import plan_sweep, run_sweep
from shared.jobid import JobId
from shared.layout import by_date_log_path, job_prefix, metadata_path
from shared.ports import BlobStore
from shared.principal import Principal
from shared.services import Services
from tests.conftest import NOW
from tests.support.lifecycle import apply_rechecked, lifecycle_job, set_retain_in_metadata

OLD = NOW - timedelta(days=400)


def stored(services: Services, job: JobId) -> list[str]:
    """Every blob of the job that is still there, its by-date copy included."""
    return [
        *services.blobs.list_names(job_prefix(job)),
        *services.blobs.list_names(by_date_log_path(job)),
    ]


class RetainOnFirstDelete:
    """A real store on which `retain=true` is written into metadata.json just before the first
    blob delete goes through (a writer racing the sweep after its re-check)."""

    def __init__(self, inner: BlobStore, job: JobId) -> None:
        self.inner, self.job, self.raced = inner, job, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete(self, name: str, **conditions: Any) -> bool:
        deleted = self.inner.delete(name, **conditions)
        if not self.raced:
            self.raced = True
            set_retain_in_metadata(self.inner, self.job)
        return deleted


def test_untagged_jobs_past_the_delete_age_are_deleted_and_retained_ones_kept(
    services: Services,
) -> None:
    """No tag on any blob: the sweep deletes the non-retained job (folder, copy, document)
    by its metadata, keeps the retain=true one, and a second sweep does nothing."""
    gone = lifecycle_job(services.blobs, services.index, OLD, tagged=False)
    kept = lifecycle_job(services.blobs, services.index, OLD, retain=True, tagged=False)
    summary = run_sweep(services.blobs, services.index, services.settings, NOW)
    assert summary.outcomes["done"] > 0
    assert set(summary.outcomes) == {"done"}
    assert stored(services, gone) == []
    assert services.index.get(str(gone)) is None
    assert metadata_path(kept) in stored(services, kept)
    assert services.index.get(str(kept)) is not None
    assert run_sweep(services.blobs, services.index, services.settings, NOW).jobs == 0


def test_an_untagged_job_whose_retain_flips_between_plan_and_apply_is_kept(
    services: Services,
) -> None:
    """retain=true written (untagged) after planning: the re-check re-plans, nothing goes."""
    job = lifecycle_job(services.blobs, services.index, OLD, tagged=False)
    plan, policy = next(plan_sweep(services.blobs, services.index, services.settings, NOW))
    assert {a.action for a in plan.actions} == {DELETE}
    set_retain_in_metadata(services.blobs, job)
    results = apply_rechecked(services, job, plan, policy, NOW)
    assert DELETE not in {r.action.action for r in results}
    assert len(stored(services, job)) == 7
    assert services.index.get(str(job)) is not None


def test_retain_set_after_the_recheck_stops_the_next_untagged_delete(services: Services) -> None:
    """Each untagged blob's delete re-reads metadata.json's etag: a retain=true written after
    the first delete keeps every other blob, metadata.json and the document."""
    job = lifecycle_job(services.blobs, services.index, OLD, tagged=False)
    plan, policy = next(plan_sweep(services.blobs, services.index, services.settings, NOW))
    racing = RetainOnFirstDelete(services.blobs, job)
    results = apply_rechecked(services, job, plan, policy, NOW, blobs=racing)
    assert [r.outcome.split(":")[0] for r in results] == ["done", "skipped"]
    assert len(stored(services, job)) == 6
    assert metadata_path(job) in stored(services, job)
    assert services.index.get(str(job)) is not None


def test_admin_delete_removes_an_untagged_job_unless_its_metadata_says_retain(
    services: Services,
) -> None:
    """Bulk delete judges untagged blobs by metadata.json too: deleted when not retained, kept
    when metadata.json says retain=true though the index does not know yet."""
    gone = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=3), tagged=False)
    kept = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=3), tagged=False)
    set_retain_in_metadata(services.blobs, kept)
    admin = Principal.of("root", "admin")
    docs = [services.index.get(str(gone)), services.index.get(str(kept))]
    selected = list(select_jobs([d for d in docs if d], admin, include_retained=False))
    runner = BulkRunner(services.blobs, AuditLog(services.blobs), admin, workers=1)
    outcomes = {
        o.job_id: o.outcome
        for o in runner.run(selected, lambda j: delete_job(runner, services.index, j, query="test"))
    }
    assert outcomes == {str(gone): "done", str(kept): "skipped: retain=true in metadata.json"}
    assert stored(services, gone) == []
    assert len(stored(services, kept)) == 7
