"""Blob index tags on every blob of a job: what the lifecycle (and Azure's own lifecycle policy)
selects by, without reading metadata.json.

Tags are few (Azure allows 10 per blob) and their values keep to the allowed characters
(`a-zA-Z0-9 +-.:=_/`). `retain` is always present, `true` or `false`: Azure lifecycle rules can
only *include* blobs, so "delete unless retained" is written as "delete where retain == false",
and a blob that lost its tags is never deleted by the native policy (a safe failure).
Overwrites clear tags (in Azurite at least) and Copy Blob does not copy them: every write of a
job's blob sends `job_blob_tags` again.
"""

from __future__ import annotations

from shared.jobid import JobId

RETAIN = "retain"
PROJECT = "project"
USER = "user"
JOB = "job"
KIND = "kind"
CREATED = "created"  # YYYYMMDD of the job's creation: range queries with find_blobs_by_tags


def job_blob_tags(job: JobId, kind: str, *, retain: bool) -> dict[str, str]:
    """The index tags of one blob of `job`."""
    return {
        RETAIN: "true" if retain else "false",
        PROJECT: job.project,
        USER: job.user,
        JOB: str(job),
        KIND: kind,
        CREATED: f"{job.created_at:%Y%m%d}",
    }


def retain_guard() -> str:
    """The `if_tags_match_condition` that lets a delete through only for non-retained blobs."""
    return "\"retain\" <> 'true'"
