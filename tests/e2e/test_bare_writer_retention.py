"""Retention for jobs another writer wrote: jobs uploaded with the bare Azure SDK and no index tags,
then `pipeline run --once` and `retention apply --now` two years after the first job, as an
operator runs them. Every non-retained job past the delete age is gone (folder,
by-date copy, document), every retained job is kept, every finished job's log past the Cool age is
a Cool block blob still readable by `jobs logs`, and a second sweep does nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from lifecycle.apply import Applier
from lifecycle.audit import AuditLog
from lifecycle.plan import DELETE
from lifecycle.sweep import plan_sweep, replan_job
from shared.adapters.sqlite_index import SqliteIndex
from shared.jobid import JobId, parse_job_id
from shared.layout import (
    archived_log_path,
    artifact_path,
    by_date_log_path,
    job_prefix,
    log_path,
    metadata_path,
)
from shared.ports import BlobStore
from shared.services import Services
from shared.settings import Settings
from shared.tiers import Tier, tier_rank
from tests.support.bare import bare_job, bare_metadata, container_of
from tests.support.builders import default_log, lines, make_metadata
from tests.support.cli import invoke_cli, point_cli_at

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SWEEP = START + timedelta(days=730)  # two years after the first job
# (age in days at the sweep, retain, status)
JOBS = [
    (729, False, "completed"),
    (729, True, "completed"),
    (500, False, "failed"),
    (400, False, "completed"),
    (400, True, "cancelled"),
    (366, False, "completed"),
    (364, False, "completed"),
    (200, False, "failed"),
    (95, True, "completed"),
    (89, False, "completed"),
    (45, False, "completed"),
    (60, False, "running"),
    (31, False, "completed"),
    (20, False, "completed"),
    (3, False, "completed"),
]


@dataclass(frozen=True)
class Written:
    job: JobId
    age: int
    retain: bool
    status: str
    log: bytes


@pytest.fixture
def admin(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI acts as an admin of every project, on the test's Azurite container and index."""
    point_cli_at(settings, monkeypatch, user="root", roles="admin")


def ascend(*args: str) -> str:
    code, out, err = invoke_cli(*args)
    assert code == 0, err
    return out


def write_bare_jobs(blobs: BlobStore) -> list[Written]:
    """Every job of `JOBS`, uploaded with the SDK alone: no tags, the log an append blob."""
    written = []
    for n, (age, retain, status) in enumerate(JOBS):
        meta = make_metadata(
            run_hash=f"{n:08x}",
            status=status,
            created_at=SWEEP - timedelta(days=age),
            tags={"retain": "true"} if retain else {"experiment": "bare"},
        )
        log = lines(default_log(meta["job_id"]))
        bare_job(container_of(blobs), meta, log)
        written.append(Written(parse_job_id(meta["job_id"]), age, retain, status, log))
    return written


def job_blobs(blobs: BlobStore, job: JobId) -> list[str]:
    return [*blobs.list_names(job_prefix(job)), *blobs.list_names(by_date_log_path(job))]


def test_untagged_jobs_are_swept_as_the_design_says_two_years_on(
    services: Services, admin: None
) -> None:
    """Deleted past 365 days unless retained (a blob whose event was never handled, still
    untagged, included), logs Cool from 30 days and readable, a second sweep does nothing."""
    jobs = write_bare_jobs(services.blobs)
    ascend("pipeline", "run", "--once")
    late_tagged = artifact_path(jobs[3].job, "late.bin")  # written after the first index
    container_of(services.blobs).upload_blob(late_tagged, b"late")
    ascend("pipeline", "run", "--once")
    never_seen = artifact_path(jobs[5].job, "unseen.bin")  # its event never handled
    container_of(services.blobs).upload_blob(never_seen, b"unseen")
    ascend("retention", "apply", "--yes", "--now", SWEEP.isoformat(), "--json")

    index = SqliteIndex(services.settings.index_path)
    for w in jobs:
        left = job_blobs(services.blobs, w.job)
        if w.age >= 365 and not w.retain:
            assert (left, index.get(str(w.job))) == ([], None), w
            continue
        assert metadata_path(w.job) in left, w
        assert index.get(str(w.job)) is not None, w
        if w.age >= 30 and w.status != "running":
            assert log_path(w.job) not in left, w
            gz = services.blobs.props(archived_log_path(w.job))
            assert gz is not None, w
            assert (gz.blob_type, tier_rank(gz.tier) >= Tier.COOL.rank) == ("BlockBlob", True), w
            shown = ascend("jobs", "logs", str(w.job), "--json")
            assert [orjson.loads(x) for x in shown.splitlines()] == [
                orjson.loads(x) for x in w.log.splitlines()
            ]
        else:
            assert log_path(w.job) in left, w
    kept = [w for w in jobs if w.retain]
    assert all(len(job_blobs(services.blobs, w.job)) >= 7 for w in kept)
    again = ascend("retention", "apply", "--yes", "--now", SWEEP.isoformat(), "--json")
    assert again == ""


@pytest.mark.parametrize("reindexed_before_apply", [False, True])
def test_a_bare_job_whose_retain_flips_between_plan_and_apply_is_kept(
    services: Services, admin: None, reindexed_before_apply: bool
) -> None:
    """retain=true written by the bare writer after the plan (re-indexed and re-tagged before
    the apply or not): nothing of the job is deleted, and the next sweeps leave it alone."""
    meta = make_metadata(run_hash="f11f11f1", created_at=SWEEP - timedelta(days=400))
    bare_job(container_of(services.blobs), meta, lines(default_log(meta["job_id"])))
    job = parse_job_id(meta["job_id"])
    ascend("pipeline", "run", "--once")
    index = SqliteIndex(services.settings.index_path)
    plan, policy = next(plan_sweep(services.blobs, services.index, services.settings, SWEEP))
    assert {a.action for a in plan.actions} == {DELETE}
    bare_metadata(
        container_of(services.blobs),
        {**meta, "tags": {"retain": "true"}, "updated_at": "2027-01-01T00:00:00Z"},
    )
    if reindexed_before_apply:
        ascend("pipeline", "run", "--once")
        assert services.blobs.get_tags(log_path(job))["retain"] == "true"
    applier = Applier(services.blobs, services.index, AuditLog(services.blobs), "test", SWEEP)
    _, results = applier.apply_job(
        plan, lambda: replan_job(services.blobs, services.index, str(job), policy, SWEEP)
    )
    assert DELETE not in {r.action.action for r in results}
    assert len(job_blobs(services.blobs, job)) == 7
    ascend("pipeline", "run", "--once")
    ascend("retention", "apply", "--yes", "--now", SWEEP.isoformat(), "--json")
    assert len(job_blobs(services.blobs, job)) >= 7
    assert index.get(str(job)) is not None
    assert ascend("retention", "apply", "--yes", "--now", SWEEP.isoformat(), "--json") == ""
