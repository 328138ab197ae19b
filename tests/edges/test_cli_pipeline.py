"""`ascend pipeline run|reconcile|rejected` through the CLI runner, against the tests' Azurite
and a real index file: exit codes, JSON Lines on stdout, one-line messages on stderr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from typer.testing import CliRunner

from ascend_cli.main import app
from shared.adapters.sqlite_index import SqliteIndex
from shared.services import Services
from shared.settings import Settings
from tests.support.builders import EVENTS_CREATED, make_metadata, write_job, write_metadata
from tests.support.cli import point_cli_at


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose environment points at the test's Azurite container and index."""
    point_cli_at(settings, monkeypatch, roles="admin")
    return CliRunner()


def _lines(stdout: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def test_run_once_indexes_pending_jobs_and_prints_one_summary(
    runner: CliRunner, services: Services, settings: Settings
) -> None:
    """`pipeline run --once --json` drains, exits 0 and prints one JSON summary, nothing else
    (a pass this small stays in this process, whatever `--processes` says)."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    result = runner.invoke(
        app, ["pipeline", "run", "--once", "--workers", "2", "--processes", "2", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    [summary] = _lines(result.stdout)
    assert summary["indexed"] == 1
    assert summary["failed"] == 0
    assert SqliteIndex(settings.index_path).get(str(job)) is not None


def test_run_once_without_json_reports_on_stderr(runner: CliRunner, services: Services) -> None:
    """Without --json stdout stays empty and the counts go to stderr."""
    write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    result = runner.invoke(app, ["pipeline", "run", "--once"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "indexed 1" in result.stderr


def test_a_missing_container_fails_with_one_line(runner: CliRunner) -> None:
    """Listing a container that does not exist exits 1 with a one-line reason."""
    result = runner.invoke(app, ["pipeline", "rejected", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("option", ["--workers", "--processes"])
def test_a_bad_worker_count_is_a_usage_error(runner: CliRunner, option: str) -> None:
    """--workers 0 or --processes 0 exits 2 with the reason on stderr."""
    result = runner.invoke(app, ["pipeline", "run", "--once", option, "0"])
    assert result.exit_code == 2
    assert option.strip("-") in result.stderr


def test_rejected_lists_each_rejection_as_one_json_line(
    runner: CliRunner, services: Services
) -> None:
    """`pipeline rejected --json` prints blob, reason, event_id and at for each rejected input."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    meta["tags"] = {"bad key!": "x"}
    name = write_metadata(services.blobs, meta)
    assert runner.invoke(app, ["pipeline", "run", "--once"]).exit_code == 0
    result = runner.invoke(app, ["pipeline", "rejected", "--json"])
    assert result.exit_code == 0, result.stderr
    [row] = _lines(result.stdout)
    assert set(row) == {"blob", "reason", "event_id", "at"}
    assert row["blob"] == name
    assert "tags" in str(row["reason"])


def test_rejected_says_so_when_there_is_nothing(runner: CliRunner, services: Services) -> None:
    """With nothing rejected the human form says so on stderr and exits 0."""
    result = runner.invoke(app, ["pipeline", "rejected"])
    assert result.exit_code == 0
    assert "no rejected inputs" in result.stderr


def test_reconcile_prints_one_summary_object(runner: CliRunner, services: Services) -> None:
    """`pipeline reconcile --json` prints the five counts; a second run finds all unchanged."""
    write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    first = runner.invoke(app, ["pipeline", "reconcile", "--json"])
    assert first.exit_code == 0, first.stderr
    assert _lines(first.stdout) == [
        {"indexed": 1, "updated": 0, "removed": 0, "unchanged": 0, "rejected": 0}
    ]
    second = runner.invoke(app, ["pipeline", "reconcile", "--json"])
    assert _lines(second.stdout)[0]["unchanged"] == 1


def test_reconcile_since_days_looks_only_at_recent_jobs(
    runner: CliRunner, services: Services
) -> None:
    """`--since-days 2` (the daily reconcile's narrowing by the `created` tag) indexes a lost job
    of today and leaves one of last month to the full rebuild."""
    now = datetime.now(UTC)
    recent = write_job(
        services.blobs, make_metadata(run_hash="00000011", created_at=now - timedelta(hours=1))
    )
    old = write_job(
        services.blobs, make_metadata(run_hash="00000012", created_at=now - timedelta(days=40))
    )
    result = runner.invoke(app, ["pipeline", "reconcile", "--since-days", "2", "--json"])
    assert result.exit_code == 0, result.stderr
    assert _lines(result.stdout) == [
        {"indexed": 1, "updated": 0, "removed": 0, "unchanged": 0, "rejected": 0}
    ]
    index = SqliteIndex(services.settings.index_path)
    assert index.get(str(recent)) is not None
    assert index.get(str(old)) is None
    index.close()
