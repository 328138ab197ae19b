"""Seed → pipeline, as a user would: `ascend demo seed` then `ascend pipeline run --once` gives
one document per job equal to what its metadata says, a by-date copy of every finished job's
log (a job cancelled before it started has no log, and no copy), and nothing rejected. The
issue's 500-job run is the same commands with `--jobs 500`; the suite uses fewer to stay fast."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

import shared.services
from ascend_cli.main import app
from indexer.document import package_names
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import format_datetime
from shared.layout import by_date_log_path, log_path
from shared.logrecords import iter_log_lines
from shared.metadata import parse_metadata
from shared.settings import Settings
from tests.support.cli import point_cli_at

JOBS = 40


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose environment points at the test's Azurite container and index."""
    point_cli_at(settings, monkeypatch, roles="admin")
    return CliRunner()


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    shared.services.reset()  # each command is a new process in real life
    return result.stdout


def test_seeded_jobs_are_indexed_as_their_metadata_says(
    runner: CliRunner, settings: Settings
) -> None:
    """Every seeded job has a document matching its metadata, finished ones a by-date copy with
    the log's line count, and nothing is rejected."""
    _invoke(
        runner, "demo", "seed", "--jobs", str(JOBS), "--seed", "5", "--now", "2026-03-14T12:00:00Z"
    )
    summary = orjson.loads(_invoke(runner, "pipeline", "run", "--once", "--json"))
    assert (summary["rejected"], summary["failed"]) == (0, 0)
    assert _invoke(runner, "pipeline", "rejected", "--json") == ""
    store = AzureBlobStore.from_settings(settings)
    index = SqliteIndex(settings.index_path)
    names = [n for n in store.list_names("projects/") if n.endswith("/metadata.json")]
    assert index.count() == len(names) == JOBS
    for name in names:
        meta = parse_metadata(store.read(name).data)
        doc = index.get(meta.job_id)
        assert doc is not None, name
        assert (doc["status"], doc["user"], doc["project"]) == (
            meta.status.value,
            meta.user,
            meta.project,
        )
        assert doc["created_at"] == format_datetime(meta.created_at)
        assert doc["updated_at"] == format_datetime(meta.updated_at)
        assert doc["packages"] == list(meta.dependencies.packages)
        assert doc["package_names"] == package_names(meta.dependencies.packages)
        assert doc["tags"] == sorted(f"{k}={v}" for k, v in meta.tags.items())
        assert doc["retain"] == meta.retain
        assert doc["artifact_bytes"] == sum(a.size_bytes for a in meta.artifacts)
        has_log = store.props(log_path(meta.parsed_job_id)) is not None
        if meta.status.is_final and not has_log:  # cancelled or failed before it started
            assert doc["log_lines"] == 0
        elif meta.status.is_final:
            copy = by_date_log_path(meta.parsed_job_id)
            props = store.props(copy)
            assert props is not None, copy
            assert props.blob_type == "BlockBlob"
            records = [r for r in iter_log_lines(store.read_chunks(copy)) if isinstance(r, dict)]
            assert doc["log_lines"] == len(records)
    reconciled = orjson.loads(_invoke(runner, "pipeline", "reconcile", "--json"))
    assert reconciled["unchanged"] == JOBS
