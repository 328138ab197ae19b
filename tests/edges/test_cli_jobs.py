"""`ascend jobs ...` through its runner, on Azurite and a real index file, as a user types it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import shared.services
from ascend_cli.azurite import Azurite
from ascend_cli.main import app
from producer.jobs import set_status
from shared.clock import FixedClock
from shared.layout import log_path
from shared.metadata import JobMetadata
from shared.principal import Principal
from shared.services import Services
from tests.support.builders import log_lines, seed_job
from tests.support.cli import point_cli_at
from tests.support.jobs_data import NOW, make_services


@pytest.fixture
def cli(services: Services, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose environment points at the test's Azurite container and index, as alice."""
    point_cli_at(services.settings, monkeypatch)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines()]


def test_list_json_prints_the_users_documents_newest_first(
    services: Services, cli: CliRunner
) -> None:
    """`jobs list --json` is JSON Lines of alice's search documents only, newest first."""
    old = seed_job(services.blobs, services.index, NOW - timedelta(days=1))
    new = seed_job(services.blobs, services.index, NOW - timedelta(hours=1), status="failed")
    seed_job(services.blobs, services.index, user="bob")
    code, out, err = run(cli, "jobs", "list", "--json")
    assert (code, err) == (0, "")
    documents = jsonl(out)
    assert [d["job_id"] for d in documents] == [new.job_id, old.job_id]
    assert documents[0]["status"] == "failed"


def test_list_prints_a_readable_table(services: Services, cli: CliRunner) -> None:
    """Without --json the list is a table with the job ID, status and function."""
    meta = seed_job(services.blobs, services.index, status="failed")
    code, out, _ = run(cli, "jobs", "list", "--status", "failed")
    assert code == 0
    assert "JOB ID" in out
    assert meta.job_id in out
    assert "failed" in out
    assert "train_model" in out


def test_list_falls_back_to_storage_when_the_index_file_is_unreadable(
    services: Services, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt index does not stop `jobs list`: it reads storage and says so on stderr."""
    meta = seed_job(services.blobs, None)
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("ASCEND_INDEX_PATH", str(broken))
    code, out, err = run(cli, "jobs", "list", "--json")
    assert code == 0
    assert [d["job_id"] for d in jsonl(out)] == [meta.job_id]
    assert "index unavailable" in err
    assert "from storage" in err


def test_a_bad_status_is_a_usage_error_with_one_line(cli: CliRunner) -> None:
    """An unknown --status exits 2 with one line naming the option and the reason."""
    code, out, err = run(cli, "jobs", "list", "--status", "exploded")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "exploded" in err


def test_status_json_has_the_document_and_the_whole_metadata(
    services: Services, cli: CliRunner
) -> None:
    """`jobs status --json` prints one object: the search document plus `metadata`."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "ERROR"])
    code, out, _ = run(cli, "jobs", "status", meta.job_id, "--json")
    assert code == 0
    [shown] = jsonl(out)
    assert shown["job_id"] == meta.job_id
    assert shown["dep_hash"] == meta.parsed_job_id.dep_hash
    assert shown["metadata"]["dependencies"]["packages"] == ["torch==2.0.0", "numpy==1.24.0"]


def test_status_shows_panels_of_every_part_of_the_metadata(
    services: Services, cli: CliRunner
) -> None:
    """The readable status has panels for config, dependencies, execution, tags and the index."""
    meta = seed_job(services.blobs, services.index)
    code, out, _ = run(cli, "jobs", "status", meta.job_id)
    assert code == 0
    for title in ("Job", "Config", "Dependencies", "Execution", "Tags", "Index"):
        assert title in out
    assert "gpu_small" in out
    assert "torch==2.0.0" in out


def test_status_of_another_users_job_is_not_found(services: Services, cli: CliRunner) -> None:
    """Alice asking for Bob's job gets exit 1 and 'not found', nothing about the job."""
    meta = seed_job(services.blobs, services.index, user="bob")
    code, out, err = run(cli, "jobs", "status", meta.job_id)
    assert (code, out) == (1, "")
    assert "not found" in err
    assert "train_model" not in err


def test_a_malformed_job_id_is_a_usage_error(cli: CliRunner) -> None:
    """Text that is not a job ID exits 2 and says what is wrong with it."""
    code, _, err = run(cli, "jobs", "status", "not-a-job")
    assert code == 2
    assert "job ID" in err


def test_cancel_marks_a_running_job_and_refuses_a_finished_one(
    services: Services, cli: CliRunner
) -> None:
    """Cancelling a running job succeeds; cancelling it again fails with the reason."""
    meta = seed_job(services.blobs, services.index, NOW - timedelta(hours=1), status="running")
    code, out, _ = run(cli, "jobs", "cancel", meta.job_id)
    assert code == 0
    assert "cancelled" in out
    code, _, err = run(cli, "jobs", "cancel", meta.job_id)
    assert code == 1
    assert "already cancelled" in err


def test_logs_json_with_a_level_prints_the_stored_lines_unchanged(
    services: Services, cli: CliRunner
) -> None:
    """`jobs logs --json --level ERROR` prints exactly the stored ERROR/CRITICAL lines."""
    levels = ["INFO", "ERROR", "DEBUG", "CRITICAL", "WARNING"]
    meta = seed_job(services.blobs, services.index, levels=levels)
    lines = log_lines(meta, levels).splitlines(keepends=True)
    code, out, _ = run(cli, "jobs", "logs", meta.job_id, "--level", "error", "--json")
    assert code == 0
    assert out.encode() == lines[1] + lines[3]
    code, out, _ = run(cli, "jobs", "logs", meta.job_id, "--json")
    assert out.encode() == b"".join(lines)


def test_logs_are_shown_readably_one_record_per_line(services: Services, cli: CliRunner) -> None:
    """Without --json each record is a line with its time, level, logger and message."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "WARNING"])
    code, out, _ = run(cli, "jobs", "logs", meta.job_id)
    assert code == 0
    assert "WARNING" in out
    assert "ascend.runner" in out
    assert "message 1" in out


def test_an_unknown_level_is_a_usage_error(services: Services, cli: CliRunner) -> None:
    """`--level LOUD` exits 2 naming the allowed levels."""
    meta = seed_job(services.blobs, services.index, levels=["INFO"])
    code, _, err = run(cli, "jobs", "logs", meta.job_id, "--level", "LOUD")
    assert code == 2
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in err


def test_follow_streams_a_running_job_and_exits_zero_when_it_completes(
    services: Services, cli: CliRunner
) -> None:
    """`--follow --json` prints lines as they are appended and ends once the job is final."""
    meta = seed_job(
        services.blobs, services.index, NOW - timedelta(hours=1), status="running", levels=["INFO"]
    )
    job = meta.parsed_job_id
    lines = log_lines(meta, ["INFO", "ERROR", "INFO"]).splitlines(keepends=True)

    def writer() -> None:
        for line in lines[1:]:
            time.sleep(0.2)
            services.blobs.append(log_path(job), line)
        set_status(services.blobs, job, "completed", FixedClock(NOW))

    thread = threading.Thread(target=writer)
    thread.start()
    code, out, _ = run(cli, "jobs", "logs", meta.job_id, "--follow", "--json")
    thread.join()
    assert code == 0
    assert out.encode() == b"".join(lines)


def test_tail_with_follow_prints_the_last_lines_then_what_is_appended(
    services: Services, cli: CliRunner
) -> None:
    """`--tail 2 --follow` is `tail -n 2 -f`: the last two lines written when it first reads,
    then each new line until the job ends. On a loaded machine the command may start after the
    writer has appended a line, so "written so far" is whichever of the writes it saw first."""
    levels = ["INFO", "ERROR", "DEBUG", "WARNING", "INFO"]
    meta = seed_job(
        services.blobs,
        services.index,
        NOW - timedelta(hours=1),
        status="running",
        levels=levels[:3],
    )
    job = meta.parsed_job_id
    lines = log_lines(meta, levels).splitlines(keepends=True)

    def writer() -> None:
        time.sleep(0.7)
        for line in lines[3:]:
            time.sleep(0.3)
            services.blobs.append(log_path(job), line)
        set_status(services.blobs, job, "completed", FixedClock(NOW))

    thread = threading.Thread(target=writer)
    thread.start()
    code, out, err = run(cli, "jobs", "logs", meta.job_id, "--tail", "2", "--follow", "--json")
    thread.join()
    assert (code, err) == (0, "")
    seen_first = {b"".join(lines[written - 2 :]) for written in range(3, len(lines) + 1)}
    assert out.encode() in seen_first


@pytest.fixture(scope="module")
def shared_world(
    azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Services, list[JobMetadata]]:
    """Jobs of alice and bob in frauddetect and of carol in vision, indexed, with logs."""
    services = make_services(azurite, tmp_path_factory.mktemp("cli"))
    jobs = [
        seed_job(
            services.blobs, services.index, user=user, project=project, levels=["INFO", "ERROR"]
        )
        for user, project in (("alice", "frauddetect"), ("bob", "frauddetect"), ("carol", "vision"))
    ]
    return services, jobs


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.sampled_from(["alice", "bob", "carol", "dave"]),
    roles=st.lists(
        st.sampled_from(["admin:frauddetect", "admin:vision", "admin:x"]), max_size=2, unique=True
    ),
)
def test_no_caller_ever_sees_a_job_its_roles_do_not_allow(
    shared_world: tuple[Services, list[JobMetadata]], user: str, roles: list[str]
) -> None:
    """Whoever runs the CLI, list, status and logs show exactly the jobs their roles allow."""
    services, jobs = shared_world
    caller = Principal.of(user, tuple(roles))
    settings_ = services.settings
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "ASCEND_STORAGE_CONNECTION_STRING": str(settings_.storage_connection_string),
            "ASCEND_CONTAINER": settings_.container,
            "ASCEND_INDEX_PATH": str(settings_.index_path),
            "ASCEND_USER": user,
            "ASCEND_ROLES": ",".join(roles),
        }.items():
            patch.setenv(name, value)
        runner = CliRunner()
        shared.services.reset()
        code, out, _ = run(runner, "jobs", "list", "--json", "--limit", "100")
        assert code == 0
        assert {d["job_id"] for d in jsonl(out)} == {
            m.job_id for m in jobs if caller.can_see(m.user, m.project)
        }
        for meta in jobs:
            allowed = caller.can_see(meta.user, meta.project)
            for command in (("status", meta.job_id, "--json"), ("logs", meta.job_id, "--json")):
                shared.services.reset()
                code, out, err = run(runner, "jobs", *command)
                assert ("not found" in err) == (not allowed)
                assert code == (0 if allowed else 1)
                assert (out != "") == allowed
    shared.services.reset()


def test_logs_tail_grep_and_raw_output_like_logcli(services: Services, cli: CliRunner) -> None:
    """`--tail 2 -o raw` prints the last two messages only; `--grep` keeps the matching lines
    unchanged with -o json."""
    levels = ["INFO", "ERROR", "DEBUG", "CRITICAL", "WARNING"]
    meta = seed_job(services.blobs, services.index, levels=levels)
    lines = log_lines(meta, levels).splitlines(keepends=True)
    code, out, _ = run(cli, "jobs", "logs", meta.job_id, "--tail", "2", "-o", "raw")
    assert code == 0
    assert out.splitlines() == [orjson.loads(line)["message"] for line in lines[-2:]]
    message = orjson.loads(lines[1])["message"]
    code, out, _ = run(cli, "jobs", "logs", meta.job_id, "--grep", message, "-o", "json")
    assert out.encode() == lines[1]


def test_logs_since_counts_back_from_now(services: Services, cli: CliRunner) -> None:
    """A job logged 6 hours ago has nothing in the last hour and everything in the last day
    (the CLI's clock is the real one, as for a user)."""
    real_now = datetime.now(UTC)
    meta = seed_job(
        services.blobs, services.index, real_now - timedelta(hours=6), levels=["INFO", "WARNING"]
    )
    _, recent, _ = run(cli, "jobs", "logs", meta.job_id, "--since", "1h", "--json")
    _, today, _ = run(cli, "jobs", "logs", meta.job_id, "--since", "1d", "--json")
    assert (len(recent.splitlines()), len(today.splitlines())) == (0, 2)


def test_logs_and_metrics_of_a_missing_job_say_not_found_like_status(cli: CliRunner) -> None:
    """A job that does not exist is 'not found' in logs and metrics, as in status."""
    missing = "20260301-120000-alice-frauddetect-a3f5d2c8-00000000"
    for command in ("status", "logs", "metrics"):
        code, _, err = run(cli, "jobs", command, missing)
        assert (code, err) == (1, f"error: job {missing}: not found\n"), command
