"""The bad-input corpus of the issue: each input is rejected with its reason and recorded,
nothing is changed in storage, and the good jobs around them are indexed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import orjson

from indexer.rejected import list_rejections
from shared.adapters.sqlite_index import SqliteIndex
from shared.jobid import parse_job_id
from shared.layout import metadata_path
from shared.services import Services
from tests.support.builders import (
    EVENTS_CREATED,
    HASH12,
    job_id,
    make_metadata,
    write_job,
    write_metadata,
)
from tests.support.worker import run_pass


class Case(NamedTuple):
    name: str
    blob: str
    data: bytes
    reason: str


def _folder(run: str, user: str = "alice") -> str:
    return metadata_path(parse_job_id(job_id(run=run))).replace("/users/alice/", f"/users/{user}/")


def _bad(run: str, **changes: object) -> bytes:
    """A valid metadata of job `run` with `changes`: `section__field=value`, `field=value`, or
    `field=None` to drop it."""
    meta = make_metadata(run_hash=run, created_at=EVENTS_CREATED, dependency_hash=HASH12)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            meta[section][field] = value
        elif value is None:
            meta.pop(section)
        else:
            meta[section] = value
    return orjson.dumps(meta)


CORPUS = [
    Case("malformed JSON", _folder("0000000a"), b'{"job_id": ', "is not valid JSON"),
    Case(
        "a wrong type",
        _folder("0000000b"),
        _bad("0000000b", execution__duration_seconds="x"),
        "execution.duration_seconds",
    ),
    Case(
        "a missing field",
        _folder("0000000c"),
        _bad("0000000c", function_name=None),
        "function_name: Field required",
    ),
    Case(
        "a user mismatch",
        _folder("0000000d"),
        _bad("0000000d", user="bob"),
        "does not match the job ID's user",
    ),
    Case(
        "a project mismatch",
        _folder("0000000e"),
        _bad("0000000e", project="other"),
        "does not match the job ID's project",
    ),
    Case(
        "a job ID mismatch",
        _folder("0000000f"),
        _bad("0000000f", job_id=job_id(run="000000ff")),
        "does not match its folder",
    ),
    Case(
        "another user's folder",
        _folder("00000010", user="bob"),
        _bad("00000010"),
        "belongs to user 'alice'",
    ),
    Case(
        "an oversized file",
        _folder("00000011"),
        b" " * ((1 << 20) + 1),
        "is 1048577 bytes, over the limit of 1048576",
    ),
    Case("non-UTF-8 bytes", _folder("00000012"), b'{"job_id": "\xff\xfe"}', "is not UTF-8 text"),
    Case(
        "a blob outside the layout", "projects/frauddetect/tmp/notes.txt", b"hi", "unknown folder"
    ),
]


def test_each_bad_input_is_rejected_with_its_reason_and_good_jobs_are_indexed(
    services: Services, tmp_path: Path
) -> None:
    """Bad inputs between good jobs: each is recorded with its reason, the good ones indexed."""
    good = [
        write_job(services.blobs, make_metadata(run_hash=run, created_at=EVENTS_CREATED))
        for run in ("00000001", "00000002")
    ]
    for case in CORPUS:
        services.blobs.write(case.blob, case.data)
    before = {case.blob: services.blobs.props(case.blob) for case in CORPUS}
    summary = run_pass(services, workers=4, checkpoint=tmp_path / "checkpoint.json")
    assert summary.counts["rejected"] == len(CORPUS)
    reasons = {r.blob: r for r in list_rejections(services.blobs)}
    for case in CORPUS:
        assert case.reason in reasons[case.blob].reason, case.name
        assert reasons[case.blob].event_id, case.name
        assert services.blobs.props(case.blob) == before[case.blob], case.name  # untouched
    assert isinstance(services.index, SqliteIndex)
    assert {d["job_id"] for d in services.index.select()} == {str(j) for j in good}


def test_a_blob_outside_projects_is_skipped_without_a_record(
    services: Services, tmp_path: Path
) -> None:
    """Stray blobs outside projects/ are logged and skipped, not recorded as rejected."""
    services.blobs.write("scratch/readme.txt", b"hello")
    summary = run_pass(services, checkpoint=tmp_path / "checkpoint.json")
    assert summary.counts["skipped"] == 1
    assert list(list_rejections(services.blobs)) == []


def test_a_fixed_metadata_is_indexed_and_the_old_rejection_stays_listed(
    services: Services, tmp_path: Path
) -> None:
    """Rejections are history: fixing the blob indexes the job and keeps the record."""
    name = write_metadata(services.blobs, b"{", job_id(run="0000000a"))
    run_pass(services, checkpoint=tmp_path / "c.json")
    write_metadata(services.blobs, make_metadata(run_hash="0000000a", created_at=EVENTS_CREATED))
    summary = run_pass(services, checkpoint=tmp_path / "c.json")
    assert summary.counts["indexed"] == 1
    assert [r.blob for r in list_rejections(services.blobs)] == [name]


def test_scalar_tag_values_and_numeric_cpu_are_indexed_not_rejected(services: Services) -> None:
    """A job writing `"retain": true`, a numeric tag and `"cpu": 4` is indexed with the
    contract's strings (retain true), and nothing is recorded as rejected."""
    from tests.support.builders import (
        make_job_id,
        metadata_bytes,
        write_raw_metadata,
    )

    job = make_job_id(run_hash="0000abcd")
    write_raw_metadata(
        services.blobs,
        job,
        metadata_bytes(
            job=job,
            tags={"retain": True, "epochs": 20},
            config={"cpu": 4, "node_type": "gpu_small"},
        ),
    )
    run_pass(services)
    document = services.index.get(str(job))
    assert document is not None
    assert document["retain"] is True
    assert {"epochs=20", "retain=true"} <= set(document["tags"])
    assert list(list_rejections(services.blobs)) == []
