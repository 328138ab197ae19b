"""Finding the sweep's work without listing every blob in the account.

Candidates come from the search index: jobs old enough for a stage their document has not yet
reached (`tier`), and non-retained jobs past the delete age (their documents go with them). Each
query is a range on `created_at` within one `tier` or `retain` value, so the cost grows with the
jobs that cross a threshold, not with all jobs. Then only each candidate's own blobs are listed:
its job folder and its by-date copy (two prefix listings, tags included).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from lifecycle.plan import BlobState, JobState, age_days, reached
from lifecycle.policy import PolicyBook, RetentionPolicy
from shared.documents import SearchDocument, format_datetime
from shared.errors import InvalidInput, StorageError
from shared.jobid import parse_artifact_name, parse_job_id
from shared.layout import BlobKind, by_date_log_path, job_prefix, metadata_path, parse_blob_name
from shared.metadata import parse_metadata
from shared.ports import BlobProps, BlobStore
from shared.tags import RETAIN

Query = tuple[str, list[Any]]


class SelectableIndex(Protocol):
    """The part of the embedded index the sweep queries (values bound as parameters)."""

    def select(self, where: str = "1", params: Sequence[Any] = (), *, order_by: str = ...,
               limit: int | None = None) -> list[SearchDocument]: ...


def candidate_queries(policy: RetentionPolicy, now: datetime) -> list[Query]:
    """WHERE clauses (with their parameters) that find the jobs `policy` has work for at `now`."""
    queries: list[Query] = []
    first_tier = policy.cool_after if policy.cool_after is not None else policy.archive_after
    if first_tier is not None:
        cut = _cutoff(now, first_tier)
        queries += [("tier IS NULL AND created_at <= ?", [cut]),
                    ("tier = ? AND created_at <= ?", ["Hot", cut])]
    if policy.archive_after is not None and policy.cool_after is not None:
        cut = _cutoff(now, policy.archive_after)
        queries.append(("tier = ? AND created_at <= ?", ["Cool", cut]))
    deletes = [d for d in (policy.delete_after, *policy.artifact_rules.values()) if d is not None]
    if deletes:
        cut = _cutoff(now, min(deletes))
        queries += [("retain = ? AND created_at <= ?", [False, cut]),
                    ("retain IS NULL AND created_at <= ?", [cut])]
    return queries


def scoped_queries(book: PolicyBook, now: datetime, project: str | None = None
                   ) -> Iterator[tuple[RetentionPolicy, Query]]:
    """Each candidate query with its project scope: overrides by project, the default elsewhere."""
    scopes: list[tuple[RetentionPolicy, str, list[Any]]] = []
    if project is not None:
        scopes.append((book.for_project(project), "project = ?", [project]))
    else:
        others = book.overridden
        marks = ", ".join("?" for _ in others)
        scopes.append((book.default, f"project NOT IN ({marks})" if others else "1", list(others)))
        scopes += [(policy, "project = ?", [name]) for name, policy in book.overrides]
    for policy, scope, scope_params in scopes:
        for where, params in candidate_queries(policy, now):
            yield policy, (f"{where} AND {scope}", [*params, *scope_params])


def candidate_documents(index: SelectableIndex | ODataSearchable, book: PolicyBook,
                        now: datetime, project: str | None = None) -> Iterator[SearchDocument]:
    """Search documents of the jobs that may need work at `now`, each once, oldest first: by SQL
    on the embedded index, by OData filters on Azure AI Search."""
    if hasattr(index, "select"):
        pages = (index.select(where, params, order_by="created_at, job_id")
                 for _, (where, params) in scoped_queries(book, now, project))
    else:
        pages = (odata_pages(index, odata) for odata in scoped_odata(book, now, project))
    seen: set[str] = set()
    for page in pages:
        for doc in page:
            if doc["job_id"] not in seen:
                seen.add(doc["job_id"])
                yield doc


def candidate_odata(policy: RetentionPolicy, now: datetime) -> list[str]:
    """The same candidate queries as OData filters (Azure AI Search)."""
    sql_to_odata = []
    for where, params in candidate_queries(policy, now):
        text = where.replace(" IS NULL", " eq null").replace(" = ?", " eq ?").replace(
            "<= ?", "le ?").replace(" AND ", " and ")
        for value in params:
            head, _, rest = text.partition("?")
            literal = str(value) if head.endswith("le ") else _odata_literal(value)
            text = head + literal + rest
        sql_to_odata.append(text)
    return sql_to_odata


def scoped_odata(book: PolicyBook, now: datetime, project: str | None = None) -> Iterator[str]:
    """Each OData candidate filter with its project scope."""
    if project is not None:
        scopes = [(book.for_project(project), f"project eq {_odata_literal(project)}")]
    else:
        others = ",".join(book.overridden)
        default = f"not search.in(project, {_odata_literal(others)}, ',')" if others else ""
        scopes = [(book.default, default)] + [
            (policy, f"project eq {_odata_literal(name)}") for name, policy in book.overrides]
    for policy, scope in scopes:
        for odata in candidate_odata(policy, now):
            yield f"{odata} and {scope}" if scope else odata


class ODataSearchable(Protocol):
    """The part of the Azure AI Search adapter the sweep queries."""

    def search_odata(self, filter: str | None, order_by: Sequence[str], top: int,
                     select: Sequence[str] | None = None) -> list[SearchDocument]: ...


def odata_pages(index: ODataSearchable, odata: str, page: int = 1000
                 ) -> Iterator[SearchDocument]:
    """All matches of `odata`, paged by (created_at, job_id) keyset ($skip stops at 100,000)."""
    after = ""
    while True:
        docs = index.search_odata(f"({odata}){after}", ["created_at asc", "job_id asc"], page)
        yield from docs
        if len(docs) < page:
            return
        last = docs[-1]
        stamp, key = last["created_at"], _odata_literal(last["job_id"])
        after = f" and (created_at gt {stamp} or (created_at eq {stamp} and job_id gt {key}))"


def _odata_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def read_job_state(blobs: BlobStore, job_id: str, doc: SearchDocument | None,
                   policy: RetentionPolicy, now: datetime) -> JobState:
    """The job's blobs as they are now; metadata.json is read only near the delete age."""
    job = parse_job_id(job_id)
    listed = [*blobs.list(job_prefix(job), with_tags=True),
              *blobs.list(by_date_log_path(job), with_tags=True)]
    meta = next((p for p in listed if p.name == metadata_path(job)), None)
    retain, types = bool(doc and doc.get("retain")), dict[str, str]()
    near_deletion = any(reached(age_days(job, now), d)
                        for d in (policy.delete_after, *policy.artifact_rules.values()))
    if meta is not None and near_deletion:
        meta_retain, types = _metadata_facts(blobs, meta.name)
        retain = retain or meta_retain
    return JobState(
        job=job,
        retain=retain,
        blobs=tuple(blob_state(p, types) for p in listed),
        metadata_etag=meta.etag if meta else None,
        doc_tier=doc.get("tier") if doc else None,
        indexed=doc is not None,
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


def _cutoff(now: datetime, days: int) -> str:
    return format_datetime(now - timedelta(days=days))
