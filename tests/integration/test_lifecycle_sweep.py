"""The sweep against Azurite and a real SQLite index: jobs seeded across two years."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.apply import Applier, Result
from lifecycle.audit import AuditLog, read_audit
from lifecycle.overrides import set_override
from lifecycle.plan import DELETE
from lifecycle.policy import RetentionPolicy
from lifecycle.sweep import plan_sweep, run_sweep
from shared.jobid import JobId
from shared.layout import by_date_log_path, job_prefix, metadata_path
from shared.principal import Principal
from shared.services import Services
from tests.support.lifecycle import (
    DyingBlobStore,
    Killed,
    apply_rechecked,
    lifecycle_job,
    set_retain_in_metadata,
)

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
AGES = [
    (5, False),
    (31, False),
    (95, False),
    (200, False),
    (366, False),
    (400, True),
    (700, False),
    (700, True),
]


def seed_two_years(services: Services) -> dict[JobId, tuple[int, bool]]:
    return {
        lifecycle_job(services.blobs, services.index, NOW - timedelta(days=age), retain=retain): (
            age,
            retain,
        )
        for age, retain in AGES
    }


def expected_tiers(job: JobId, age: int, retained: bool) -> dict[str, str | None]:
    """What a user should find in storage after the sweep: file -> tier (None: append blob)."""
    if age >= 365 and not retained:
        return {}
    base = {
        "metadata.json": "Hot",
        "package.pkl": "Hot",
        "result.pkl": "Hot",
        "artifacts/model.pkl": "Hot",
        "artifacts/plot.png": "Hot",
        "job.log.jsonl": None,
        f"{job}.log.jsonl": "Hot",
    }
    if age >= 90:
        archived = {k: "Archive" for k in base if k != "job.log.jsonl"}
        return {**archived, "metadata.json": "Cool", "job.log.jsonl.gz": "Cool"}
    if age >= 30:
        cool = {k: "Cool" for k in base if k != "job.log.jsonl"}
        return {**cool, "job.log.jsonl.gz": "Cool"}
    return base


def stored_tiers(services: Services, job: JobId) -> dict[str, str | None]:
    found = {
        p.name.removeprefix(job_prefix(job)): p.tier if p.blob_type == "BlockBlob" else None
        for p in services.blobs.list(job_prefix(job))
    }
    for props in services.blobs.list(by_date_log_path(job)):
        found[props.name.rsplit("/", 1)[1]] = props.tier
    return found


def assert_swept(services: Services, jobs: dict[JobId, tuple[int, bool]]) -> None:
    for job, (age, retained) in jobs.items():
        expected = expected_tiers(job, age, retained)
        assert stored_tiers(services, job) == expected, (job, age, retained)
        assert (services.index.get(str(job)) is None) == (expected == {})


def audit_records(services: Services) -> list[dict[str, Any]]:
    return list(read_audit(services.blobs, datetime.now(UTC).date()))


def test_apply_leaves_storage_and_index_as_planned_and_a_second_apply_does_nothing(
    services: Services,
) -> None:
    """Tiers read back from the blobs, retained jobs all present, one audit record per action."""
    jobs = seed_two_years(services)
    planned = [
        a
        for plan, _ in plan_sweep(services.blobs, services.index, services.settings, NOW)
        for a in plan.actions
    ]
    results: list[Result] = []
    summary = run_sweep(
        services.blobs, services.index, services.settings, NOW, on_result=results.append
    )
    assert len(results) == len(planned)
    assert {r.outcome for r in results} == {"done"}
    assert_swept(services, jobs)
    records = audit_records(services)
    assert len(records) == len(results)
    assert {(r["blob"], r["action"], r["outcome"], r["who"]) for r in records} == {
        (r.action.blob, r.action.action, "done", "system:sweep") for r in results
    }
    assert summary.jobs == 7
    again = run_sweep(services.blobs, services.index, services.settings, NOW)
    assert again.jobs == 0
    assert len(audit_records(services)) == len(results)


def test_the_document_records_the_stage_each_job_reached(services: Services) -> None:
    """After the sweep, `tier` in the index says Hot, Cool or Archive by age."""
    jobs = seed_two_years(services)
    run_sweep(services.blobs, services.index, services.settings, NOW)
    stages = {
        age: (services.index.get(str(j)) or {}).get("tier")
        for j, (age, r) in jobs.items()
        if age < 365
    }
    assert stages == {5: None, 31: "Cool", 95: "Archive", 200: "Archive"}


@pytest.mark.parametrize("changes_before_kill", [4, 17])
def test_a_sweep_killed_mid_way_is_completed_by_the_next_without_repeating_work(
    services: Services, changes_before_kill: int
) -> None:
    """Kill after k changes, run again: the end state is complete and no action was done twice."""
    jobs = seed_two_years(services)
    dying = services.using(blobs=DyingBlobStore(services.blobs, changes_before_kill))
    with pytest.raises(Killed):
        run_sweep(dying.blobs, dying.index, dying.settings, NOW, workers=1)
    run_sweep(services.blobs, services.index, services.settings, NOW, workers=1)
    assert_swept(services, jobs)
    done = Counter(
        (r["blob"], r["action"]) for r in audit_records(services) if r["outcome"] == "done"
    )
    assert done
    assert max(done.values()) == 1
    assert run_sweep(services.blobs, services.index, services.settings, NOW).jobs == 0


def test_a_job_whose_metadata_changed_after_planning_is_rechecked_not_deleted(
    services: Services,
) -> None:
    """retain=true written between plan and apply: the re-check sees it and deletes nothing."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=400))
    plan, policy = next(plan_sweep(services.blobs, services.index, services.settings, NOW))
    assert {a.action for a in plan.actions} == {DELETE}
    set_retain_in_metadata(services.blobs, job)
    results = apply_rechecked(services, job, plan, policy, NOW)
    assert DELETE not in {r.action.action for r in results}
    assert all(r.action.reason.startswith("re-checked") for r in results)
    assert services.blobs.props(metadata_path(job)) is not None
    assert services.index.get(str(job)) is not None


def test_a_racing_retain_tag_stops_the_deletion_of_that_job(services: Services) -> None:
    """A blob tagged retain=true after planning is not deleted (tag condition on the delete)."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=400))
    plan, _ = next(plan_sweep(services.blobs, services.index, services.settings, NOW))
    first = plan.actions[0].blob
    tags = services.blobs.get_tags(first)
    services.blobs.set_tags(first, {**tags, "retain": "true"})
    applier = Applier(services.blobs, services.index, AuditLog(services.blobs), "test", NOW)
    _, results = applier.apply_job(plan, lambda: plan)
    assert results[0].outcome.startswith("skipped: retain=true")
    assert len(results) == 1
    assert services.blobs.props(first) is not None
    assert services.blobs.props(metadata_path(job)) is not None
    assert services.index.get(str(job)) is not None


def test_a_project_override_changes_what_the_sweep_does_for_that_project_only(
    services: Services,
) -> None:
    """Project `slow` cools at 60 days: its 45-day job stays Hot, another project's cools."""
    slow = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=45), project="slow")
    other = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=45))
    set_override(
        services.blobs,
        Principal.of("root", "admin:slow"),
        "slow",
        RetentionPolicy(cool_after=60, archive_after=120, delete_after=400),
    )
    touched = {
        plan.job_id
        for plan, _ in plan_sweep(services.blobs, services.index, services.settings, NOW)
    }
    assert touched == {str(other)}
    assert str(slow) not in touched


def test_the_sweep_for_one_project_touches_no_other_project(services: Services) -> None:
    """`--project` scoping: candidates come only from that project."""
    lifecycle_job(services.blobs, services.index, NOW - timedelta(days=45), project="alpha")
    beta = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=45), project="beta")
    assert {
        p.job_id
        for p, _ in plan_sweep(
            services.blobs, services.index, services.settings, NOW, project="beta"
        )
    } == {str(beta)}
