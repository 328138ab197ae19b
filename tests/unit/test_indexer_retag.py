"""Which blobs of a job lack its index tags, and the tags the indexer gives them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from indexer.retag import MAX_TAGS, is_stale, merged_tags, wanted_tags
from shared.jobid import make_job_id
from shared.layout import artifact_path, metadata_path
from shared.ports import BlobProps
from shared.tags import job_blob_tags

JOB = make_job_id(
    user="alice",
    project="vision",
    dependency_hash="a3f5d2c8e9b1",
    run_hash="7b9e4f1a",
    created_at=datetime(2025, 6, 1, tzinfo=UTC),
)
WHEN = datetime(2025, 6, 1, tzinfo=UTC)
TAG_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 +-.:=_/", min_size=1, max_size=20)


def listed(name: str, tags: dict[str, str] | None) -> BlobProps:
    return BlobProps(name=name, size=1, etag="e", last_modified=WHEN, tags=tags)


def test_a_blob_listed_without_any_tag_is_stale() -> None:
    """An untagged blob (another writer's) needs the job's tags, like one with another retain."""
    name = artifact_path(JOB, "model.pkl")
    assert is_stale(listed(name, {}), retain=False)
    assert is_stale(listed(name, job_blob_tags(JOB, "artifact", retain=True)), retain=False)
    assert not is_stale(listed(name, job_blob_tags(JOB, "artifact", retain=False)), retain=False)


def test_tags_not_fetched_and_blobs_outside_a_job_are_not_judged() -> None:
    """A listing without tags says nothing; a blob that is not a job's file is left alone."""
    assert not is_stale(listed(metadata_path(JOB), None), retain=False)
    assert wanted_tags("_ascend/audit/2026/01/01/x.jsonl", retain=False) is None


@given(st.dictionaries(TAG_TEXT, TAG_TEXT, max_size=10))
def test_merged_tags_put_ours_first_keep_the_writers_and_stay_within_ten(
    own: dict[str, str],
) -> None:
    """Ours always win and are all there; the writer's others follow while there is room."""
    ours = job_blob_tags(JOB, "artifact", retain=False)
    merged = merged_tags(own, ours)
    assert len(merged) <= MAX_TAGS
    assert {k: merged[k] for k in ours} == ours
    others = [k for k in own if k not in ours]
    assert [k for k in merged if k not in ours] == others[: MAX_TAGS - len(ours)]
