"""Finding 8: admin commands need an admin, rejections are shown to their owner, and a folder
named after another user's job never lends that job's metadata to the storage fallback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from indexer.rejected import record_rejection
from query.jobs import list_jobs
from shared.layout import job_prefix
from shared.principal import Principal
from shared.services import Services
from shared.settings import Settings
from tests.integration.test_jobs import without_index
from tests.support.builders import seed_job
from tests.support.cli import invoke_cli, point_cli_at
from tests.support.jobs_data import NOW


@pytest.mark.parametrize(
    "command",
    [
        ("pipeline", "run", "--once"),
        ("pipeline", "reconcile"),
        ("retention", "policy", "show"),
        ("retention", "policy", "native"),
    ],
)
def test_admin_commands_refuse_a_plain_user(
    command: tuple[str, ...], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user without roles gets exit 1 and 'access denied' naming the role needed."""
    point_cli_at(settings, monkeypatch, user="dave")
    code, out, err = invoke_cli(*command)
    assert code == 1
    assert out == ""
    assert "access denied" in err
    assert "needs role admin" in err


def test_a_project_admin_may_show_that_projects_policy_only(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """admin:vision reads vision's policy, not another project's nor the whole book."""
    point_cli_at(settings, monkeypatch, user="carol", roles="admin:vision")
    code, _, err = invoke_cli("retention", "policy", "show", "--project", "vision")
    assert code == 0, err
    assert invoke_cli("retention", "policy", "show", "--project", "frauddetect")[0] == 1
    assert invoke_cli("retention", "policy", "show")[0] == 1


def test_a_user_sees_only_their_own_rejections(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline rejected` as dave lists dave's rejected blobs only; an admin lists them all."""
    blobs = [
        "projects/p/users/dave/jobs/x/metadata.json",
        "projects/p/users/alice/jobs/y/metadata.json",
        "projects/p/stray.json",
    ]
    for blob in blobs:
        record_rejection(services.blobs, blob=blob, reason="bad", event_id="e", at=NOW, etag="1")
    point_cli_at(settings, monkeypatch, user="dave")
    code, out, _ = invoke_cli("pipeline", "rejected", "--json")
    assert code == 0
    assert [orjson.loads(line)["blob"] for line in out.splitlines()] == [blobs[0]]
    point_cli_at(settings, monkeypatch, user="root", roles="admin")
    _, out, _ = invoke_cli("pipeline", "rejected", "--json")
    assert sorted(orjson.loads(line)["blob"] for line in out.splitlines()) == sorted(blobs)


def test_a_folder_named_after_another_users_job_lends_nothing(
    services: Services, tmp_path: Path
) -> None:
    """Index down: a folder in dave's tree named after alice's job shows dave nothing of hers."""
    alice = seed_job(services.blobs, None, NOW - timedelta(hours=1), status="failed")
    own = seed_job(services.blobs, None, NOW - timedelta(hours=2), user="dave")
    forged = f"projects/{alice.project}/users/dave/jobs/{alice.job_id}/notes.txt"
    services.blobs.write(forged, b"x", content_type="text/plain")
    assert job_prefix(alice.parsed_job_id) not in forged
    root = without_index(services, tmp_path)
    listing = list_jobs(
        root.index, lambda: root.blobs, root.clock, root.settings, Principal.of("dave")
    )
    assert [d["job_id"] for d in listing.documents] == [own.job_id]
