"""The jobs use cases against Azurite and a real SQLite index: list, details, cancel, logs."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from producer.jobs import set_status
from query.jobs import JobListing, cancel_job, job_details, job_log, list_jobs
from query.logs import filter_raw
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import BlobArchived, InvalidInput, JobFinished, JobNotFound
from shared.jobid import parse_job_id
from shared.layout import archived_log_path, log_path, metadata_path
from shared.principal import Principal
from shared.services import Services
from tests.support.builders import log_lines, seed_job
from tests.support.jobs_data import NOW

ALICE = Principal.of("alice")
BOB = Principal.of("bob")


def without_index(services: Services, tmp_path: Path) -> Services:
    """The same storage, but the index file is unreadable garbage."""
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    return services.using(index=SqliteIndex(broken))


def alice_lists(services: Services, **filters: Any) -> JobListing:
    """Alice's `jobs list` through the index of `services` (storage if it fails), with `filters`
    as `list_jobs` takes them."""
    return list_jobs(
        services.index, lambda: services.blobs, services.clock, services.settings, ALICE, **filters
    )


def test_list_shows_the_callers_jobs_newest_first_and_never_another_users(
    services: Services,
) -> None:
    """Alice sees her own jobs, newest first; Bob's job is not in her list."""
    old = seed_job(services.blobs, services.index, NOW - timedelta(days=2))
    new = seed_job(services.blobs, services.index, NOW - timedelta(hours=1), project="vision")
    seed_job(services.blobs, services.index, user="bob")
    listing = alice_lists(services)
    assert [d["job_id"] for d in listing.documents] == [new.job_id, old.job_id]
    assert listing.degraded is None


def test_list_filters_by_status_project_and_limit(services: Services) -> None:
    """`--status`, `--project` and `--limit` narrow the list as the contract says."""
    failed = seed_job(services.blobs, services.index, NOW - timedelta(hours=3), status="failed")
    seed_job(services.blobs, services.index, NOW - timedelta(hours=2), status="completed")
    running = seed_job(
        services.blobs, services.index, NOW - timedelta(hours=1), status="running", project="vision"
    )
    assert [d["job_id"] for d in alice_lists(services, status="failed").documents] == [
        failed.job_id
    ]
    assert [d["job_id"] for d in alice_lists(services, project="vision").documents] == [
        running.job_id
    ]
    assert len(alice_lists(services, limit=2).documents) == 2


def test_a_bad_status_is_a_usage_error_naming_the_option(services: Services) -> None:
    """An unknown status never reaches the index: it is refused with the allowed values."""
    with pytest.raises(InvalidInput, match="status"):
        alice_lists(services, status="exploded")


def test_an_unreadable_index_falls_back_to_the_users_folders_in_storage(
    services: Services, tmp_path: Path
) -> None:
    """With the index file corrupt, the list comes from storage, says so, and stays scoped."""
    failed = seed_job(services.blobs, None, NOW - timedelta(hours=2), status="failed")
    done = seed_job(services.blobs, None, NOW - timedelta(hours=1), project="vision")
    seed_job(services.blobs, None, user="bob")
    degraded = without_index(services, tmp_path)
    listing = alice_lists(degraded)
    assert [d["job_id"] for d in listing.documents] == [done.job_id, failed.job_id]
    assert listing.degraded is not None
    assert "index unavailable" in listing.degraded
    assert "from storage" in listing.degraded
    assert [d["status"] for d in listing.documents] == ["completed", "failed"]
    only_failed = alice_lists(degraded, status="failed")
    assert [d["job_id"] for d in only_failed.documents] == [failed.job_id]
    assert alice_lists(degraded, user="bob").documents == []


def test_details_give_metadata_and_document_of_a_visible_job(services: Services) -> None:
    """Status shows the whole metadata and the index's derived fields."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "ERROR"])
    details = job_details(services.blobs, services.index, services.settings, ALICE, meta.job_id)
    assert details.metadata is not None
    assert details.metadata["config"]["node_type"] == "gpu_small"
    assert details.document is not None
    assert details.document["dep_hash"] == meta.parsed_job_id.dep_hash
    assert (details.metadata_problem, details.index_problem) == (None, None)


def test_another_users_job_is_not_found_exactly_like_a_missing_one(services: Services) -> None:
    """Bob asking for Alice's job gets the same answer as for a job that never existed."""
    meta = seed_job(services.blobs, services.index)
    missing = meta.job_id[:-8] + "00000000"
    with pytest.raises(JobNotFound) as theirs:
        job_details(services.blobs, services.index, services.settings, BOB, meta.job_id)
    with pytest.raises(JobNotFound) as nobodys:
        job_details(services.blobs, services.index, services.settings, ALICE, missing)
    assert str(theirs.value).replace(meta.job_id, "X") == str(nobodys.value).replace(missing, "X")


def test_invalid_metadata_still_shows_the_job_with_the_reason(services: Services) -> None:
    """A broken metadata.json does not hide the job: details say what is wrong with it."""
    meta = seed_job(services.blobs, services.index, levels=["INFO"])
    services.blobs.write(metadata_path(meta.parsed_job_id), b'{"job_id": 1}')
    details = job_details(services.blobs, services.index, services.settings, ALICE, meta.job_id)
    assert details.metadata is None
    assert details.metadata_problem is not None
    assert "metadata.json of" in details.metadata_problem


def test_cancel_marks_a_running_job_cancelled_in_its_metadata(services: Services) -> None:
    """Cancelling rewrites metadata.json conditionally with status cancelled and an end time."""
    meta = seed_job(services.blobs, services.index, status="running")
    cancelled = cancel_job(services.blobs, services.clock, ALICE, meta.job_id)
    assert cancelled.status.value == "cancelled"
    stored = job_details(
        services.blobs, services.index, services.settings, ALICE, meta.job_id
    ).metadata
    assert stored is not None
    assert stored["status"] == "cancelled"


def test_a_finished_job_cannot_be_cancelled(services: Services) -> None:
    """A completed job stays completed; the error says why."""
    meta = seed_job(services.blobs, services.index, status="completed")
    with pytest.raises(JobFinished, match="is already completed"):
        cancel_job(services.blobs, services.clock, ALICE, meta.job_id)
    details = job_details(services.blobs, services.index, services.settings, ALICE, meta.job_id)
    assert details.metadata is not None
    assert details.metadata["status"] == "completed"


def test_another_users_job_cannot_be_cancelled_and_is_untouched(services: Services) -> None:
    """Bob cannot cancel Alice's job; it is 'not found' and stays running."""
    meta = seed_job(services.blobs, services.index, status="running")
    with pytest.raises(JobNotFound):
        cancel_job(services.blobs, services.clock, BOB, meta.job_id)
    details = job_details(services.blobs, services.index, services.settings, ALICE, meta.job_id)
    assert details.metadata is not None
    assert details.metadata["status"] == "running"


def test_a_project_admin_may_read_and_cancel_a_users_job(services: Services) -> None:
    """`admin:frauddetect` sees and cancels jobs of that project, not of others."""
    meta = seed_job(services.blobs, services.index, status="running")
    admin = Principal.of("carol", ("admin:frauddetect",))
    assert (
        cancel_job(services.blobs, services.clock, admin, meta.job_id).status.value == "cancelled"
    )
    with pytest.raises(JobNotFound):
        job_details(
            services.blobs,
            services.index,
            services.settings,
            Principal.of("carol", ("admin:vision",)),
            meta.job_id,
        )


def test_the_stored_log_streams_with_a_level_filter(services: Services) -> None:
    """The log is read in chunks and filtered by level, lines unchanged."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "ERROR", "DEBUG", "CRITICAL"])
    lines = log_lines(meta, ["INFO", "ERROR", "DEBUG", "CRITICAL"]).splitlines(keepends=True)
    kept = b"".join(
        filter_raw(job_log(services.blobs, services.settings, ALICE, meta.job_id), "ERROR")
    )
    assert kept == lines[1] + lines[3]


def test_the_log_is_readable_when_the_metadata_is_missing(services: Services) -> None:
    """Graceful degradation: a job whose metadata.json is gone still shows its log."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "WARNING"])
    services.blobs.delete(metadata_path(meta.parsed_job_id))
    assert b"".join(job_log(services.blobs, services.settings, ALICE, meta.job_id)) == log_lines(
        meta, ["INFO", "WARNING"]
    )


def test_an_archived_log_is_read_from_its_gzip_copy(services: Services) -> None:
    """When the lifecycle replaced the log by job.log.jsonl.gz, the log is gunzipped on the fly."""
    meta = seed_job(services.blobs, services.index)
    job = meta.parsed_job_id
    data = log_lines(meta, ["INFO", "ERROR"] * 500)
    services.blobs.write(
        archived_log_path(job),
        gzip.compress(data),
        content_type="application/x-ndjson",
        content_encoding="gzip",
        metadata={"source_etag": "0x1"},
    )  # as the lifecycle writes it
    assert b"".join(job_log(services.blobs, services.settings, ALICE, meta.job_id)) == data


def test_a_log_in_the_archive_tier_says_it_must_be_rehydrated(services: Services) -> None:
    """An archived log with no readable copy is a clear error, not an empty log."""
    meta = seed_job(services.blobs, services.index)
    job = meta.parsed_job_id
    services.blobs.write(archived_log_path(job), gzip.compress(b"{}\n"), content_encoding="gzip")
    services.blobs.set_tier(archived_log_path(job), "Archive")
    with pytest.raises(BlobArchived, match="rehydrate"):
        job_log(services.blobs, services.settings, ALICE, meta.job_id)


def test_follow_tails_a_running_job_until_it_is_final_then_drains(services: Services) -> None:
    """Lines appended while following arrive in order; the tail ends once the job completes."""
    meta = seed_job(services.blobs, services.index, status="running", levels=["INFO"])
    job = meta.parsed_job_id
    more = log_lines(meta, ["INFO", "ERROR", "WARNING", "INFO"]).splitlines(keepends=True)

    def writer() -> None:
        for line in more[1:]:
            time.sleep(0.15)
            services.blobs.append(log_path(job), line)
        set_status(services.blobs, job, "completed", FixedClock(NOW + timedelta(hours=1)))
        services.blobs.append(log_path(job), b'{"level":"INFO","message":"after final"}\n')

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.monotonic()
    received = b"".join(
        job_log(
            services.blobs, services.settings, ALICE, meta.job_id, follow=True, poll_seconds=0.05
        )
    )
    thread.join()
    assert received.startswith(b"".join(more))
    assert time.monotonic() - started < 20


def test_logs_of_another_users_job_are_not_found(services: Services) -> None:
    """Bob cannot read Alice's log, and learns nothing about whether it exists."""
    meta = seed_job(services.blobs, services.index, levels=["INFO"])
    with pytest.raises(JobNotFound):
        job_log(services.blobs, services.settings, BOB, meta.job_id)
    assert parse_job_id(meta.job_id).user == "alice"


def test_a_log_bigger_than_one_range_streams_back_byte_for_byte(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk range reads (no per-range MD5) give back the stored log exactly, MD5 checked."""
    monkeypatch.setattr("query.logs.BULK_RANGE", 4096)
    meta = seed_job(services.blobs, services.index)
    data = log_lines(meta, ["INFO", "ERROR", "DEBUG"] * 200)
    services.blobs.write(log_path(meta.parsed_job_id), data, content_type="application/x-ndjson")
    chunks = list(job_log(services.blobs, services.settings, ALICE, meta.job_id))
    assert len(chunks) > 10
    assert b"".join(chunks) == data


def test_an_append_blob_log_read_in_parallel_ranges_keeps_its_order(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running job's append-blob log, fetched two ranges at a time, comes back in order."""
    monkeypatch.setattr("query.logs.BULK_RANGE", 1000)
    meta = seed_job(services.blobs, services.index, levels=["INFO"])
    more = log_lines(meta, ["DEBUG", "ERROR", "WARNING"] * 100)
    services.blobs.append(log_path(meta.parsed_job_id), more)
    chunks = list(job_log(services.blobs, services.settings, ALICE, meta.job_id))
    assert len(chunks) > 20
    assert b"".join(chunks) == log_lines(meta, ["INFO"]) + more
