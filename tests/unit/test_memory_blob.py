"""The in-memory BlobStore in handler tests: a job's life without Azurite, and tag conditions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producer.jobs import read_metadata, set_status, start_job
from shared.adapters.memory_blob import MemoryBlobStore, tags_match
from shared.clock import FixedClock
from shared.errors import JobNotFound, StorageError
from shared.jobid import DependencySet
from shared.metadata import JobMetadata, JobStatus
from shared.metadata_store import update_metadata

CLOCK = FixedClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))


def test_a_job_is_created_run_and_finished_in_memory() -> None:
    """start_job then set_status write metadata.json by conditional writes, as on Azurite."""
    blobs = MemoryBlobStore()
    meta = start_job(
        blobs,
        user="alice",
        project="fraud",
        function_name="train",
        args_hash="a" * 8,
        dependencies=DependencySet(("torch==2.0.0",), "3.11"),
        clock=CLOCK,
    )
    set_status(blobs, meta.job_id, JobStatus.RUNNING, clock=CLOCK)
    set_status(blobs, meta.job_id, JobStatus.COMPLETED, clock=CLOCK, exit_code=0)
    stored, etag = read_metadata(blobs, meta.job_id)
    assert stored.status is JobStatus.COMPLETED
    props = blobs.props(f"projects/fraud/users/alice/jobs/{meta.job_id}/metadata.json")
    assert props is not None
    assert etag == props.etag


def test_a_change_that_raises_writes_nothing() -> None:
    """update_metadata leaves the blob (and its etag) as it was when the change refuses."""
    blobs = MemoryBlobStore()
    meta = start_job(
        blobs,
        user="bob",
        project="vision",
        function_name="f",
        args_hash="b" * 8,
        dependencies=DependencySet((), "3.11"),
        clock=CLOCK,
    )
    before = read_metadata(blobs, meta.job_id)[1]

    def refuse(_: JobMetadata) -> JobMetadata:
        raise JobNotFound(meta.job_id)

    with pytest.raises(JobNotFound):
        update_metadata(blobs, meta.job_id, refuse)
    assert read_metadata(blobs, meta.job_id)[1] == before


@pytest.mark.parametrize(
    ("expression", "tags", "expected"),
    [
        ("\"retain\" <> 'true'", {"retain": "true"}, False),
        ("\"retain\" <> 'true'", {}, True),
        ("\"retain\"='true' AND \"project\" = 'x'", {"retain": "true", "project": "x"}, True),
        ("\"created\" >= '20260101' and \"created\" < '20260201'", {"created": "20260115"}, True),
        ("\"note\" = 'it''s'", {"note": "it's"}, True),
    ],
)
def test_tag_conditions_are_evaluated_like_storage(
    expression: str, tags: dict[str, str], expected: bool
) -> None:
    """AND-ed comparisons of quoted keys and values; a missing tag compares as ''."""
    assert tags_match(expression, tags) is expected


def test_a_tag_condition_it_cannot_read_is_an_error_not_a_match() -> None:
    """An OR (never sent by this code) is refused by name rather than guessed."""
    with pytest.raises(StorageError, match="cannot evaluate"):
        tags_match("\"a\" = '1' OR \"b\" = '2'", {"a": "1"})
