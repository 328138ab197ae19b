"""Lifecycle pieces against Azurite and SQLite: compression, audit log, candidates, overrides."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.audit import AuditLog, AuditRecord, read_audit
from lifecycle.compress import compress_log
from lifecycle.inventory import candidates
from lifecycle.overrides import load_policy_book, policy_path, reset_override, set_override
from lifecycle.policy import DEFAULT_POLICY, InvalidPolicy, PolicyBook, RetentionPolicy
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.errors import AccessDenied, InvalidInput, PreconditionFailed
from shared.jobid import JobId, make_job_id
from shared.layout import log_path
from shared.principal import Principal
from shared.services import Services
from tests.support.builders import log_lines, seed_document
from tests.support.lifecycle import lifecycle_job

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
_RUNS = itertools.count(0x100000)


def test_a_compressed_log_decompresses_to_the_original_and_replaces_it(
    blob_store: AzureBlobStore, sqlite_index: SqliteIndex
) -> None:
    """The .gz is a Cool block blob with Content-Encoding gzip and the log's tags; the log goes."""
    job = lifecycle_job(blob_store, sqlite_index, NOW - timedelta(days=100), records=2000)
    original = b"".join(blob_store.read_chunks(log_path(job)))
    done = compress_log(blob_store, log_path(job))
    gz = blob_store.props(done.destination, with_tags=True)
    assert gz is not None
    assert (gz.blob_type, gz.tier, gz.content_encoding) == ("BlockBlob", "Cool", "gzip")
    assert (gz.tags or {}).get("kind") == "archived_log"
    assert gzip.decompress(b"".join(blob_store.read_chunks(done.destination))) == original
    assert blob_store.props(log_path(job)) is None
    assert done.compressed_bytes < done.original_bytes / 5


class AppendingWhileRead:
    """The real store, but the log gets a new line while it is being compressed."""

    def __init__(self, inner: AzureBlobStore, name: str) -> None:
        self.inner, self.name = inner, name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def read_chunks(self, name: str, **kwargs: Any) -> Iterator[bytes]:
        for chunk in self.inner.read_chunks(name, **kwargs):
            yield chunk
            if name == self.name:
                self.inner.append(name, b'{"message": "one more line"}\n')


def test_a_log_that_grows_during_compression_is_kept(
    blob_store: AzureBlobStore, sqlite_index: SqliteIndex
) -> None:
    """The original is deleted only if unchanged (etag), so a running job loses nothing."""
    job = lifecycle_job(blob_store, sqlite_index, NOW - timedelta(days=100))
    growing = AppendingWhileRead(blob_store, log_path(job))
    with pytest.raises(PreconditionFailed):
        compress_log(growing, log_path(job))
    assert b"one more line" in b"".join(blob_store.read_chunks(log_path(job)))


def test_audit_records_are_json_lines_in_the_days_blob(blob_store: AzureBlobStore) -> None:
    """Each record lands once, with who, when, blob, action, tier, outcome and reason."""
    audit = AuditLog(blob_store)
    for i in range(3):
        audit.record(
            AuditRecord(
                at="2026-03-14T02:30:00.000Z",
                who="system:sweep",
                action="set_tier",
                blob=f"projects/p/x{i}",
                job_id="j",
                tier="Cool",
                outcome="done",
                reason="age 31 d >= Cool at 30 d",
            )
        )
    assert audit.flush() == 3
    assert AuditLog(blob_store).flush() == 0
    records = list(read_audit(blob_store, datetime(2026, 3, 14).date()))
    assert [r["blob"] for r in records] == ["projects/p/x0", "projects/p/x1", "projects/p/x2"]
    assert records[0]["who"] == "system:sweep"
    [name] = blob_store.list_names("_ascend/audit/2026/03/14/")
    assert name == f"_ascend/audit/2026/03/14/{audit.writer}-001.jsonl"


def test_a_writer_moves_to_a_new_part_before_the_append_blob_limit(
    blob_store: AzureBlobStore,
) -> None:
    """With room for 2 blocks per blob, 5 flushes land in 3 parts, every record readable."""
    audit = AuditLog(blob_store, max_blocks=2)
    for i in range(5):
        audit.record(
            AuditRecord(
                at="2026-03-14T02:30:00.000Z",
                who="w",
                action="delete",
                blob=f"b{i}",
                job_id=None,
                tier=None,
                outcome="done",
                reason="",
            )
        )
        audit.flush()
    names = list(blob_store.list_names("_ascend/audit/2026/03/14/"))
    assert len(names) == 3
    records = list(read_audit(blob_store, datetime(2026, 3, 14).date()))
    assert [r["blob"] for r in records] == ["b0", "b1", "b2", "b3", "b4"]


def test_candidates_are_only_the_jobs_crossing_a_threshold(sqlite_index: SqliteIndex) -> None:
    """Young jobs, archived retained jobs and already-cooled jobs are not even read."""
    ages = {
        "young": (10, None, False),
        "cool_due": (40, None, False),
        "cooled": (40, "Cool", False),
        "archive_due": (100, "Cool", False),
        "archived": (100, "Archive", False),
        "delete_due": (400, "Archive", False),
        "kept": (400, "Archive", True),
    }
    names = {}
    for label, (age, tier, retain) in ages.items():
        job = seed_doc(sqlite_index, NOW - timedelta(days=age), retain=retain, tier=tier)
        names[str(job)] = label
    found = {names[c.job_id] for c in candidates(sqlite_index, PolicyBook(), NOW)}
    assert found == {"cool_due", "archive_due", "delete_due"}


def seed_doc(index: SqliteIndex, created: datetime, *, retain: bool, tier: str | None) -> JobId:
    """Only a search document (no blobs): what the candidate queries look at."""
    job = make_job_id(
        user="bob",
        project="vision",
        dependency_hash="a3f5d2c8",
        run_hash=f"{next(_RUNS):08x}",
        created_at=created,
    )
    doc = seed_document(job, retain=retain, artifacts=[])
    doc["tier"] = tier
    index.upsert([doc])
    return job


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=40))
def test_any_project_text_is_bound_as_a_value_never_spliced_into_sql(
    sqlite_index: SqliteIndex, project: str
) -> None:
    """A hostile --project value matches nothing and breaks nothing (bound parameter)."""
    seed_doc(sqlite_index, NOW - timedelta(days=40), retain=False, tier=None)
    assert list(candidates(sqlite_index, PolicyBook(), NOW, project=project)) == []
    assert sqlite_index.count() >= 1


def test_only_admins_of_the_project_may_set_its_policy(blob_store: AzureBlobStore) -> None:
    """A plain user and an admin of another project are refused; admin:P succeeds and is read."""
    policy = RetentionPolicy(cool_after=7, archive_after=100, delete_after=730)
    for who in (Principal.of("eve"), Principal.of("eve", "admin:other")):
        with pytest.raises(AccessDenied, match="admin:fraud"):
            set_override(blob_store, who, "fraud", policy)
    set_override(blob_store, Principal.of("ann", "admin:fraud"), "fraud", policy)
    assert blob_store.props(policy_path("fraud")) is not None
    assert load_policy_book(blob_store).for_project("fraud") == policy
    assert load_policy_book(blob_store).for_project("vision") == DEFAULT_POLICY
    assert reset_override(blob_store, Principal.of("root", "admin"), "fraud")
    assert load_policy_book(blob_store).overrides == ()


def test_a_stored_policy_that_no_longer_validates_stops_the_sweep_with_its_name(
    blob_store: AzureBlobStore,
) -> None:
    """Someone wrote a broken file by hand: loading names the file and the reason."""
    blob_store.write(policy_path("broken"), b'{"cool_after": 100, "archive_after": 10}')
    with pytest.raises(InvalidPolicy, match=r"_ascend/policies/broken.json.*Archive before Cool"):
        load_policy_book(blob_store)


def test_a_policy_path_refuses_a_project_that_is_not_a_name() -> None:
    """Project names are sanitized names; anything else is refused before any I/O."""
    with pytest.raises(InvalidInput, match="not a sanitized project name"):
        policy_path("../etc")


def test_seeded_logs_are_json_lines(services: Services) -> None:
    """The builders write valid records (a sanity check of the test data itself)."""
    job = lifecycle_job(services.blobs, services.index, NOW - timedelta(days=1), records=3)
    assert log_lines(job, ["INFO"] * 3) == b"".join(services.blobs.read_chunks(log_path(job)))
