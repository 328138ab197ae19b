"""The producer's job functions against Azurite: the job folder, image files written once per
dependency set, status transitions and their refusals, conditional metadata updates, artifacts."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest

from producer.jobs import (
    read_metadata,
    set_status,
    start_job,
    update_metadata,
    upload_artifact,
    write_result,
)
from shared.adapters.azure_blob import AzureBlobStore
from shared.clock import FixedClock
from shared.errors import InvalidInput, InvalidMetadata, InvalidName
from shared.jobid import DependencySet
from shared.layout import (
    artifact_path,
    dockerfile_path,
    metadata_path,
    package_path,
    requirements_path,
    result_path,
)
from shared.metadata import JobMetadata, JobStatus
from shared.settings import Settings
from tests.support.builders import DEPENDENCIES, NOW

CLOCK = FixedClock(NOW)


def new_job(
    store: AzureBlobStore,
    *,
    user: str = "Alice",
    deps: DependencySet = DEPENDENCIES,
    tags: dict[str, str] | None = None,
    function_name: str = "train_model",
) -> JobMetadata:
    return start_job(
        store,
        user=user,
        project="Fraud Detection",
        function_name=function_name,
        args_hash="ab12",
        dependencies=deps,
        clock=CLOCK,
        config={"cpu": "4", "memory": "8Gi", "node_type": "gpu_small"},
        tags=tags or {"experiment": "baseline"},
    )


def test_a_started_job_has_queued_metadata_a_package_and_its_image_files(
    blob_store: AzureBlobStore,
) -> None:
    """start_job writes metadata.json (queued, JSON), package.pkl and the two image files."""
    meta = new_job(blob_store)
    job = meta.parsed_job_id
    assert (job.user, job.project, meta.status) == ("alice", "fraud_detection", JobStatus.QUEUED)
    assert job.created_at == NOW
    props = blob_store.props(metadata_path(job), with_tags=True)
    assert props is not None
    assert props.content_type == "application/json"
    assert props.tags == {
        "retain": "false",
        "project": "fraud_detection",
        "user": "alice",
        "job": str(job),
        "kind": "metadata",
        "created": "20260314",
    }
    assert blob_store.props(package_path(job)) is not None
    hash12 = DEPENDENCIES.calculate_hash()
    requirements = blob_store.read(requirements_path(job.project, job.user, hash12)).data
    assert requirements.decode().splitlines() == sorted(DEPENDENCIES.packages)
    dockerfile = blob_store.read(dockerfile_path(job.project, job.user, hash12)).data.decode()
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile


def test_jobs_sharing_a_dependency_set_write_its_image_files_once(
    blob_store: AzureBlobStore,
) -> None:
    """A second job with the same dependencies leaves the image files untouched (same etag)."""
    first = new_job(blob_store).parsed_job_id
    hash12 = DEPENDENCIES.calculate_hash()
    path = requirements_path(first.project, first.user, hash12)
    before = blob_store.props(path)
    reordered = DependencySet(tuple(reversed(DEPENDENCIES.packages)), "3.11", use_gpu=True)
    second = new_job(blob_store, deps=reordered, function_name="evaluate").parsed_job_id
    assert second != first
    assert second.dep_hash == first.dep_hash
    after = blob_store.props(path)
    assert before is not None
    assert after is not None
    assert after.etag == before.etag
    assert len(list(blob_store.list_names(f"projects/{first.project}/users/alice/images/"))) == 2


def test_many_jobs_starting_at_once_with_one_dependency_set_share_two_image_files(
    blob_store: AzureBlobStore, settings: Settings
) -> None:
    """Eight separate stores racing to start jobs of one dependency set leave exactly 2 files."""
    stores = [AzureBlobStore.from_settings(settings) for _ in range(8)]
    threads = [
        threading.Thread(target=new_job, args=(s,), kwargs={"function_name": f"f{i}"})
        for i, s in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(blob_store.list_names("projects/fraud_detection/users/alice/jobs/"))) == 16
    assert len(list(blob_store.list_names("projects/fraud_detection/users/alice/images/"))) == 2


def test_a_job_moves_through_running_to_completed_with_its_times(
    blob_store: AzureBlobStore,
) -> None:
    """running sets start_time; completed sets end_time and duration_seconds."""
    job = new_job(blob_store).parsed_job_id
    set_status(
        blob_store, job, "running", FixedClock(NOW + timedelta(seconds=10)), pod_name="ascend-pod-1"
    )
    done = set_status(
        blob_store, job, JobStatus.COMPLETED, FixedClock(NOW + timedelta(seconds=70)), exit_code=0
    )
    stored, _ = read_metadata(blob_store, job)
    assert stored == done
    assert done.status is JobStatus.COMPLETED
    assert done.execution.start_time == NOW + timedelta(seconds=10)
    assert done.execution.end_time == NOW + timedelta(seconds=70)
    assert done.execution.duration_seconds == 60.0
    assert (done.execution.pod_name, done.execution.exit_code) == ("ascend-pod-1", 0)
    assert done.updated_at == NOW + timedelta(seconds=70)


@pytest.mark.parametrize(
    ("history", "target", "reason"),
    [
        (["running", "completed"], "running", "is already completed; it cannot become running"),
        (["failed"], "completed", "is already failed; it cannot become completed"),
        (["cancelled"], "cancelled", "is already cancelled; it cannot become cancelled"),
        ([], "completed", "cannot go from queued to completed"),
        ([], "queued", "cannot go from queued to queued"),
        (["running"], "queued", "cannot go from running to queued"),
    ],
)
def test_transitions_the_design_forbids_are_refused_with_one_line(
    blob_store: AzureBlobStore, history: list[str], target: str, reason: str
) -> None:
    """A finished job never changes status; other disallowed moves name both statuses."""
    job = new_job(blob_store).parsed_job_id
    for status in history:
        set_status(blob_store, job, status, CLOCK)
    with pytest.raises(InvalidInput) as caught:
        set_status(blob_store, job, target, CLOCK)
    assert str(caught.value) == f"job {job}: {reason}"
    assert read_metadata(blob_store, job)[0].status == JobStatus((history or ["queued"])[-1])


def test_an_unknown_status_or_execution_field_is_refused_by_name(
    blob_store: AzureBlobStore,
) -> None:
    """Misspelt statuses and fields are named in the error; the metadata is left as it was."""
    job = new_job(blob_store).parsed_job_id
    with pytest.raises(InvalidInput, match=r"^status 'done': must be one of queued, running"):
        set_status(blob_store, job, "done", CLOCK)
    with pytest.raises(InvalidInput, match=r"^execution field 'exitcode': is not a field"):
        set_status(blob_store, job, "running", CLOCK, exitcode=0)
    with pytest.raises(InvalidMetadata, match=r"execution\.exit_code"):
        set_status(blob_store, job, "running", CLOCK, exit_code="zero")
    assert read_metadata(blob_store, job)[0].status is JobStatus.QUEUED


def test_concurrent_metadata_updates_are_never_lost(blob_store: AzureBlobStore) -> None:
    """Eight writers each adding a tag at once all succeed, and all eight tags are kept."""
    job = new_job(blob_store).parsed_job_id

    def add_tag(i: int) -> None:
        update_metadata(
            blob_store,
            job,
            lambda m: m.model_copy(update={"tags": {**m.tags, f"k{i}": str(i)}}),
            attempts=30,
        )

    threads = [threading.Thread(target=add_tag, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tags = read_metadata(blob_store, job)[0].tags
    assert {f"k{i}" for i in range(8)} <= set(tags)


def test_an_update_that_breaks_the_document_is_refused_before_writing(
    blob_store: AzureBlobStore,
) -> None:
    """A change that makes end_time earlier than start_time is an InvalidMetadata, not a write."""
    job = new_job(blob_store).parsed_job_id
    meta = set_status(blob_store, job, "running", CLOCK)
    bad_end = NOW - timedelta(hours=1)
    with pytest.raises(InvalidMetadata) as caught:
        update_metadata(
            blob_store,
            job,
            lambda m: m.model_copy(
                update={"execution": m.execution.model_copy(update={"end_time": bad_end})}
            ),
        )
    assert str(caught.value) == (
        f"metadata.json of {job}: execution: end_time is before start_time"
    )
    assert read_metadata(blob_store, job)[0] == meta


def test_uploaded_artifacts_are_recorded_with_size_and_sha256(blob_store: AzureBlobStore) -> None:
    """Bytes and streamed chunks both land under artifacts/ and are listed in the metadata."""
    job = new_job(blob_store).parsed_job_id
    model = b"\x80model" * 1000
    upload_artifact(blob_store, job, "model.pkl", model, "model", clock=CLOCK)
    chunks = [b"\x89PNG\r\n\x1a\n", b"a" * 100, b"b" * 50]
    meta = upload_artifact(blob_store, job, "plot.png", iter(chunks), "visualization", clock=CLOCK)
    listed = {a.name: a for a in meta.artifacts}
    assert listed["model.pkl"].size_bytes == len(model)
    assert listed["model.pkl"].sha256 == hashlib.sha256(model).hexdigest()
    assert listed["plot.png"].size_bytes == 158
    assert listed["plot.png"].sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    png = blob_store.read(artifact_path(job, "plot.png"))
    assert png.data == b"".join(chunks)
    assert png.props.content_type == "image/png"
    assert png.props.content_md5 == hashlib.md5(png.data).digest()  # noqa: S324


def test_uploading_an_artifact_again_replaces_its_entry(blob_store: AzureBlobStore) -> None:
    """The same artifact name twice leaves one entry, describing the second upload."""
    job = new_job(blob_store).parsed_job_id
    upload_artifact(blob_store, job, "metrics.json", b"{}", "metrics", clock=CLOCK)
    meta = upload_artifact(blob_store, job, "metrics.json", b'{"a": 1}', "metrics", clock=CLOCK)
    assert [(a.name, a.size_bytes) for a in meta.artifacts] == [("metrics.json", 8)]


def test_retained_jobs_tag_every_blob_retain_true(blob_store: AzureBlobStore) -> None:
    """With retain=true in the job's tags, metadata, package, artifacts and result say so."""
    job = new_job(blob_store, tags={"retain": "true"}).parsed_job_id
    upload_artifact(blob_store, job, "model.pkl", b"m", "model", clock=CLOCK)
    write_result(blob_store, job, b"r")
    for path in (
        metadata_path(job),
        package_path(job),
        artifact_path(job, "model.pkl"),
        result_path(job),
    ):
        assert blob_store.get_tags(path)["retain"] == "true", path
    assert blob_store.get_tags(result_path(job))["kind"] == "result"


def test_names_that_sanitize_to_nothing_are_refused_before_anything_is_written(
    blob_store: AzureBlobStore,
) -> None:
    """A user of only punctuation is an InvalidName naming it; storage stays empty."""
    with pytest.raises(InvalidName, match=r"^user '!!!': has no letters or digits"):
        new_job(blob_store, user="!!!")
    assert list(blob_store.list_names("")) == []


def test_an_artifact_name_with_a_folder_in_it_is_refused(blob_store: AzureBlobStore) -> None:
    """`../x` or `a/b` as an artifact name is an InvalidBlobPath, never a write elsewhere."""
    job = new_job(blob_store).parsed_job_id
    for name in ("../metadata.json", "a/b.pkl", ".."):
        with pytest.raises(InvalidInput, match=r"^artifact "):
            upload_artifact(blob_store, job, name, b"x", "model", clock=CLOCK)
    assert read_metadata(blob_store, job)[0].artifacts == []
