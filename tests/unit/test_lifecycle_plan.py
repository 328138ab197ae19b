"""The sweep's pure core: which action each blob of a job gets at a given age, under a policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.plan import (
    COMPRESS,
    DELETE,
    SET_TIER,
    BlobState,
    JobPlan,
    JobState,
    age_days,
    decide,
    job_delete_age,
    plan_job,
)
from lifecycle.policy import DEFAULT_POLICY, RetentionPolicy
from shared.jobid import make_job_id
from shared.layout import (
    BlobKind,
    archived_log_path,
    artifact_path,
    by_date_log_path,
    log_path,
    metadata_path,
    package_path,
    result_path,
)

CREATED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
JOB = make_job_id(
    user="alice",
    project="vision",
    dependency_hash="a3f5d2c8e9b1",
    run_hash="7b9e4f1a",
    created_at=CREATED,
)


def fresh_job(*, retain: bool = False) -> JobState:
    """A finished job as written: everything Hot, the log an append blob."""
    blobs = (
        BlobState(metadata_path(JOB), BlobKind.METADATA, etag="m1"),
        BlobState(package_path(JOB), BlobKind.PACKAGE),
        BlobState(result_path(JOB), BlobKind.RESULT),
        BlobState(artifact_path(JOB, "model.pkl"), BlobKind.ARTIFACT, artifact_type="model"),
        BlobState(artifact_path(JOB, "plot.png"), BlobKind.ARTIFACT, artifact_type="plot"),
        BlobState(log_path(JOB), BlobKind.LOG, blob_type="AppendBlob"),
        BlobState(by_date_log_path(JOB), BlobKind.BY_DATE_LOG),
    )
    return JobState(
        JOB,
        retain,
        tuple(b._replace(tier=None if b.blob_type != "BlockBlob" else "Hot") for b in blobs),
        "m1",
    )


def actions_at(
    state: JobState, days: float, policy: RetentionPolicy = DEFAULT_POLICY
) -> dict[str, tuple[str, str | None]]:
    plan = plan_job(state, policy, CREATED + timedelta(days=days))
    return {a.blob.rsplit("/", 1)[-1]: (a.action, a.tier) for a in plan.actions}


def carry_out(state: JobState, plan: JobPlan) -> JobState:
    """What storage looks like after `plan` ran (a model of apply, for idempotence checks)."""
    by_name = {b.name: b for b in state.blobs}
    for action in plan.actions:
        blob = by_name.pop(action.blob)
        if action.action == SET_TIER:
            by_name[blob.name] = blob._replace(tier=action.tier)
        elif action.action == COMPRESS:
            gz = archived_log_path(JOB)
            by_name[gz] = BlobState(gz, BlobKind.ARCHIVED_LOG, tier=action.tier)
    return replace(state, blobs=tuple(by_name.values()), doc_tier=plan.stage)


def test_a_job_younger_than_30_days_is_left_alone() -> None:
    """Before the Cool threshold nothing moves."""
    assert actions_at(fresh_job(), 29.99) == {}


def test_at_30_days_every_block_blob_moves_to_cool_and_the_finished_log_is_compressed() -> None:
    """Block blobs go Cool; the append log (no tier of its own) is gzipped into a Cool block
    blob at the same age, as the design's table has it (Cool from 30 days)."""
    block_blobs = (
        "metadata.json",
        "package.pkl",
        "result.pkl",
        "model.pkl",
        "plot.png",
        f"{JOB}.log.jsonl",
    )
    assert actions_at(fresh_job(), 30) == {
        **dict.fromkeys(block_blobs, (SET_TIER, "Cool")),
        "job.log.jsonl": (COMPRESS, "Cool"),
    }


def test_a_running_jobs_log_is_not_compressed_and_the_job_stays_a_candidate() -> None:
    """Past the Cool age a job still running keeps its append log, and its stage is not
    advanced, so the first sweep after it finished compresses the log."""
    running = replace(fresh_job(), final=False)
    assert "job.log.jsonl" not in actions_at(running, 45)
    plan = plan_job(running, DEFAULT_POLICY, CREATED + timedelta(days=45))
    assert plan.stage == "Hot"
    assert (
        plan_job(replace(running, final=True), DEFAULT_POLICY, CREATED + timedelta(days=45)).stage
        == "Cool"
    )


def test_without_a_cool_stage_the_log_is_compressed_at_the_archive_age() -> None:
    """A policy with no Cool age compresses the log when the job is archived."""
    policy = RetentionPolicy(cool_after=None, archive_after=60, delete_after=365)
    assert "job.log.jsonl" not in actions_at(fresh_job(), 59, policy)
    assert actions_at(fresh_job(), 60, policy)["job.log.jsonl"] == (COMPRESS, "Cool")


def test_at_90_days_data_is_archived_the_log_compressed_and_metadata_kept_readable() -> None:
    """Archive for package, result, artifacts and by-date copy; metadata.json stops at Cool."""
    assert actions_at(fresh_job(), 90) == {
        "metadata.json": (SET_TIER, "Cool"),
        "package.pkl": (SET_TIER, "Archive"),
        "result.pkl": (SET_TIER, "Archive"),
        "model.pkl": (SET_TIER, "Archive"),
        "plot.png": (SET_TIER, "Archive"),
        f"{JOB}.log.jsonl": (SET_TIER, "Archive"),
        "job.log.jsonl": (COMPRESS, "Cool"),
    }


def test_at_365_days_every_blob_of_the_job_and_its_document_are_deleted() -> None:
    """Deletion takes the whole folder and the by-date copy, metadata.json last."""
    plan = plan_job(fresh_job(), DEFAULT_POLICY, CREATED + timedelta(days=365))
    assert {a.action for a in plan.actions} == {DELETE}
    assert len(plan.actions) == 7
    assert plan.actions[-1].blob == metadata_path(JOB)
    assert plan.actions[-1].etag == "m1"
    assert plan.delete_document


def test_a_retained_job_is_never_deleted_but_still_moves_to_colder_tiers() -> None:
    """retain=true: at 2 years the job is archived as any other, and nothing is deleted."""
    actions = actions_at(fresh_job(retain=True), 730)
    assert DELETE not in {a for a, _ in actions.values()}
    assert actions["package.pkl"] == (SET_TIER, "Archive")


def test_a_retain_tag_on_any_blob_protects_the_whole_job() -> None:
    """A blob tagged retain=true (a racing change) keeps the whole job from deletion."""
    state = fresh_job()
    tagged = replace(state, blobs=(state.blobs[0]._replace(retain_tag=True), *state.blobs[1:]))
    assert DELETE not in {a for a, _ in actions_at(tagged, 400).values()}


def test_a_policy_deleting_within_180_days_of_archiving_keeps_data_cool() -> None:
    """Archive at 90 d and delete at 200 d would pay Archive's early-deletion charge: Cool."""
    policy = RetentionPolicy(archive_after=90, delete_after=200)
    actions = actions_at(fresh_job(), 100, policy)
    assert actions["package.pkl"] == (SET_TIER, "Cool")
    assert actions["job.log.jsonl"] == (COMPRESS, "Cool")
    plan = plan_job(fresh_job(), policy, CREATED + timedelta(days=100))
    assert "180-day minimum" in next(a.reason for a in plan.actions if a.blob == package_path(JOB))


def test_a_policy_that_accepts_the_charge_archives_anyway() -> None:
    """With accept_early_deletion the same policy archives at 90 d."""
    policy = RetentionPolicy(archive_after=90, delete_after=200, accept_early_deletion=True)
    assert actions_at(fresh_job(), 100, policy)["package.pkl"] == (SET_TIER, "Archive")


def test_model_artifacts_kept_longer_than_the_job_outlive_it_with_their_metadata() -> None:
    """model=730: at 400 d everything else goes, the model and metadata.json stay."""
    policy = RetentionPolicy(artifact_delete_after=(("model", 730),))
    plan = plan_job(fresh_job(), policy, CREATED + timedelta(days=400))
    deleted = {a.blob.rsplit("/", 1)[-1] for a in plan.actions if a.action == DELETE}
    assert "model.pkl" not in deleted
    assert "metadata.json" not in deleted
    assert {"package.pkl", "job.log.jsonl", "plot.png"} <= deleted
    assert not plan.delete_document
    later = plan_job(fresh_job(), policy, CREATED + timedelta(days=730))
    assert later.delete_document
    assert len(later.actions) == 7


def test_a_short_lived_artifact_type_goes_before_the_job() -> None:
    """plot=60: plots are deleted at 60 d while the rest only moves to Cool."""
    policy = RetentionPolicy(artifact_delete_after=(("plot", 60),))
    actions = actions_at(fresh_job(), 60, policy)
    assert actions["plot.png"] == (DELETE, None)
    assert actions["model.pkl"] == (SET_TIER, "Cool")


def test_tiers_only_get_colder() -> None:
    """A blob already archived is never planned back to Cool."""
    state = fresh_job()
    archived = replace(
        state,
        blobs=tuple(
            b._replace(tier="Archive") if b.kind is BlobKind.PACKAGE else b for b in state.blobs
        ),
    )
    assert "package.pkl" not in actions_at(archived, 45)


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.floats(0, 800), min_size=1, max_size=6).map(sorted), retain=st.booleans())
def test_sweeping_on_any_sequence_of_days_is_idempotent(days: list[float], retain: bool) -> None:
    """After carrying out a plan, planning again at the same moment finds nothing to do."""
    state = fresh_job(retain=retain)
    for day in days:
        now = CREATED + timedelta(days=day)
        plan = plan_job(state, DEFAULT_POLICY, now)
        state = carry_out(state, plan)
        again = plan_job(state, DEFAULT_POLICY, now)
        assert again.actions == ()
        assert not (plan.delete_document and retain)


@pytest.mark.parametrize("days", [0, 29.9, 30, 89.9, 90, 364.9, 365, 1000])
def test_the_plan_for_the_same_state_and_time_is_always_the_same(days: float) -> None:
    """The plan is a pure function of (state, policy, now)."""
    now = CREATED + timedelta(days=days)
    assert plan_job(fresh_job(), DEFAULT_POLICY, now) == plan_job(fresh_job(), DEFAULT_POLICY, now)


@given(first=st.floats(0, 800), second=st.floats(0, 800), retain=st.booleans())
def test_a_plan_is_the_same_whatever_was_planned_before(
    first: float, second: float, retain: bool
) -> None:
    """Answers are reused between jobs (a sweep asks the same questions over and over): a job's
    plan is what a fresh planner gives it, whichever job of which age went before, down to a
    fraction of a day on either side of a threshold."""
    state = fresh_job(retain=retain)
    plan_job(state, DEFAULT_POLICY, CREATED + timedelta(days=first))
    reused = plan_job(state, DEFAULT_POLICY, CREATED + timedelta(days=second))
    from lifecycle import plan as planner

    planner._answers.cache_clear()
    assert plan_job(state, DEFAULT_POLICY, CREATED + timedelta(days=second)) == reused


def test_a_day_short_of_a_threshold_is_not_past_it() -> None:
    """29.9 days is not yet Cool, 30.0 is, even when the same question was answered just
    before for a job a few hours older (the reason's rounded age is the same '30')."""
    assert actions_at(fresh_job(), 30.2)
    assert actions_at(fresh_job(), 29.9) == {}


_KINDS = st.sampled_from([*BlobKind, None])
_TIERS = st.sampled_from([None, "Hot", "Cool", "Cold", "Archive"])
_blobs = st.lists(
    st.builds(
        BlobState,
        name=st.sampled_from(
            [metadata_path(JOB), package_path(JOB), log_path(JOB), "x/metadata.json", "a", "b"]
        ),
        kind=_KINDS,
        blob_type=st.sampled_from(["BlockBlob", "AppendBlob"]),
        tier=_TIERS,
        etag=st.sampled_from(["", "e1"]),
        retain_tag=st.booleans(),
        artifact_type=st.sampled_from([None, "model", "plot"]),
        tagged=st.booleans(),
    ),
    max_size=8,
)
_policies = st.sampled_from(
    [
        DEFAULT_POLICY,
        RetentionPolicy(cool_after=7, archive_after=100, delete_after=730),
        RetentionPolicy(cool_after=None, archive_after=200, delete_after=300),
        RetentionPolicy(cool_after=30, archive_after=None, delete_after=None),
    ]
)


@settings(max_examples=300)
@given(
    blobs=_blobs,
    days=st.floats(0, 900),
    retain=st.booleans(),
    final=st.booleans(),
    policy=_policies,
)
def test_a_plan_is_each_blobs_own_decision_in_name_order_metadata_last(
    blobs: list[BlobState], days: float, retain: bool, final: bool, policy: RetentionPolicy
) -> None:
    """Plans are reused between jobs of the same shape; each is still exactly what deciding
    blob by blob gives, in blob name order with metadata.json last, whatever the blobs."""
    state = JobState(JOB, retain, tuple(blobs), "m1", final=final)
    now = CREATED + timedelta(days=days)
    age = age_days(JOB, now)
    retained = retain or any(b.retain_tag for b in blobs)
    whole = job_delete_age(blobs, policy)
    ordered = sorted(blobs, key=lambda b: (b.kind is BlobKind.METADATA, b.name))
    one_by_one = tuple(
        action
        for b in ordered
        if (action := decide(b, str(JOB), policy, age, retained=retained, whole=whole, final=final))
    )
    assert plan_job(state, policy, now).actions == one_by_one
