"""`ascend demo seed` through the CLI runner, against the tests' Azurite."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from ascend_cli.main import app
from shared.adapters.azure_blob import AzureBlobStore
from shared.layout import parse_blob_name
from shared.metadata import parse_metadata
from shared.settings import Settings
from tests.support.cli import point_cli_at


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose environment points at the test's Azurite container and index."""
    point_cli_at(settings, monkeypatch, roles="admin")
    return CliRunner()


def test_seeding_20_jobs_writes_valid_jobs_and_a_summary_on_stderr(
    runner: CliRunner, settings: Settings
) -> None:
    """`demo seed --jobs 20` exits 0, keeps stdout empty and leaves 20 valid metadata.json."""
    result = runner.invoke(
        app, ["demo", "seed", "--jobs", "20", "--seed", "7", "--now", "2026-03-14T12:00:00Z"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "seeded 20 jobs" in result.stderr
    assert "by status:" in result.stderr
    store = AzureBlobStore.from_settings(settings)
    names = list(store.list_names("projects/"))
    metadata = [n for n in names if n.endswith("/metadata.json")]
    assert len(metadata) == 20
    assert all(parse_blob_name(n) for n in names)
    for name in metadata[:5]:
        assert parse_metadata(store.read(name).data).job_id in name


def test_seeding_again_with_the_same_seed_skips_what_is_there(runner: CliRunner) -> None:
    """The same seed twice writes nothing new and says how many were already there."""
    args = ["demo", "seed", "--jobs", "5", "--seed", "3", "--now", "2026-03-14", "--json"]
    first = runner.invoke(app, args)
    second = runner.invoke(app, args)
    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert orjson.loads(first.stdout)["jobs"] == 5
    summary = orjson.loads(second.stdout)
    assert (summary["jobs"], summary["skipped"], summary["failed"]) == (0, 5, 0)
    assert "5 already there, skipped" in second.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "yesterday"], "--now 'yesterday': is not an ISO 8601 date or time"),
        (["--jobs", "0"], "Invalid value for '--jobs'"),
        (["--workers", "abc"], "Invalid value for '--workers'"),
    ],
)
def test_bad_options_are_usage_errors_with_one_line(
    runner: CliRunner, args: list[str], message: str
) -> None:
    """A bad --now, --jobs or --workers exits 2 naming the option, without a traceback."""
    result = runner.invoke(app, ["demo", "seed", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
