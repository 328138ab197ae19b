"""`ascend retention ...` through its runner, on Azurite and a real index file, as an operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from shared.jobid import JobId
from shared.layout import job_prefix, metadata_path
from shared.services import Services
from tests.support.cli import invoke_cli as run
from tests.support.cli import point_cli_at
from tests.support.lifecycle import lifecycle_job

CREATED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
BLOCK_FILES = ("metadata.json", "package.pkl", "result.pkl", "model.pkl", "plot.png", "by-date")


@pytest.fixture
def env(services: Services, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment of an admin whose CLI points at the test's Azurite container and index."""
    point_cli_at(services.settings, monkeypatch, user="root", roles="admin")
    return monkeypatch


def jsonl(text: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in text.splitlines()]


def short(blob: object, job: JobId) -> str:
    name = str(blob)
    return "by-date" if "/by-date/" in name else name.removeprefix(job_prefix(job)).split("/")[-1]


def expected(age_days: float, retained: bool) -> set[tuple[str, str, str | None]]:
    """The design's table, blob by blob: what `plan` must list for a job of that age."""
    if age_days >= 365 and not retained:
        return {(f, "delete", None) for f in (*BLOCK_FILES, "job.log.jsonl")}
    if age_days >= 90:
        return {(f, "set_tier", "Archive") for f in BLOCK_FILES if f != "metadata.json"} | {
            ("metadata.json", "set_tier", "Cool"),
            ("job.log.jsonl", "compress", "Cool"),
        }
    if age_days >= 30:
        return {(f, "set_tier", "Cool") for f in BLOCK_FILES} | {
            ("job.log.jsonl", "compress", "Cool")
        }
    return set()


@pytest.mark.parametrize("age_days", [29.99, 30, 89.99, 90, 364.99, 365])
def test_plan_lists_exactly_the_expected_action_for_each_blob_around_each_threshold(
    services: Services, env: pytest.MonkeyPatch, age_days: float
) -> None:
    """At each threshold and just before it, every blob gets the table's action, nothing more."""
    plain = lifecycle_job(services.blobs, services.index, CREATED)
    kept = lifecycle_job(services.blobs, services.index, CREATED, retain=True)
    now = CREATED + timedelta(days=age_days)
    code, out, err = run("retention", "plan", "--now", now.isoformat(), "--json")
    assert code == 0, err
    lines = jsonl(out)
    assert all(set(x) == {"job_id", "blob", "action", "tier", "reason"} for x in lines)
    for job, retained in ((plain, False), (kept, True)):
        mine = {
            (short(x["blob"], job), x["action"], x["tier"])
            for x in lines
            if x["job_id"] == str(job)
        }
        assert mine == expected(age_days, retained)
    assert "would do" in err


def test_apply_does_what_plan_said_then_a_second_apply_does_nothing(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """`apply --json` reports each planned action with outcome done; rerun prints nothing."""
    job = lifecycle_job(services.blobs, services.index, CREATED)
    now = (CREATED + timedelta(days=100)).isoformat()
    _, planned, _ = run("retention", "plan", "--now", now, "--json")
    code, out, err = run("retention", "apply", "--yes", "--now", now, "--json")
    assert code == 0, err
    applied = jsonl(out)
    assert {r["outcome"] for r in applied} == {"done"}
    assert [{k: v for k, v in r.items() if k != "outcome"} for r in applied] == jsonl(planned)
    assert services.blobs.props(metadata_path(job)).tier == "Cool"  # type: ignore[union-attr]
    code, out, err = run("retention", "apply", "--yes", "--now", now, "--json")
    assert (code, out) == (0, "")
    assert "no actions over 0 jobs" in err


def test_apply_at_the_delete_age_removes_the_job_but_keeps_the_retained_one(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """A year on, the plain job's folder and document are gone; the retain=true job is there."""
    plain = lifecycle_job(services.blobs, services.index, CREATED)
    kept = lifecycle_job(services.blobs, services.index, CREATED, retain=True)
    code, _, err = run("retention", "apply", "--yes", "--now", "2026-03-02T00:00:00Z")
    assert code == 0, err
    assert list(services.blobs.list_names(job_prefix(plain))) == []
    assert services.index.get(str(plain)) is None
    assert services.blobs.props(metadata_path(kept)) is not None
    assert services.index.get(str(kept)) is not None


def test_a_user_who_is_not_an_admin_is_refused(services: Services, env: pytest.MonkeyPatch) -> None:
    """Exit 1 with the needed role on stderr; an admin of the project may run it scoped."""
    env.setenv("ASCEND_ROLES", "admin:vision")
    code, out, err = run("retention", "plan", "--json")
    assert (code, out) == (1, "")
    assert "needs role admin" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run("retention", "plan", "--project", "vision", "--json")
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--now", "yesterday-ish"), "--now 'yesterday-ish'"),
        (("--project", "Not A Name"), "--project 'Not A Name'"),
    ],
)
def test_bad_options_are_usage_errors_with_a_one_line_reason(
    services: Services, env: pytest.MonkeyPatch, args: tuple[str, ...], reason: str
) -> None:
    """Exit 2 and the option named, never a traceback."""
    code, out, err = run("retention", "plan", *args)
    assert (code, out) == (2, "")
    assert reason in err
    assert "Traceback" not in err


def test_an_admin_sets_shows_and_resets_a_project_policy(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """`policy set` stores the override, `policy show --json` lists it, `reset` removes it."""
    code, _, err = run(
        "retention",
        "policy",
        "set",
        "fraud",
        "--cool",
        "7",
        "--delete",
        "730",
        "--artifact",
        "model=never",
    )
    assert code == 0, err
    code, out, _ = run("retention", "policy", "show", "--json")
    shown = {row["project"]: row for row in jsonl(out)}
    assert shown[None]["delete_after"] == 365
    assert shown["fraud"]["cool_after"] == 7
    assert shown["fraud"]["artifact_delete_after"] == {"model": None}
    assert run("retention", "policy", "reset", "fraud")[0] == 0
    _, out, _ = run("retention", "policy", "show", "--project", "fraud", "--json")
    assert jsonl(out)[0]["source"] == "default"
    _, positional, _ = run("retention", "policy", "show", "fraud", "--json")  # as set/reset
    assert positional == out


def test_a_policy_that_makes_no_sense_is_refused_with_the_reason(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """Archive before Cool: exit 2, the reason on one line, nothing stored."""
    code, _, err = run("retention", "policy", "set", "fraud", "--cool", "100", "--archive", "10")
    assert code == 2
    assert "Archive before Cool" in err
    assert list(services.blobs.list_names("_ascend/policies/")) == []


def test_setting_another_projects_policy_needs_its_admin_role(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """admin:vision may not set fraud's policy: exit 1, access denied."""
    env.setenv("ASCEND_ROLES", "admin:vision")
    code, _, err = run("retention", "policy", "set", "fraud", "--cool", "7")
    assert code == 1
    assert "access denied" in err


def test_jobs_logs_still_reads_a_log_the_sweep_compressed(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """After the Archive-age sweep the owner's `jobs logs --json` prints the same records."""
    job = lifecycle_job(services.blobs, services.index, CREATED, records=40)
    env.setenv("ASCEND_USER", "alice")
    env.setenv("ASCEND_ROLES", "")
    _, before, _ = run("jobs", "logs", str(job), "--json")
    env.setenv("ASCEND_USER", "root")
    env.setenv("ASCEND_ROLES", "admin")
    later = (CREATED + timedelta(days=100)).isoformat()
    code, _, err = run("retention", "apply", "--yes", "--now", later)
    assert code == 0, err
    assert services.blobs.props(job_prefix(job) + "job.log.jsonl") is None
    env.setenv("ASCEND_USER", "alice")
    env.setenv("ASCEND_ROLES", "")
    code, after, err = run("jobs", "logs", str(job), "--json")
    assert code == 0, err
    assert len(jsonl(after)) == 40
    assert after == before


def test_policy_native_prints_the_lifecycle_policy_with_the_stored_overrides(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """After an override is set, the printed policy has that project's rule set and days."""
    assert run("retention", "policy", "set", "fraud", "--cool", "7")[0] == 0
    code, out, err = run("retention", "policy", "native")
    assert code == 0, err
    rules = {r["name"]: r["definition"] for r in orjson.loads(out)["rules"]}
    cool = rules["project-fraud-cool"]
    assert cool["actions"]["baseBlob"]["tierToCool"]["daysAfterCreationGreaterThan"] == 7
    assert cool["filters"]["prefixMatch"] == [f"{services.settings.container}/projects/fraud/"]


def test_apply_without_yes_is_a_dry_run_that_changes_nothing(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """Like `admin delete`, `retention apply` only says what it would do unless --yes."""
    job = lifecycle_job(services.blobs, services.index, CREATED)
    code, out, err = run("retention", "apply", "--now", "2026-03-02T00:00:00Z", "--json")
    assert code == 0, err
    assert {x["action"] for x in jsonl(out)} >= {"delete"}
    assert "dry run: nothing was changed; add --yes to apply" in err
    assert services.blobs.props(metadata_path(job)) is not None
    assert services.index.get(str(job)) is not None
