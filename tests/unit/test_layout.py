"""The blob layout: every path kind builds and parses back, and every name outside the tree is
refused with a one-line reason naming the blob."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.errors import InvalidBlobPath
from shared.jobid import JobId, parse_job_id
from shared.layout import (
    BlobKind,
    archived_log_path,
    artifact_path,
    by_date_log_path,
    by_date_prefix,
    dockerfile_path,
    log_path,
    metadata_path,
    package_path,
    parse_blob_name,
    requirements_path,
    result_path,
    system_path,
)

J = "20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a"
JOB = parse_job_id(J)
FOLDER = f"projects/frauddetect/users/alice/jobs/{J}/"
BY_DATE = f"projects/frauddetect/logs/by-date/2025/12/04/{J}"

names = st.from_regex(r"[a-z0-9]([a-z0-9_]{0,14}[a-z0-9])?", fullmatch=True)
hex_text = st.text("0123456789abcdef", min_size=8, max_size=8)
jobs = st.builds(
    JobId,
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    user=names,
    project=names,
    dep_hash=hex_text,
    run_hash=hex_text,
)
artifact_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,40}", fullmatch=True).filter(
    lambda n: ".." not in n
)


def refused(name: str) -> str:
    """The one-line reason `name` is outside the layout."""
    with pytest.raises(InvalidBlobPath) as caught:
        parse_blob_name(name)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_designs_tree_is_built_exactly() -> None:
    """Each path of the design's tree is where the design puts it."""
    assert metadata_path(JOB) == FOLDER + "metadata.json"
    assert log_path(JOB) == FOLDER + "job.log.jsonl"
    assert package_path(JOB) == FOLDER + "package.pkl"
    assert result_path(JOB) == FOLDER + "result.pkl"
    assert artifact_path(JOB, "model.pkl") == FOLDER + "artifacts/model.pkl"
    assert requirements_path("frauddetect", "alice", "a3f5d2c8e9b1") == (
        "projects/frauddetect/users/alice/images/a3f5d2c8e9b1/requirements.txt"
    )
    assert by_date_log_path(JOB) == BY_DATE + ".log.jsonl"
    assert by_date_prefix("frauddetect", date(2025, 12, 1), month_only=True) == (
        "projects/frauddetect/logs/by-date/2025/12/"
    )
    assert system_path("rejected", "x.json") == "_ascend/rejected/x.json"


@pytest.mark.parametrize(
    ("name", "kind", "artifact"),
    [
        (FOLDER + "metadata.json", BlobKind.METADATA, None),
        (FOLDER + "job.log.jsonl", BlobKind.LOG, None),
        (FOLDER + "job.log.jsonl.gz", BlobKind.ARCHIVED_LOG, None),
        (FOLDER + "package.pkl", BlobKind.PACKAGE, None),
        (FOLDER + "result.pkl", BlobKind.RESULT, None),
        (FOLDER + "artifacts/model.pkl", BlobKind.ARTIFACT, "model.pkl"),
        (FOLDER + "artifacts/20251204.plot.png", BlobKind.ARTIFACT, "20251204.plot.png"),
        (BY_DATE + ".log.jsonl", BlobKind.BY_DATE_LOG, None),
        (BY_DATE + ".log.jsonl.gz", BlobKind.BY_DATE_ARCHIVED_LOG, None),
    ],
)
def test_job_blobs_parse_into_what_they_are(
    name: str, kind: BlobKind, artifact: str | None
) -> None:
    """A job's blobs parse to their kind, project, user, job ID and artifact name."""
    ref = parse_blob_name(name)
    assert (ref.kind, ref.project, ref.user, ref.job_id, ref.artifact) == (
        kind,
        "frauddetect",
        "alice",
        JOB,
        artifact,
    )


def test_image_base_and_system_blobs_parse_too() -> None:
    """Image files carry their 12-hex hash; base images and system records are recognized."""
    image = parse_blob_name("projects/frauddetect/users/alice/images/a3f5d2c8e9b1/Dockerfile")
    assert (image.kind, image.user, image.dep_hash12) == (
        BlobKind.DOCKERFILE,
        "alice",
        "a3f5d2c8e9b1",
    )
    assert parse_blob_name("shared/base-images/python311.tar").kind is BlobKind.BASE_IMAGE
    system = parse_blob_name("_ascend/rejected/2026/x.json")
    assert system.kind is BlobKind.SYSTEM
    assert system.is_pipeline_output
    assert not parse_blob_name(FOLDER + "metadata.json").is_pipeline_output


OTHER_JOB = f"projects/frauddetect/users/bob/jobs/{J}/metadata.json"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("projects", "is not under projects/, shared/base-images/ or _ascend/"),
        ("other/x/y/z", "is not under projects/, shared/base-images/ or _ascend/"),
        ("shared/base-images/", "has an empty path segment"),
        (FOLDER + "../metadata.json", "has a '.' or '..' segment"),
        (FOLDER + "./metadata.json", "has a '.' or '..' segment"),
        (FOLDER + "artifacts/..", "has a '.' or '..' segment"),
        ("_ascend/../projects/x", "has a '.' or '..' segment"),
        ("projects//frauddetect/users/alice", "has an empty path segment"),
        (FOLDER, "has an empty path segment"),
        (FOLDER + "metadata.json/", "has an empty path segment"),
        ("/" + FOLDER + "metadata.json", "has an empty path segment"),
        (FOLDER + "%2e%2e/metadata.json", "contains %, a backslash or a control character"),
        (FOLDER + "artifacts%2Fmodel.pkl", "contains %, a backslash or a control character"),
        (FOLDER + "artifacts\\model.pkl", "contains %, a backslash or a control character"),
        (FOLDER + "meta\x00data.json", "contains %, a backslash or a control character"),
        (FOLDER + "metadata.json\n", "contains %, a backslash or a control character"),
        (FOLDER + "metadata.json\x7f", "contains %, a backslash or a control character"),
        (FOLDER + "métadata.json", "contains non-ASCII characters"),
        (FOLDER + "artifacts/model\u2024pkl", "contains non-ASCII characters"),
        (
            "projects/Frauddetect/users/alice/jobs/x",
            "project 'Frauddetect' is not a sanitized name",
        ),
        ("projects/frauddetect/users/Alice/jobs/x", "user 'Alice' is not a sanitized name"),
        ("projects/frauddetect/teams/alice/x", "unknown folder 'teams' in project 'frauddetect'"),
        (
            OTHER_JOB,
            f"job {J} belongs to user 'alice' in project 'frauddetect', "
            "not to folder 'bob' in 'frauddetect'",
        ),
        (
            f"projects/other/users/alice/jobs/{J}/metadata.json",
            f"job {J} belongs to user 'alice' in project 'frauddetect', "
            "not to folder 'alice' in 'other'",
        ),
        (
            f"projects/frauddetect/users/alice/jobs/{J[:-1]}/metadata.json",
            "run_hash must be 8 lowercase hex digits",
        ),
        (FOLDER + "unknown.txt", "'unknown.txt' is not a file of a job folder"),
        (FOLDER + "Metadata.json", "'Metadata.json' is not a file of a job folder"),
        (
            FOLDER + "artifacts/sub/model.pkl",
            "'artifacts/sub/model.pkl' is not a file of a job folder",
        ),
        (FOLDER + "artifacts/.hidden", "'artifacts/.hidden' is not a file of a job folder"),
        (FOLDER + "artifacts/model.pkl ", "'artifacts/model.pkl ' is not a file of a job folder"),
        (
            "projects/frauddetect/users/alice/images/a3f5d2c8/Dockerfile",
            "image folder 'a3f5d2c8' is not a 12-hex hash",
        ),
        (
            "projects/frauddetect/users/alice/images/a3f5d2c8e9b1/setup.py",
            "is not a job file or an image file of the user",
        ),
        (
            f"projects/frauddetect/logs/by-date/2025/12/05/{J}.log.jsonl",
            f"date folder does not match job {J}'s creation date",
        ),
        (
            f"projects/frauddetect/logs/by-date/2025/1/04/{J}.log.jsonl",
            f"date folder does not match job {J}'s creation date",
        ),
        (
            f"projects/other/logs/by-date/2025/12/04/{J}.log.jsonl",
            f"job {J} is not in project 'other'",
        ),
        (
            f"projects/frauddetect/logs/by-date/2025/12/04/{J}.txt",
            "a by-date copy must end in .log.jsonl",
        ),
        (
            "projects/frauddetect/logs/by-date/2025/12/x.log.jsonl",
            "by-date copies live at by-date/YYYY/MM/DD/{job}.log.jsonl",
        ),
        ("x" * 1100, "is longer than 1024 characters"),
    ],
)
def test_names_outside_the_layout_are_refused_with_the_reason(name: str, reason: str) -> None:
    """Traversal, encodings, mismatched owners, wrong dates and unknown files are all refused."""
    message = refused(name)
    assert message.endswith(f": {reason}")
    assert message.startswith("blob ")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: artifact_path(JOB, "../metadata.json"),
            "artifact '../metadata.json': must be one file name of A-Z a-z 0-9 . _ -",
        ),
        (
            lambda: artifact_path(JOB, "a/b"),
            "artifact 'a/b': must be one file name of A-Z a-z 0-9 . _ -",
        ),
        (lambda: artifact_path(JOB, ""), "artifact '': must be one file name of A-Z a-z 0-9 . _ -"),
        (
            lambda: requirements_path("frauddetect", "alice", "a3f5d2c8"),
            "dependency hash 'a3f5d2c8': must be 12 lowercase hex digits",
        ),
        (
            lambda: requirements_path("Fraud", "alice", "a3f5d2c8e9b1"),
            "project 'Fraud': is not a sanitized name",
        ),
        (
            lambda: dockerfile_path("frauddetect", "../bob", "a3f5d2c8e9b1"),
            "user '../bob': is not a sanitized name",
        ),
        (lambda: system_path("rejected", ".."), "system path part '..': must be one plain segment"),
        (lambda: system_path("a/b"), "system path part 'a/b': must be one plain segment"),
        (lambda: system_path(""), "system path part '': must be one plain segment"),
    ],
)
def test_building_a_path_from_unsafe_parts_is_refused(build: object, message: str) -> None:
    """Path builders refuse parts that would leave their folder."""
    with pytest.raises(InvalidBlobPath) as caught:
        build()  # type: ignore[operator]
    assert str(caught.value) == message


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(job=jobs, artifact=artifact_names)
def test_every_path_kind_round_trips_through_the_parser(job: JobId, artifact: str) -> None:
    """Paths built for any valid job parse back to the same job and kind."""
    built = {
        metadata_path(job): BlobKind.METADATA,
        log_path(job): BlobKind.LOG,
        archived_log_path(job): BlobKind.ARCHIVED_LOG,
        package_path(job): BlobKind.PACKAGE,
        result_path(job): BlobKind.RESULT,
        artifact_path(job, artifact): BlobKind.ARTIFACT,
        by_date_log_path(job): BlobKind.BY_DATE_LOG,
        by_date_log_path(job, archived=True): BlobKind.BY_DATE_ARCHIVED_LOG,
    }
    for name, kind in built.items():
        ref = parse_blob_name(name)
        assert (ref.kind, ref.job_id, ref.project, ref.user) == (kind, job, job.project, job.user)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(project=names, user=names, hash12=st.text("0123456789abcdef", min_size=12, max_size=12))
def test_image_paths_round_trip(project: str, user: str, hash12: str) -> None:
    """Image file paths parse back to their project, user and hash."""
    for name, kind in (
        (requirements_path(project, user, hash12), BlobKind.REQUIREMENTS),
        (dockerfile_path(project, user, hash12), BlobKind.DOCKERFILE),
    ):
        ref = parse_blob_name(name)
        assert (ref.kind, ref.project, ref.user, ref.dep_hash12) == (kind, project, user, hash12)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(max_size=300))
def test_random_blob_names_never_crash_the_parser(name: str) -> None:
    """Any text parses or raises InvalidBlobPath with a one-line message."""
    try:
        parse_blob_name(name)
    except InvalidBlobPath as exc:
        assert "\n" not in str(exc)  # noqa: PT017 - hypothesis: any text, two outcomes


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(
    st.lists(
        st.sampled_from(
            [
                "projects",
                "frauddetect",
                "users",
                "alice",
                "jobs",
                J,
                "..",
                ".",
                "",
                "metadata.json",
                "artifacts",
                "logs",
                "by-date",
                "2025",
                "12",
                "04",
                f"{J}.log.jsonl",
                "images",
                "%2e",
            ]
        ),
        max_size=9,
    )
)
def test_plausible_paths_made_of_layout_words_only_parse_when_they_fit(parts: list[str]) -> None:
    """Shuffled layout words parse only into refs whose own paths rebuild the same name."""
    name = "/".join(parts)
    try:
        ref = parse_blob_name(name)
    except InvalidBlobPath:
        return
    if ref.job_id is not None and ref.kind is BlobKind.METADATA:
        assert metadata_path(ref.job_id) == name
