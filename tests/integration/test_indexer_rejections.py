"""The bad-input corpus of the issue: each input is rejected with its reason and recorded,
nothing is changed in storage, and the good jobs around them are indexed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import orjson
import pytest

from indexer.rejected import list_rejections
from indexer.worker import run_once
from shared.jobid import parse_job_id
from shared.layout import metadata_path
from shared.services import Services
from tests.support.events import job_id, make_metadata, write_job, write_metadata

ALICE = job_id(run="0000000a")


def _bad(**changes: object) -> bytes:
    """Alice's valid metadata with `changes`: `section__field=value`, `field=value`, or
    `field=None` to drop it."""
    meta = make_metadata(run="0000000a")
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            meta[section][field] = value
        elif value is None:
            meta.pop(section)
        else:
            meta[section] = value
    return orjson.dumps(meta)


def _meta_name(jid: str = ALICE) -> str:
    return metadata_path(parse_job_id(jid))


BOB_FOLDER = _meta_name().replace("/users/alice/", "/users/bob/")
class Case(NamedTuple):
    name: str
    blob: str
    data: bytes
    reason: str


CORPUS = [
    Case("malformed JSON", _meta_name(), b'{"job_id": ', "is not valid JSON"),
    Case("a wrong type", _meta_name(), _bad(execution__duration_seconds="long"),
         "execution.duration_seconds"),
    Case("a missing field", _meta_name(), _bad(function_name=None),
         "function_name: Field required"),
    Case("a user mismatch", _meta_name(), _bad(user="bob"), "does not match the job ID's user"),
    Case("a project mismatch", _meta_name(), _bad(project="other"),
         "does not match the job ID's project"),
    Case("a job ID mismatch", _meta_name(), _bad(job_id=job_id(run="0000000b")),
         "does not match its folder"),
    Case("another user's folder", BOB_FOLDER, _bad(), "belongs to user 'alice'"),
    Case("an oversized file", _meta_name(), b" " * ((1 << 20) + 1),
         "is 1048577 bytes, over the limit of 1048576"),
    Case("non-UTF-8 bytes", _meta_name(), b'{"job_id": "\xff\xfe"}', "is not UTF-8 text"),
    Case("a blob outside the layout", "projects/frauddetect/tmp/notes.txt", b"hi",
         "unknown folder"),
]


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_each_bad_input_is_rejected_with_its_reason_and_good_jobs_are_indexed(
        services: Services, tmp_path: Path, case: Case) -> None:
    """One bad input between two good jobs: it is recorded with its reason, they are indexed."""
    good = [write_job(services.blobs, make_metadata(run=run)) for run in ("00000001", "00000002")]
    services.blobs.write(case.blob, case.data)
    etag = services.blobs.props(case.blob)
    summary = run_once(services, workers=2, checkpoint=tmp_path / "checkpoint.json")
    assert summary.counts["rejected"] == 1, case.name
    [record] = list(list_rejections(services.blobs))
    assert record.blob == case.blob
    assert case.reason in record.reason
    assert record.event_id
    assert {d["job_id"] for d in services.index.select()} == {str(j) for j in good}
    assert services.blobs.props(case.blob) == etag  # the rejected blob is untouched


def test_a_blob_outside_projects_is_skipped_without_a_record(services: Services,
                                                             tmp_path: Path) -> None:
    """Stray blobs outside projects/ are logged and skipped, not recorded as rejected."""
    services.blobs.write("scratch/readme.txt", b"hello")
    summary = run_once(services, checkpoint=tmp_path / "checkpoint.json")
    assert summary.counts["skipped"] == 1
    assert list(list_rejections(services.blobs)) == []


def test_a_fixed_metadata_is_indexed_and_the_old_rejection_stays_listed(
        services: Services, tmp_path: Path) -> None:
    """Rejections are history: fixing the blob indexes the job and keeps the record."""
    name = write_metadata(services.blobs, b"{", ALICE)
    run_once(services, checkpoint=tmp_path / "c.json")
    write_metadata(services.blobs, make_metadata(run="0000000a"))
    summary = run_once(services, checkpoint=tmp_path / "c.json")
    assert summary.counts["indexed"] == 1
    assert [r.blob for r in list_rejections(services.blobs)] == [name]
