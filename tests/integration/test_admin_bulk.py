"""Admin bulk delete and export over the query language, on Azurite and a real SQLite index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import query
from lifecycle.admin import BulkRunner, Selected, delete_job, export_job, select_jobs
from lifecycle.audit import AuditLog, read_audit
from shared.errors import AccessDenied
from shared.layout import artifact_path, by_date_log_path, job_prefix, metadata_path, package_path
from shared.principal import Principal
from shared.services import Services
from tests.conftest import NOW
from tests.support.builders import ARTIFACT_BYTES
from tests.support.lifecycle import lifecycle_job


def bulk_delete(
    services: Services, who: Principal, text: str, *, include_retained: bool = False
) -> dict[str, str]:
    docs = query.iter_all(services.index, who, text, clock=services.clock)
    selected = list(select_jobs(docs, who, include_retained=include_retained))
    runner = BulkRunner(services.blobs, AuditLog(services.blobs), who, workers=4)
    outcomes = runner.run(
        [j for j in selected if not j.skip_reason],
        lambda j: delete_job(runner, services.index, j, query=text),
    )
    return {
        **{j.job_id: f"skipped: {j.skip_reason}" for j in selected if j.skip_reason},
        **{o.job_id: o.outcome for o in outcomes},
    }


def vision_export(services: Services) -> tuple[BulkRunner, Selected]:
    """An admin's runner and the one job `project:vision` selects, ready for `export_job`."""
    admin = Principal.of("root", "admin")
    runner = BulkRunner(services.blobs, AuditLog(services.blobs), admin)
    [selected] = select_jobs(
        query.iter_all(services.index, admin, "project:vision", clock=services.clock),
        admin,
        include_retained=False,
    )
    return runner, selected


def test_an_admin_deletes_every_matching_job_but_not_retained_ones(services: Services) -> None:
    """Folder, by-date copy and document go; retain=true stays unless included; audited."""
    gone = [lifecycle_job(services.blobs, services.index, NOW - timedelta(days=d)) for d in (3, 4)]
    kept = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=5), retain=True)
    other = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=3), project="fraud")
    admin = Principal.of("root", "admin")
    outcomes = bulk_delete(services, admin, "project:vision")
    assert outcomes == {
        str(gone[0]): "done",
        str(gone[1]): "done",
        str(kept): "skipped: retain=true (use --include-retained)",
    }
    for job in gone:
        assert list(services.blobs.list_names(job_prefix(job))) == []
        assert services.blobs.props(by_date_log_path(job)) is None
        assert services.index.get(str(job)) is None
    assert services.blobs.props(metadata_path(kept)) is not None
    assert services.blobs.props(metadata_path(other)) is not None
    records = list(read_audit(services.blobs, datetime.now(UTC).date()))
    assert len(records) == 2 * 7  # six files in each folder, and the by-date copy
    assert {r["who"] for r in records} == {"root"}
    assert bulk_delete(services, admin, "project:vision", include_retained=True) == {
        str(kept): "done"
    }


def test_a_project_admin_acts_only_on_that_projects_jobs(services: Services) -> None:
    """admin:vision sees its own jobs elsewhere, but may not delete them."""
    mine_elsewhere = lifecycle_job(
        services.blobs, services.index, NOW - timedelta(days=1), project="fraud", user="carol"
    )
    theirs = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1))
    outcomes = bulk_delete(services, Principal.of("carol", "admin:vision"), "created:>=-7d")
    assert outcomes == {
        str(theirs): "done",
        str(mine_elsewhere): "skipped: not an admin of project 'fraud'",
    }
    assert services.blobs.props(metadata_path(mine_elsewhere)) is not None


def test_a_user_without_an_admin_role_is_refused_before_anything_happens(
    services: Services,
) -> None:
    """Bulk operations are for admins only."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1))
    with pytest.raises(AccessDenied, match="admin"):
        bulk_delete(services, Principal.of("alice"), "project:vision")
    assert services.blobs.props(metadata_path(job)) is not None


def test_export_downloads_every_file_of_each_job_verified(
    services: Services, tmp_path: Path
) -> None:
    """DEST/{job_id}/... holds each blob's bytes; MD5 and artifact sha256 were checked."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1))
    runner, selected = vision_export(services)
    outcome = export_job(runner, selected, tmp_path, query="project:vision")
    assert (outcome.outcome, outcome.blobs) == ("done", 6)
    folder = tmp_path / str(job)
    assert (folder / "artifacts" / "model.pkl").read_bytes() == ARTIFACT_BYTES
    assert (folder / "package.pkl").read_bytes() == b"package-bytes"
    prefix = job_prefix(job)
    stored = {
        p.name[len(prefix) :]: services.blobs.read(p.name).data for p in services.blobs.list(prefix)
    }
    exported = {
        str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert exported == stored  # every blob of the job folder, byte for byte, and nothing else
    assert len(exported) == 6


def test_an_artifact_that_does_not_match_its_sha256_is_not_exported(
    services: Services, tmp_path: Path
) -> None:
    """Changed bytes under an unchanged metadata.json: that file fails, no partial file is left."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1))
    services.blobs.write(artifact_path(job, "model.pkl"), b"tampered")
    services.blobs.set_tier(package_path(job), "Archive")
    runner, selected = vision_export(services)
    outcome = export_job(runner, selected, tmp_path, query="project:vision")
    assert outcome.outcome.startswith("failed: 1 blob(s)")
    assert "1 archived blob(s) not exported (package.pkl)" in outcome.outcome
    assert outcome.blobs == 4
    files = {p.name for p in (tmp_path / str(job)).rglob("*") if p.is_file()}
    assert "model.pkl" not in files
    assert "package.pkl" not in files
    assert not any(name.endswith(".partial") for name in files)


def test_archived_blobs_are_listed_not_failed_and_rehydrate_starts_them(
    services: Services, tmp_path: Path
) -> None:
    """The readable files are exported; an archived one is named as waiting for rehydration,
    and with rehydrate it gets Set Blob Tier Hot (audited), so a later export fetches it."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1))
    services.blobs.set_tier(artifact_path(job, "model.pkl"), "Archive")
    runner, selected = vision_export(services)
    outcome = export_job(runner, selected, tmp_path, query="project:vision")
    assert outcome.outcome == (
        "partly done: 1 archived blob(s) not exported "
        "(artifacts/model.pkl); add --rehydrate to start their rehydration"
    )
    assert outcome.blobs == 5
    again = export_job(runner, selected, tmp_path, query="project:vision", rehydrate=True)
    assert "rehydration requested" in again.outcome
    props = services.blobs.props(artifact_path(job, "model.pkl"))
    assert props is not None
    assert props.tier == "Hot"  # Azurite rehydrates at once; Azure takes hours
    third = export_job(runner, selected, tmp_path, query="project:vision")
    assert (third.outcome, third.blobs) == ("done", 6)
