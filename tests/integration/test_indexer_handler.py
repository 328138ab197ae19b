"""The indexer's handler against Azurite and a real SQLite index: metadata events become
documents, final jobs get a by-date block-blob copy of their log, pipeline outputs never loop."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from indexer.rejected import list_rejections
from shared.adapters.sqlite_index import SqliteIndex
from shared.jobid import parse_job_id
from shared.layout import (
    artifact_path,
    by_date_log_path,
    log_path,
    metadata_path,
    parse_blob_name,
)
from shared.services import Services
from shared.tags import job_blob_tags
from tests.support.bare import bare_job, bare_metadata, container_of
from tests.support.builders import (
    EVENTS_CREATED,
    HASH12,
    default_log,
    lines,
    log_record,
    make_metadata,
    write_job,
    write_log,
    write_metadata,
)
from tests.support.events import deliver


def test_a_metadata_event_indexes_the_job_with_its_derived_fields(services: Services) -> None:
    """A completed job's metadata event yields a document with every derived field filled."""
    meta = make_metadata(
        created_at=EVENTS_CREATED,
        dependency_hash=HASH12,
        dependencies={"packages": ["numpy==1.24.0", "Scikit_Learn==1.3.0", "torch==2.0.0"]},
        execution={"duration_seconds": 3600.0},
        artifacts=[
            {"name": "model.pkl", "type": "model", "size_bytes": 1000},
            {"name": "plot.png", "type": "visualization", "size_bytes": 24},
        ],
        drop=["tags.dataset_version"],
    )
    job = write_job(services.blobs, meta)
    outcome = deliver(services, metadata_path(job))
    assert outcome.kind == "indexed"
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["status"] == "completed"
    assert doc["dep_hash"] == "a3f5d2c8"
    assert doc["image_hash"] == "a3f5d2c8e9b1"
    assert doc["package_names"] == ["numpy", "scikit-learn", "torch"]
    assert doc["cost_usd"] == 0.526
    assert doc["tags"] == ["experiment=baseline"]
    assert doc["retain"] is False
    assert doc["artifact_names"] == ["model.pkl", "plot.png"]
    assert doc["artifact_bytes"] == 1024
    assert (doc["log_lines"], doc["log_errors"]) == (5, 2)
    assert doc["log_last_error"] == "CUDA out of memory"
    assert doc["metrics_last"] == {"loss": 0.4, "gpu_util": 80.0}
    assert doc["tier"] == "Hot"


def test_a_final_job_gets_a_tagged_block_blob_copy_of_its_log(services: Services) -> None:
    """The by-date copy is a block blob with the log's bytes and the job's index tags."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    deliver(services, metadata_path(job))
    copy = services.blobs.props(by_date_log_path(job), with_tags=True)
    assert copy is not None
    assert copy.blob_type == "BlockBlob"
    assert copy.tags is not None
    assert copy.tags["retain"] == "false"
    assert copy.tags["kind"] == "by_date_log"
    assert b"".join(services.blobs.read_chunks(by_date_log_path(job))) == b"".join(
        services.blobs.read_chunks(log_path(job))
    )


def test_a_running_job_is_indexed_without_a_copy_or_log_fields(services: Services) -> None:
    """Before a job is final there is no by-date copy and its log fields are unknown."""
    job = write_job(services.blobs, make_metadata(status="running", created_at=EVENTS_CREATED))
    assert deliver(services, metadata_path(job)).kind == "indexed"
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["log_lines"] is None
    assert doc["cost_usd"] is None
    assert services.blobs.props(by_date_log_path(job)) is None


def test_a_late_flush_after_the_copy_refreshes_it(services: Services) -> None:
    """Log lines appended after finalization reach the copy and the document on the log's event."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    deliver(services, metadata_path(job))
    services.blobs.append(log_path(job), lines([log_record(str(job), "ERROR", "late")]))
    assert deliver(services, log_path(job)).kind == "indexed"
    doc = services.index.get(str(job))
    assert doc is not None
    assert (doc["log_lines"], doc["log_errors"], doc["log_last_error"]) == (6, 3, "late")
    copy = b"".join(services.blobs.read_chunks(by_date_log_path(job)))
    assert copy.endswith(b'"late"}\n')


def test_a_changed_retain_tag_retags_every_blob_of_the_job(services: Services) -> None:
    """Setting tags.retain=true in metadata re-tags the log and the by-date copy too."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    deliver(services, metadata_path(job))
    write_metadata(
        services.blobs,
        make_metadata(
            tags={"retain": "true"},
            updated_at=datetime(2026, 3, 11, tzinfo=UTC),
            created_at=EVENTS_CREATED,
        ),
    )
    deliver(services, metadata_path(job))
    for name in (log_path(job), metadata_path(job), by_date_log_path(job)):
        assert services.blobs.get_tags(name)["retain"] == "true", name
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["retain"] is True


def test_retain_changed_before_the_first_index_retags_every_blob(services: Services) -> None:
    """The log was tagged when the job started; metadata.json says otherwise by the time the job
    is first indexed: every blob of the job, the by-date copy included, ends up retained."""
    meta = make_metadata(tags={"retain": "true"}, created_at=EVENTS_CREATED)
    write_log(services.blobs, meta["job_id"], default_log(meta["job_id"]), retain=False)
    job = parse_job_id(meta["job_id"])
    services.blobs.write(
        artifact_path(job, "model.pkl"), b"m", tags=job_blob_tags(job, "artifact", retain=False)
    )
    write_metadata(services.blobs, meta)
    assert deliver(services, metadata_path(job)).kind == "indexed"
    for name in (log_path(job), artifact_path(job, "model.pkl"), by_date_log_path(job)):
        assert services.blobs.get_tags(name)["retain"] == "true", name


def test_the_pipelines_own_writes_are_skipped(services: Services) -> None:
    """Events for the by-date copy and the system's records are recognized and skipped."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    deliver(services, metadata_path(job))
    assert deliver(services, by_date_log_path(job)).kind == "skipped"
    services.blobs.write("_ascend/rejected/x.json", b"{}")
    assert deliver(services, "_ascend/rejected/x.json").kind == "skipped"


def test_deleting_metadata_removes_the_document_only_when_it_is_gone(services: Services) -> None:
    """A BlobDeleted event removes the document, unless the blob is back."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    name = metadata_path(job)
    deliver(services, name)
    props = services.blobs.props(name)
    assert props is not None
    deleted = event_from_dict(grid_event(services.settings.container, props, deleted=True))
    assert (
        handle(deleted, services.blobs, services.index, services.clock, services.settings).kind
        == "skipped"
    )
    services.blobs.delete(name)
    assert (
        handle(deleted, services.blobs, services.index, services.clock, services.settings).kind
        == "removed"
    )
    assert services.index.get(str(job)) is None


def test_a_rejected_event_is_recorded_once_however_often_it_arrives(services: Services) -> None:
    """The same bad metadata delivered three times leaves one rejection record, blob untouched."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    name = write_metadata(services.blobs, b"{not json", meta["job_id"])
    before = services.blobs.props(name)
    for _ in range(3):
        assert deliver(services, name).kind == "rejected"
    records = list(list_rejections(services.blobs))
    assert len(records) == 1
    assert records[0].blob == name
    assert "is not valid JSON" in records[0].reason
    after = services.blobs.props(name)
    assert before is not None
    assert after is not None
    assert after.etag == before.etag


def test_an_image_requirements_file_is_recorded_and_fills_jobs_without_packages(
    services: Services,
) -> None:
    """requirements.txt is recorded once; a job whose metadata lists no packages gets them."""
    name = "projects/frauddetect/users/alice/images/a3f5d2c8e9b1/requirements.txt"
    services.blobs.write(name, b"# pinned\nTorch==2.1.0\nnumpy>=1.24\n\n--index-url x\n")
    assert deliver(services, name).kind == "indexed"
    assert deliver(services, name).kind == "skipped"
    meta = make_metadata(created_at=EVENTS_CREATED, dependency_hash=HASH12)
    meta["dependencies"]["packages"] = []
    job = write_job(services.blobs, meta)
    deliver(services, metadata_path(job))
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["package_names"] == ["torch", "numpy"]
    assert orjson.loads(services.blobs.read("_ascend/images/a3f5d2c8e9b1.json").data)[
        "packages"
    ] == ["Torch==2.1.0", "numpy>=1.24"]


def test_a_reindex_keeps_the_tier_the_lifecycle_recorded(services: Services) -> None:
    """Once the sweep moved a job to Cool, a later metadata event does not reset it to Hot."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    deliver(services, metadata_path(job))
    assert isinstance(services.index, SqliteIndex)
    services.index.set_field(str(job), "tier", "Cool")  # what the sweep records
    services.index.set_field(str(job), "updated_at", "2000-01-01T00:00:00.000Z")  # re-index wins
    deliver(services, metadata_path(job))
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["tier"] == "Cool"


def test_a_log_larger_than_one_request_is_streamed_and_copied_whole(services: Services) -> None:
    """A final job indexed for the first time with a log over 4 MiB: its stats count every line
    and its by-date copy has the log's bytes."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    records = [log_record(meta["job_id"], "INFO", f"step {n} " + "x" * 120) for n in range(36000)]
    records[-1] = log_record(meta["job_id"], "ERROR", "the last error")
    name = write_log(services.blobs, meta["job_id"], records[:18000])
    services.blobs.append(name, lines(records[18000:]))
    job = parse_job_id(meta["job_id"])
    write_metadata(services.blobs, meta)
    assert services.blobs.props(name).size > 4 << 20  # type: ignore[union-attr]
    assert deliver(services, metadata_path(job)).kind == "indexed"
    doc = services.index.get(str(job))
    assert doc is not None
    assert (doc["log_lines"], doc["log_errors"], doc["log_last_error"]) == (
        36000,
        1,
        "the last error",
    )
    assert services.blobs.read(by_date_log_path(job)).data == services.blobs.read(name).data


def test_a_job_written_untagged_gets_the_job_tags_on_every_blob_at_its_first_index(
    services: Services,
) -> None:
    """Bare-SDK blobs (no tags) all carry retain, project, user, job, kind, created afterwards."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    names = bare_job(container_of(services.blobs), meta, lines(default_log(meta["job_id"])))
    job = parse_job_id(meta["job_id"])
    assert deliver(services, metadata_path(job)).kind == "indexed"
    for name in [*names, by_date_log_path(job)]:
        kind = parse_blob_name(name).kind.value
        assert services.blobs.get_tags(name) == job_blob_tags(job, kind, retain=False), name


def test_a_blob_written_after_the_first_index_is_tagged_when_its_event_arrives(
    services: Services,
) -> None:
    """An artifact uploaded untagged after the metadata was indexed gets the job's tags."""
    meta = make_metadata(tags={"retain": "true"}, created_at=EVENTS_CREATED)
    bare_job(container_of(services.blobs), meta, b"", artifacts=())
    job = parse_job_id(meta["job_id"])
    deliver(services, metadata_path(job))
    late = artifact_path(job, "late.bin")
    container_of(services.blobs).upload_blob(late, b"late")
    outcome = deliver(services, late)
    assert (outcome.kind, "tagged" in getattr(outcome, "reason", "")) == ("skipped", True)
    assert services.blobs.get_tags(late) == job_blob_tags(job, "artifact", retain=True)
    assert "tagged" not in getattr(deliver(services, late), "reason", "")


def test_a_writers_own_tags_are_kept_next_to_the_job_tags(services: Services) -> None:
    """A blob that carries its writer's tag keeps it when the indexer adds the job's tags."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    bare_job(container_of(services.blobs), meta, b"", artifacts=())
    job = parse_job_id(meta["job_id"])
    deliver(services, metadata_path(job))
    name = artifact_path(job, "model.pkl")
    container_of(services.blobs).upload_blob(name, b"m", tags={"owner": "team-a"})
    deliver(services, name)
    assert services.blobs.get_tags(name) == {
        **job_blob_tags(job, "artifact", retain=False),
        "owner": "team-a",
    }


def test_metadata_rewritten_untagged_by_its_writer_is_tagged_again(services: Services) -> None:
    """A bare writer's status update clears metadata.json's tags; the next index restores them."""
    meta = make_metadata(status="running", created_at=EVENTS_CREATED)
    container = container_of(services.blobs)
    bare_job(container, meta, b"", artifacts=())
    job = parse_job_id(meta["job_id"])
    deliver(services, metadata_path(job))
    bare_metadata(
        container,
        make_metadata(updated_at=datetime(2026, 3, 11, tzinfo=UTC), created_at=EVENTS_CREATED),
    )
    assert services.blobs.get_tags(metadata_path(job)) == {}
    assert deliver(services, metadata_path(job)).kind == "indexed"
    assert services.blobs.get_tags(metadata_path(job)) == job_blob_tags(
        job, "metadata", retain=False
    )


def test_a_final_job_whose_log_is_empty_is_indexed_with_zero_lines(services: Services) -> None:
    """An append log created but never written to (0 bytes) is read, copied and counted."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED), records=[])
    assert deliver(services, metadata_path(job)).kind == "indexed"
    doc = services.index.get(str(job))
    assert doc is not None
    assert doc["log_lines"] == 0
    assert services.blobs.props(by_date_log_path(job)) is not None
