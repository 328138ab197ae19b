"""Finding the sweep's work without listing every blob in the account.

Candidates come from the search index: jobs old enough for a stage their document has not yet
reached (`tier`), and non-retained jobs past the delete age (their documents go with them). Each
query is a range on `created_at` within one `tier` or `retain` value, so the cost grows with the
jobs that cross a threshold, not with all jobs. The index is asked for the few fields the sweep
reads (`Candidate`, through `SearchIndex.find_rows`), never whole documents: at 100,000 crossing
jobs, decoding documents was most of the query's time. Then only each candidate's own blobs are
listed: its job folder and its by-date copy (two prefix listings, tags included).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from lifecycle.plan import BlobState, JobState, age_days, reached
from lifecycle.policy import PolicyBook, RetentionPolicy
from shared.errors import InvalidInput, StorageError
from shared.jobid import parse_artifact_name, parse_job_id
from shared.layout import BlobKind, by_date_log_path, job_prefix, metadata_path, parse_blob_name
from shared.metadata import FINAL_STATUSES, parse_metadata
from shared.paging import find_all_rows
from shared.partitions import created_on
from shared.ports import BlobProps, BlobStore, SearchIndex
from shared.querytree import Compare, Equals, IsTrue, Missing, Not, Query, Sort, Term
from shared.tags import RETAIN
from shared.tiers import Tier

FINAL = frozenset(s.value for s in FINAL_STATUSES)
OLDEST_FIRST = Sort("created_at", descending=False)


def candidate_queries(policy: RetentionPolicy, now: datetime) -> list[Query]:
    """The queries that find the jobs `policy` has work for at `now`, oldest first."""
    queries: list[tuple[Term, ...]] = []
    first_tier = policy.cool_after if policy.cool_after is not None else policy.archive_after
    if first_tier is not None:
        cut = _created_by(now, first_tier)
        queries += [(Missing("tier"), cut), (Equals("tier", (Tier.HOT,)), cut)]
    if policy.archive_after is not None and policy.cool_after is not None:
        queries.append((Equals("tier", (Tier.COOL,)), _created_by(now, policy.archive_after)))
    deletes = [d for d in (policy.delete_after, *policy.artifact_rules.values()) if d is not None]
    if deletes:
        cut = _created_by(now, min(deletes))
        queries += [(IsTrue("retain", False), cut), (Missing("retain"), cut)]
    return [Query(terms, OLDEST_FIRST) for terms in queries]


def scoped_queries(
    book: PolicyBook, now: datetime, project: str | None = None, day: date | None = None
) -> Iterator[tuple[RetentionPolicy, Query]]:
    """Each candidate query with its project scope: overrides by project, the default elsewhere;
    `day` keeps the jobs created on that day (UTC), one partition of the sweep."""
    scopes: list[tuple[RetentionPolicy, Term | None]] = []
    if project is not None:
        scopes.append((book.for_project(project), Equals("project", (project,))))
    else:
        others = tuple(book.overridden)
        scopes.append((book.default, Not(Equals("project", others)) if others else None))
        scopes += [(policy, Equals("project", (name,))) for name, policy in book.overrides]
    days = created_on(day) if day is not None else ()
    for policy, scope in scopes:
        for query in candidate_queries(policy, now):
            yield policy, query.where(scope, *days)


class Candidate(NamedTuple):
    """What the sweep reads of a job's search document: one narrow row of the index."""

    job_id: str
    project: str  # the indexer always sets it (`default` for none)
    created_at: str
    tier: str | None
    retain: bool | None
    status: str | None


CANDIDATE_FIELDS = Candidate._fields
_new = tuple.__new__  # a Candidate from the row, without NamedTuple's keyword handling


def candidate_of(doc: Mapping[str, Any]) -> Candidate:
    """The candidate row of a whole document (a job read again with `SearchIndex.get`)."""
    return Candidate._make(doc.get(name) for name in CANDIDATE_FIELDS)


def candidates(
    index: SearchIndex,
    book: PolicyBook,
    now: datetime,
    project: str | None = None,
    day: date | None = None,
) -> Iterator[Candidate]:
    """The jobs that may need work at `now`, each once, oldest first per query; whichever index
    is configured compiles the queries. `day`: those created that day."""
    seen: set[str] = set()
    for _, query in scoped_queries(book, now, project, day):
        for row in find_all_rows(index, query, CANDIDATE_FIELDS):
            if row[0] not in seen:
                seen.add(row[0])
                yield _new(Candidate, row)


def read_job_state(
    blobs: BlobStore,
    job_id: str,
    found: Candidate | None,
    policy: RetentionPolicy,
    now: datetime,
) -> JobState:
    """The job's blobs as they are now (`found`: its index row, None when not indexed);
    metadata.json is read only near the delete age."""
    job = parse_job_id(job_id)
    listed = [
        *blobs.list(job_prefix(job), with_tags=True),
        *blobs.list(by_date_log_path(job), with_tags=True),
    ]
    meta = next((p for p in listed if p.name == metadata_path(job)), None)
    retain, types = bool(found and found.retain), dict[str, str]()
    near_deletion = any(
        reached(age_days(job, now), d)
        for d in (policy.delete_after, *policy.artifact_rules.values())
    )
    if meta is not None and near_deletion:
        meta_retain, types = _metadata_facts(blobs, meta.name)
        retain = retain or meta_retain
    return JobState(
        job=job,
        retain=retain,
        blobs=tuple(blob_state(p, types) for p in listed),
        metadata_etag=meta.etag if meta else None,
        doc_tier=found.tier if found else None,
        indexed=found is not None,
        final=found is not None and found.status in FINAL,
        job_id=job_id,
    )


def blob_state(props: BlobProps, artifact_types: dict[str, str]) -> BlobState:
    """What the plan needs to know of one listed blob."""
    try:
        ref = parse_blob_name(props.name)
        kind: BlobKind | None = ref.kind
    except InvalidInput:
        ref, kind = None, None
    artifact = ref.artifact if ref is not None else None
    return BlobState(
        name=props.name,
        kind=kind,
        blob_type=props.blob_type,
        tier=props.tier,
        etag=props.etag,
        retain_tag=(props.tags or {}).get(RETAIN, "").lower() == "true",
        tagged=RETAIN in (props.tags or {}),
        artifact_type=artifact_type_of(artifact, artifact_types) if artifact else None,
    )


def artifact_type_of(file_name: str, declared: dict[str, str]) -> str:
    """The artifact's type: as metadata.json declares it, else from its name
    (`{job_id}.{type}.{ext}`, or the part before the first dot: `model.pkl` -> `model`)."""
    if file_name in declared:
        return declared[file_name]
    try:
        return parse_artifact_name(file_name)[1]
    except InvalidInput:
        return file_name.split(".", 1)[0].lower()


def _metadata_facts(blobs: BlobStore, name: str) -> tuple[bool, dict[str, str]]:
    """(retain, artifact name -> type) from metadata.json; unreadable means retained (safe)."""
    try:
        meta = parse_metadata(blobs.read(name, max_bytes=4 << 20).data, source=name)
    except (InvalidInput, StorageError):
        return True, {}
    return meta.retain, {a.name: a.type for a in meta.artifacts}


def _created_by(now: datetime, days: int) -> Compare:
    """Jobs created at least `days` before `now`."""
    return Compare("created_at", "<=", now - timedelta(days=days))
