"""`ascend admin delete|export QUERY` through the runner, on Azurite and a real index file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from shared.layout import metadata_path
from shared.services import Services
from tests.conftest import NOW
from tests.support.cli import invoke_cli as run
from tests.support.cli import point_cli_at
from tests.support.lifecycle import lifecycle_job


@pytest.fixture
def env(services: Services, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An admin's environment, pointing at the test's Azurite container and index."""
    point_cli_at(services.settings, monkeypatch, user="root", roles="admin")
    return monkeypatch


def test_delete_is_a_dry_run_until_yes(services: Services, env: pytest.MonkeyPatch) -> None:
    """Without --yes it lists what it would delete and deletes nothing; with --yes it deletes."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=2))
    code, out, err = run("admin", "delete", "project:vision", "--json")
    assert code == 0, err
    assert [orjson.loads(line) for line in out.splitlines()] == [
        {"job_id": str(job), "outcome": "would delete", "blobs": None}
    ]  # not counted, not 0
    assert "dry run: 1 job would be deleted" in err
    assert services.blobs.props(metadata_path(job)) is not None
    code, out, err = run("admin", "delete", "project:vision", "--yes", "--json")
    assert code == 0, err
    assert orjson.loads(out)["outcome"] == "done"
    assert services.blobs.props(metadata_path(job)) is None
    assert services.index.get(str(job)) is None


def test_retained_jobs_need_include_retained(services: Services, env: pytest.MonkeyPatch) -> None:
    """A retain=true job is skipped with the reason, then deleted with --include-retained."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=2), retain=True)
    _, out, _ = run("admin", "delete", "project:vision", "--yes", "--json")
    assert orjson.loads(out)["outcome"] == "skipped: retain=true (use --include-retained)"
    assert services.blobs.props(metadata_path(job)) is not None
    _, out, _ = run("admin", "delete", "project:vision", "--yes", "--include-retained", "--json")
    assert orjson.loads(out)["outcome"] == "done"


def test_export_writes_each_jobs_files_under_its_id(
    services: Services, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DEST_DIR/{job_id}/metadata.json and the rest, exit 0."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=2))
    code, _, err = run("admin", "export", "project:vision", str(tmp_path / "out"))
    assert code == 0, err
    assert (tmp_path / "out" / str(job) / "metadata.json").is_file()
    assert "1 job exported" in err


def test_a_non_admin_is_refused_and_a_bad_query_is_a_usage_error(
    services: Services, env: pytest.MonkeyPatch
) -> None:
    """Exit 1 for a plain user; exit 2 with the parser's reason for a query that does not parse."""
    lifecycle_job(services.blobs, services.index, NOW - timedelta(days=2))
    env.setenv("ASCEND_ROLES", "")
    code, out, err = run("admin", "delete", "project:vision", "--yes")
    assert (code, out) == (1, "")
    assert "needs role admin" in err
    env.setenv("ASCEND_ROLES", "admin")
    code, out, err = run("admin", "delete", 'status:"unterminated', "--yes")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
