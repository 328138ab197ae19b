"""`SearchIndex` over Azure AI Search (`azure-search-documents` 12.0.0): the adapter's I/O.

What it sends and reads (the index definition, documents in the service's shape, Index Documents
batches) is built by the pure `shared.adapters.azure_search_payloads`; query trees are compiled
by `shared.adapters.odata_query`; retries are `shared.adapters.azure_retry`'s.

Writes follow the service's limits: `mergeOrUpload` batches of at most 1000 documents and
16 MB; a 207 answer is read per key (409/422/503 retried, the rest reported by
`DocumentsRejected`). Throttling (429/503, and other transient answers) is retried with
tenacity, honouring `Retry-After`; the SDK's own retries are off so nothing is retried twice
over. Every SDK exception is translated in `_translate`, in one place.

What a tree needs from the index first (the `packages` texts inside a PEP 440 specifier, the
`tags` texts of `tag:key`) is read with a facet. `aggregate` (the reports) sends one preview facet
request compiled by `shared.adapters.odata_facets` (a hierarchy of the group fields, numeric
metrics under it), asks null groups again with `field eq null`, and reads the first/last value
of a text or time field per group with one sorted `top: 1` search each (8 in flight).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient

from shared.adapters.azure_retry import (
    TRANSIENT_STATUS,
    AzureRetry,
    Throttled,
    first_line,
    retry_after_seconds,
)
from shared.adapters.azure_search_payloads import (
    API_VERSION,
    BAD_KEY,
    MAX_BATCH_BYTES,
    MAX_BATCH_DOCUMENTS,
    MAX_FACET_VALUES,
    MAX_PAGE,
    RETRYABLE_DOCUMENT_STATUS,
    VERSION_FIELDS,
    IndexAction,
    IndexingResult,
    batches,
    check_index_name,
    chunks,
    encode_all,
    from_azure,
    index_definition,
    is_valid_key,
    keys_in_filter,
    newest_per_key,
    request_body,
    version_of,
)
from shared.adapters.odata_facets import (
    PREVIEW_API_VERSION,
    facet_expressions,
    group_filter,
    read_groups,
    searched_measures,
)
from shared.adapters.odata_query import compile_odata, quote
from shared.documents import FIELD_NAMES, KEY_FIELD, JsonDocument, SearchDocument, value_text
from shared.errors import InvalidInput, SearchIndexError, TransientError, Unsupported
from shared.packages import matching_package_texts
from shared.querytree import (
    Measure,
    Package,
    Query,
    Tag,
    Term,
    check_fields,
    check_group_fields,
    map_terms,
    matching_tag_texts,
)
from shared.settings import Settings

T = TypeVar("T")
MAX_GROUP_SEARCHES = 2000  # sorted searches one aggregate may send (min/max of text fields)
SEARCH_THREADS = 8  # of them in flight at once


def _ordered(value: Any) -> tuple[bool, str]:
    """A group value's place among its field's values, nulls first (as SQL sorts them)."""
    return (value is not None, str(value))


class DocumentsRejected(SearchIndexError):
    """The service refused some documents for good; the others were written."""

    def __init__(self, index: str, written: list[str], rejected: Mapping[str, str]) -> None:
        self.written = written
        self.rejected = dict(rejected)
        first_key, first_reason = next(iter(self.rejected.items()))
        super().__init__(
            f"search index {index}: {len(self.rejected)} document(s) refused, e.g. "
            f"{first_key}: {first_reason}"
        )


# ---- retries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchRetry(AzureRetry):
    """The search adapter's retry bounds (longer than storage's: indexing batches are big)."""

    max_seconds: float = 120.0
    base: float = 0.5
    cap: float = 16.0


class _TooLarge(SearchIndexError):
    """413: the request is more than the service takes (the batch is then sent in halves)."""


class _KeysToRetry(TransientError):
    """Some documents of a 207 answer failed with a retryable per-key status."""


def _translate(what: str, exc: AzureError) -> Exception:
    """The one place SDK exceptions become `shared.errors`."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return Throttled(f"{what}: {type(exc).__name__}: {first_line(exc)}", None)
    status = getattr(exc, "status_code", None)
    if status in TRANSIENT_STATUS:
        response = getattr(exc, "response", None)
        headers = dict(response.headers) if response is not None else {}
        return Throttled(f"{what}: HTTP {status}: {first_line(exc)}", retry_after_seconds(headers))
    if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return _TooLarge(f"{what}: HTTP 413: {first_line(exc)}")
    if isinstance(exc, ClientAuthenticationError) or status in {401, 403}:
        return SearchIndexError(f"{what}: not authorized (HTTP {status}): {first_line(exc)}")
    if isinstance(exc, HttpResponseError):
        return SearchIndexError(f"{what}: HTTP {status}: {first_line(exc)}")
    return SearchIndexError(f"{what}: {type(exc).__name__}: {first_line(exc)}")


# ---- the adapter ----------------------------------------------------------------------------


class AzureSearchIndex:
    """The job documents in one Azure AI Search index. Connects to nothing until first used."""

    def __init__(
        self,
        client: SearchClient,
        index_client: SearchIndexClient,
        *,
        retry: SearchRetry | None = None,
        max_batch_documents: int = MAX_BATCH_DOCUMENTS,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.client = client
        self.index_client = index_client
        # The SDK keeps the index name only in its configuration; it is read once, here.
        self.name = check_index_name(str(client._config.index_name))
        self.retry = retry or SearchRetry()
        self.max_batch_documents = max_batch_documents
        self.max_batch_bytes = max_batch_bytes

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        endpoint: str,
        index: str,
        credential: AzureKeyCredential | TokenCredential,
        *,
        retry: SearchRetry | None = None,
        **client_options: Any,
    ) -> AzureSearchIndex:
        """Both SDK clients on one endpoint; `client_options` go to both (e.g. `transport=`)."""
        options: dict[str, Any] = {
            "api_version": API_VERSION,
            "retry_total": 0,  # retried here, with tenacity, once
            "connection_timeout": 10,
            "read_timeout": 60,
            **client_options,
        }
        client = SearchClient(endpoint, check_index_name(index), credential, **options)
        index_client = SearchIndexClient(endpoint, credential, **options)
        return cls(client, index_client, retry=retry)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, retry: SearchRetry | None = None, **client_options: Any
    ) -> AzureSearchIndex:
        """From ASCEND_SEARCH_ENDPOINT, _INDEX and _API_KEY (else `DefaultAzureCredential`)."""
        if not settings.search_endpoint:
            raise InvalidInput("ASCEND_SEARCH_ENDPOINT", "is not set")
        credential: AzureKeyCredential | TokenCredential
        if settings.search_api_key:
            credential = AzureKeyCredential(settings.search_api_key)
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls.connect(
            settings.search_endpoint,
            settings.search_index,
            credential,
            retry=retry,
            **client_options,
        )

    def close(self) -> None:
        self.client.close()
        self.index_client.close()

    # ---- the port ----------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create or update the index from `FIELDS` (idempotent)."""
        definition = index_definition(self.name)
        self._call(
            f"index {self.name}", lambda: self.index_client.create_or_update_index(definition)
        )

    def upsert(self, documents: Sequence[SearchDocument]) -> list[str]:
        """mergeOrUpload the documents that are not older than what the index holds.

        Before writing, one filtered search (`search.in(job_id, ...)`) per batch reads the
        current (updated_at, source_version) of its keys and drops older documents. A race remains:
        AI Search has no conditional writes on documents, so a newer version written by another
        worker between that read and this write can be overwritten by an older one. Delivery
        is at least once, so the next event or `pipeline reconcile` repairs it.
        Raises `DocumentsRejected` (after writing the rest) for documents refused for good.
        """
        latest = newest_per_key(documents)
        rejected = {k: BAD_KEY for k in latest if not is_valid_key(k)}
        keyless = sum(1 for d in documents if not isinstance(d.get(KEY_FIELD), str))
        if keyless:
            rejected["(no job_id)"] = f"{keyless} document(s) without a string job_id"
        candidates = [d for k, d in latest.items() if k not in rejected]
        written: list[str] = []
        for chunk in chunks(candidates, MAX_PAGE):
            current = self._versions([d[KEY_FIELD] for d in chunk])
            fresh = [d for d in chunk if version_of(d) >= current.get(d[KEY_FIELD], ("", ""))]
            actions, unencodable = encode_all(fresh)
            done, refused = self._write(actions)
            written += done
            rejected.update(unencodable | refused)
        if rejected:
            raise DocumentsRejected(self.name, written, rejected)
        return written

    def get(self, job_id: str) -> SearchDocument | None:
        if not is_valid_key(job_id):
            return None

        def lookup() -> SearchDocument | None:
            try:
                return from_azure(self.client.get_document(job_id))
            except ResourceNotFoundError:
                return None

        return self._call(f"document {job_id}", lookup)

    def delete(self, job_ids: Sequence[str]) -> int:
        """Delete the documents that exist; returns how many there were."""
        keys = sorted({k for k in job_ids if is_valid_key(k)})
        deleted = 0
        for chunk in chunks(keys, MAX_PAGE):
            present = list(self._versions(chunk))
            done, refused = self._write([IndexAction.of("delete", {KEY_FIELD: k}) for k in present])
            if refused:
                raise DocumentsRejected(self.name, done, refused)
            deleted += len(done)
        return deleted

    def keys(self) -> Iterator[tuple[str, str | None, str | None]]:
        """Every key in ascending order, paged by a range filter on the key (never `$skip`)."""
        last: str | None = None
        while True:
            where = None if last is None else f"{KEY_FIELD} gt {quote(last)}"
            page = self._search(where, [f"{KEY_FIELD} asc"], MAX_PAGE, VERSION_FIELDS)
            for doc in page:
                yield doc[KEY_FIELD], doc.get("updated_at"), doc.get("source_version")
            if len(page) < MAX_PAGE:
                return
            last = page[-1][KEY_FIELD]

    def find(self, query: Query, *, limit: int) -> list[SearchDocument]:
        odata = compile_odata(self._resolved(query))
        return self._search(odata.filter, odata.order_by, limit, FIELD_NAMES)

    def find_json(self, query: Query, *, limit: int) -> list[JsonDocument]:
        """The SDK decodes the service's JSON, so the documents are encoded here once more; the
        request selects the document's fields only."""
        sort = query.sort.field
        return [
            JsonDocument(orjson.dumps(doc), doc.get(sort), doc["created_at"], doc[KEY_FIELD])
            for doc in self.find(query, limit=limit)
        ]

    def find_rows(
        self, query: Query, fields: Sequence[str], *, limit: int
    ) -> list[tuple[Any, ...]]:
        """The search asks the service for `fields` only (`select`), so less is sent and
        decoded; each hit becomes the tuple of those fields."""
        names = check_fields(fields)
        odata = compile_odata(self._resolved(query))
        hits = self._search(odata.filter, odata.order_by, limit, list(dict.fromkeys(names)))
        return [tuple(hit.get(name) for name in names) for hit in hits]

    def count(self, query: Query | None = None) -> int:
        if query is None or not query.terms:
            return int(self._call(f"index {self.name}", self.client.get_document_count))
        odata = compile_odata(self._resolved(query))

        def run() -> int:
            results = self.client.search(
                search_text="*", filter=odata.filter, top=0, include_total_count=True
            )
            return int(results.get_count() or 0)

        return self._call(f"count in index {self.name} ({odata.filter})", run)

    def facets(
        self, query: Query, fields: Sequence[str], *, limit: int = 100
    ) -> dict[str, dict[str, int]]:
        check_group_fields(fields)
        odata = compile_odata(self._resolved(query))
        buckets = self._facet_buckets(odata.filter, fields, limit)
        return {field: {value_text(v): n for v, n in buckets[field]} for field in fields}

    def aggregate(
        self, query: Query, group_by: Sequence[str], measures: Sequence[Measure] = ()
    ) -> list[dict[str, Any]]:
        """Groups, counts and numeric measures from one preview facet request (a hierarchy of
        the group fields, metrics under its last level); null groups asked again with
        `field eq null`; `min`/`max` of a non-numeric field from one sorted search per group."""
        check_group_fields(group_by)
        where = compile_odata(self._resolved(query)).filter
        rows = self._groups(where, list(group_by), list(measures))
        searched = [(row, m) for row in rows for m in searched_measures(measures)]
        if searched:
            self._check_searches(len(searched))

            def extreme(job: tuple[dict[str, Any], Measure]) -> Any:
                row, measure = job
                return self._extreme(where, [(f, row[f]) for f in group_by], measure)

            # The SDK's clients are thread-safe; the searches are independent and short.
            with ThreadPoolExecutor(max_workers=min(SEARCH_THREADS, len(searched))) as pool:
                values = list(pool.map(extreme, searched))
            for (row, measure), value in zip(searched, values, strict=True):
                row[measure.name] = value
        return sorted(rows, key=lambda r: (-r["count"], *(_ordered(r[f]) for f in group_by)))

    def _groups(
        self, where: str | None, group_by: list[str], measures: list[Measure]
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"search": "*", "filter": where, "top": 0, "count": True}
        facets = facet_expressions(group_by, measures, MAX_FACET_VALUES)
        if facets:
            body["facets"] = facets
        answer = self._preview_search(body, f"aggregate by {', '.join(group_by) or 'all'}")
        rows, nulls = read_groups(answer, group_by, measures, MAX_FACET_VALUES)
        for null in nulls:
            level = group_by.index(null.field)
            narrowed = group_filter(where, [*null.path, (null.field, None)])
            for row in self._groups(narrowed, group_by[level + 1 :], measures):
                rows.append(dict(null.path) | {null.field: None} | row)
        return rows

    def _extreme(self, where: str | None, path: Sequence[tuple[str, Any]], measure: Measure) -> Any:
        """`min`/`max` of `measure.field` in one group: its first document in that order."""
        within = group_filter(where, path, f"{measure.field} ne null")
        way = "asc" if measure.op == "min" else "desc"
        found = self._search(within, [f"{measure.field} {way}"], 1, [measure.field])
        return found[0].get(measure.field) if found else None

    def _check_searches(self, needed: int) -> None:
        if needed > MAX_GROUP_SEARCHES:
            raise Unsupported(
                f"search index {self.name}: {needed} sorted searches (first/last values per "
                f"group) are more than {MAX_GROUP_SEARCHES}; narrow the query "
                "(--since, project:, user:)"
            )

    def _preview_search(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        """A Search Documents POST on the preview api-version (facet hierarchies and metrics,
        which the GA SDK cannot send), through the SDK's pipeline (auth, tracing)."""

        content = orjson.dumps(body)

        def send() -> dict[str, Any]:
            answer: dict[str, Any] = self._post(
                "search.post.search", PREVIEW_API_VERSION, content, {HTTPStatus.OK}
            )
            return answer

        return self._call(f"{what} in index {self.name} ({body['filter'] or 'all'})", send)

    def set_tier(self, job_ids: Sequence[str], tier: str) -> int:
        """`merge` of `tier` alone: the rest of each document (and its version) is untouched;
        a document deleted meanwhile stays deleted (404 is not an error here)."""
        keys = sorted({k for k in job_ids if is_valid_key(k)})
        actions = [IndexAction.of("merge", {KEY_FIELD: k, "tier": tier}) for k in keys]
        done, refused = self._write(actions)
        refused = {k: why for k, why in refused.items() if not why.startswith("HTTP 404")}
        if refused:
            raise DocumentsRejected(self.name, done, refused)
        return len(done)

    # ---- compiling trees ---------------------------------------------------------------------

    def _resolved(self, query: Query) -> Query:
        """`query` with package specifiers and `tag:key` turned into the indexed texts they
        stand for, read with facets."""

        def resolve(term: Term) -> Term:
            if isinstance(term, Package) and term.specifier and term.texts is None:
                texts = self._all_values(Query((Package(term.name),)), "packages")
                return replace(term, texts=matching_package_texts(term.name, term.specifier, texts))
            if isinstance(term, Tag) and term.value is None and term.texts is None:
                return replace(
                    term, texts=matching_tag_texts(term.key, self._all_values(Query(), "tags"))
                )
            return term

        return map_terms(query, resolve)

    def _all_values(self, query: Query, field: str) -> list[str]:
        odata = compile_odata(query)
        values = self._facet_buckets(odata.filter, [field], MAX_FACET_VALUES)[field]
        if len(values) >= MAX_FACET_VALUES:
            raise SearchIndexError(
                f"{field}: more than {MAX_FACET_VALUES} distinct values to "
                "resolve; narrow the query"
            )
        return [value_text(v) for v, _ in values]

    def _search(
        self,
        filter: str | None,
        order_by: Sequence[str],
        top: int,
        select: Sequence[str] | None = None,
    ) -> list[SearchDocument]:
        """Up to `top` documents matching the OData `filter`, in `order_by` order."""
        if top <= 0:
            return []

        def run() -> list[SearchDocument]:
            results = self.client.search(
                search_text="*",
                filter=filter,
                order_by=list(order_by) or None,
                top=top,
                select=list(select) if select else None,
            )
            found: list[SearchDocument] = []
            for raw in results:
                found.append(from_azure(raw))
                if len(found) >= top:
                    break
            return found

        return self._call(f"search of index {self.name} ({filter or 'all'})", run)

    def _facet_buckets(
        self, filter: str | None, fields: Sequence[str], limit: int
    ) -> dict[str, list[tuple[Any, int]]]:
        """(value, count) of each facetable field among the documents matching `filter`, most
        first, as the service returns them (one request for all fields)."""

        def run() -> dict[str, list[tuple[Any, int]]]:
            results = self.client.search(
                search_text="*", filter=filter, top=0, facets=[f"{f},count:{limit}" for f in fields]
            )
            found = results.get_facets() or {}
            return {f: [(b["value"], int(b["count"])) for b in found.get(f, [])] for f in fields}

        return self._call(f"facets of {', '.join(fields)} in index {self.name}", run)

    # ---- internals ---------------------------------------------------------------------------

    def _versions(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        if not keys:
            return {}
        found = self._search(keys_in_filter(keys), [], len(keys), VERSION_FIELDS)
        return {d[KEY_FIELD]: version_of(d) for d in found}

    def _write(self, actions: list[IndexAction]) -> tuple[list[str], dict[str, str]]:
        written: list[str] = []
        refused: dict[str, str] = {}
        for batch in batches(
            actions, max_documents=self.max_batch_documents, max_bytes=self.max_batch_bytes
        ):
            done, failed = self._write_halving(batch)
            written += done
            refused.update(failed)
        return written, refused

    def _write_halving(self, batch: list[IndexAction]) -> tuple[list[str], dict[str, str]]:
        """A batch the service finds too large (413) is sent again in halves."""
        try:
            return self._write_batch(batch)
        except _TooLarge:
            if len(batch) == 1:
                return [], {batch[0].key: "is larger than one request may carry (HTTP 413)"}
            first, second = (
                self._write_halving(part)
                for part in (batch[: len(batch) // 2], batch[len(batch) // 2 :])
            )
            return first[0] + second[0], {**first[1], **second[1]}

    def _write_batch(self, batch: list[IndexAction]) -> tuple[list[str], dict[str, str]]:
        pending = {a.key: a for a in batch}
        written: list[str] = []
        refused: dict[str, str] = {}

        def attempt() -> None:
            for result in self._index(list(pending.values())):
                key = result.key
                if result.succeeded:
                    written.append(key)
                    pending.pop(key, None)
                elif result.status_code not in RETRYABLE_DOCUMENT_STATUS:
                    refused[key] = f"HTTP {result.status_code}: {result.error_message or 'refused'}"
                    pending.pop(key, None)
            if pending:
                raise _KeysToRetry(
                    f"index {self.name}: {len(pending)} document(s) not written "
                    f"yet, e.g. {next(iter(pending))}"
                )

        self.retry.run(attempt)
        return written, refused

    def _index(self, actions: list[IndexAction]) -> list[IndexingResult]:
        # Sent through the SDK's pipeline (auth, api-version, tracing) with `send_request`, the
        # body encoded here by orjson: its size is measured exactly, and the SDK's model
        # serializer, most of the client's CPU time on large batches, is skipped.
        content = request_body(actions)
        accepted = {HTTPStatus.OK, HTTPStatus.MULTI_STATUS}

        def send() -> list[IndexingResult]:
            answer = self._post("search.index", API_VERSION, content, accepted)
            return [IndexingResult.of(item) for item in answer["value"]]

        return self._call(f"index {self.name}", send)

    def _post(self, operation: str, api_version: str, content: bytes, ok: Collection[int]) -> Any:
        """POST `content` (JSON) to the index's `docs/{operation}` through the SDK's pipeline
        (auth, tracing); the decoded answer, or `HttpResponseError` for a status not in `ok`."""
        request = HttpRequest(
            "POST",
            f"/indexes('{self.name}')/docs/{operation}",
            params={"api-version": api_version},
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json;odata.metadata=none",
            },
            content=content,
        )
        response = self.client.send_request(request)
        if response.status_code not in ok:
            raise HttpResponseError(response=response)
        return orjson.loads(response.read())

    def _call(self, what: str, call: Callable[[], T]) -> T:
        return self.retry.call(what, call, _translate)
