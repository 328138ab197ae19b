"""Azure AI Search at the SDK's HTTP boundary: a recording transport and a small fake service.

`RecordingTransport` is a real `azure.core` `HttpTransport`: the SDK builds and sends its requests
as it would to Azure; the transport records each one (method, URL, headers, body) and answers
with what a `responder` returns. The answers follow the REST API's documented shapes:

- Create or Update Index: 201 with the definition and `@odata.context`/`@odata.etag`;
- Index Documents (`docs/search.index`): 200, or 207 with per-key `status`/`statusCode`/
  `errorMessage` when some documents fail;
- Search (`docs/search.post.search`): `@odata.context`, `@odata.count`, `@search.facets`,
  `value` with `@search.score`, and `@search.nextPageParameters` past 1000 results;
- Count (`docs/$count`): the number as plain text; Lookup (`docs('key')`): the document or 404;
- throttling: 429/503 with `Retry-After` and the `{"error": {...}}` body.

`FakeSearchService` keeps documents in a dict and evaluates the filters and facets it is sent
with `tests.support.odata_eval` (the documented OData and facet grammar, preview hierarchies and
metrics included); anything else is a 400, as an honest stand-in should answer what it cannot
evaluate.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict

from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.settings import Settings
from tests.support.odata_eval import answer_facets, compile_filter, parse_facets

ENDPOINT = "https://ascend-test.search.windows.net"
ODATA_CONTEXT = ENDPOINT + "/indexes('{index}')/$metadata#docs(*)"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it left the SDK."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.url).path)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """An answer: status, JSON (or text) body and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return json.dumps(self.body).encode(), "application/json; odata.metadata=minimal"


Responder = Callable[[RecordedRequest], Reply]


class RecordingTransport(HttpTransport[Any, Any]):
    """Records every request and answers with `responder`'s reply."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[RecordedRequest] = []

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **kwargs: Any) -> Any:
        body = request.content if request.content is not None else b""
        if isinstance(body, str):
            body = body.encode()
        recorded = RecordedRequest(request.method, request.url, dict(request.headers), bytes(body))
        self.requests.append(recorded)
        return _response(request, self.responder(recorded))

    def of(self, kind: str) -> list[RecordedRequest]:
        """The recorded requests of one operation: index, search, lookup, count, definition."""
        return [r for r in self.requests if operation(r) == kind]


def operation(request: RecordedRequest) -> str:
    """Which REST operation a request is, from its method and path."""
    path = request.path
    if path.endswith("/docs/search.index"):
        return "index"
    if path.endswith("/docs/search.post.search"):
        return "search"
    if path.endswith("/docs/$count"):
        return "count"
    if "/docs('" in path:
        return "lookup"
    if request.method == "PUT" and re.fullmatch(r"/indexes\('[^']+'\)", path):
        return "definition"
    return "other"


def _response(request: Any, reply: Reply) -> RestRequestsTransportResponse:
    body, content_type = reply.encoded()
    raw = requests.Response()
    raw.status_code = reply.status
    raw.reason = {200: "OK", 201: "Created", 207: "Multi-Status", 404: "Not Found"}.get(
        reply.status, "Error"
    )
    raw.headers = CaseInsensitiveDict({"Content-Type": content_type, **reply.headers})
    raw._content = body  # a requests.Response built by hand
    raw.raw = io.BytesIO(body)
    raw.url = request.url
    # the SDK's own requests-backed response class, which it leaves unannotated
    return RestRequestsTransportResponse(  # type: ignore[no-untyped-call]
        request=request, internal_response=raw, block_size=4096
    )


# ---- documented answers ---------------------------------------------------------------------


def index_created(definition: dict[str, Any]) -> Reply:
    """201 Created with the stored definition, as Create or Update Index answers."""
    body = {
        "@odata.context": ENDPOINT + "/$metadata#indexes/$entity",
        "@odata.etag": '"0x8DC0FFEE"',
        **definition,
    }
    return Reply(201, body)


def indexing_results(results: list[tuple[str, int, str | None]]) -> Reply:
    """200 when every (key, statusCode, errorMessage) succeeded, else 207 Multi-Status."""
    value = [
        {"key": key, "status": code < 300, "errorMessage": message, "statusCode": code}
        for key, code, message in results
    ]
    return Reply(200 if all(v["status"] for v in value) else 207, {"value": value})


def throttled(retry_after: str | None = "1", status: int = 429) -> Reply:
    """429 (or 503) with `Retry-After`, and the service's error body."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    message = "Too many requests" if status == 429 else "Service unavailable"
    return Reply(status, {"error": {"code": "", "message": message}}, headers)


def error(status: int, message: str) -> Reply:
    return Reply(status, {"error": {"code": "", "message": message}})


def search_results(
    index: str,
    docs: list[dict[str, Any]],
    *,
    count: int | None = None,
    facets: dict[str, list[dict[str, Any]]] | None = None,
    next_page: dict[str, Any] | None = None,
) -> Reply:
    """A search answer: `@odata.context`, optional `@odata.count`/`@search.facets`, the hits."""
    body: dict[str, Any] = {"@odata.context": ODATA_CONTEXT.format(index=index)}
    if count is not None:
        body["@odata.count"] = count
    if facets is not None:
        body["@search.facets"] = facets
    body["value"] = [{"@search.score": 1.0, **d} for d in docs]
    if next_page is not None:
        body["@search.nextPageParameters"] = next_page
        body["@odata.nextLink"] = f"{ENDPOINT}/indexes('{index}')/docs/search.post.search"
    return Reply(200, body)


def as_service_time(text: str | None) -> str | None:
    """A time as the service returns an Edm.DateTimeOffset: UTC, `Z`, no `.000`."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    shown = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return shown + "Z"


# ---- a fake service -------------------------------------------------------------------------


class FakeSearchService:
    """Documents in a dict behind the REST API; `script` answers first when it has something."""

    def __init__(self, index: str = "ascend-jobs") -> None:
        self.index = index
        self.definition: dict[str, Any] | None = None
        self.documents: dict[str, dict[str, Any]] = {}
        self.script: list[Reply] = []  # replies to give first, in order, whatever the request
        self.fail_keys: dict[str, list[int]] = {}  # per-key statuses to answer, one per attempt
        self.transport = RecordingTransport(self.answer)

    def answer(self, request: RecordedRequest) -> Reply:
        if self.script:
            return self.script.pop(0)
        handler = {
            "definition": self._definition,
            "index": self._index,
            "search": self._search,
            "lookup": self._lookup,
            "count": self._count,
        }.get(operation(request))
        return handler(request) if handler else error(404, f"no route {request.path}")

    def _definition(self, request: RecordedRequest) -> Reply:
        created = self.definition is None
        self.definition = request.json()
        return index_created(self.definition) if created else Reply(200, self.definition)

    def _index(self, request: RecordedRequest) -> Reply:
        return indexing_results([self._apply(a) for a in request.json()["value"]])

    def _apply(self, action: dict[str, Any]) -> tuple[str, int, str | None]:
        kind = action.pop("@search.action")
        key = action["job_id"]
        planned = self.fail_keys.get(key)
        if planned:
            code = planned.pop(0)
            return key, code, f"Injected failure {code} for {key}"
        if kind == "delete":
            self.documents.pop(key, None)
            return key, 200, None
        stored = _stored(action)
        existed = key in self.documents
        if kind in {"mergeOrUpload", "merge"} and existed:
            self.documents[key] = {**self.documents[key], **stored}
        elif kind == "merge":
            return key, 404, "Document not found."
        else:
            self.documents[key] = stored
        return key, 200 if existed else 201, None

    def _search(self, request: RecordedRequest) -> Reply:
        body = request.json()
        try:
            matches = compile_filter(body.get("filter"))
            facets = [f for e in body.get("facets") or () for f in parse_facets(e)]
        except ValueError as exc:
            return error(400, f"Invalid expression: {exc}")
        hits = [d for d in self.documents.values() if matches(d)]
        hits = _ordered(hits, body.get("orderby"))
        skip, top = int(body.get("skip", 0)), int(body.get("top", 50))
        page = hits[skip : skip + min(top, 1000)]
        select = body.get("select")
        if select:
            fields = select.split(",")
            page = [{k: d.get(k) for k in fields} for d in page]
        answer = answer_facets(facets, hits) if facets else None
        more = None
        if top > 1000 and skip + 1000 < len(hits):
            more = {**body, "skip": skip + 1000, "top": top - 1000}
        count = len(hits) if body.get("count") else None
        return search_results(self.index, page, count=count, facets=answer, next_page=more)

    def _lookup(self, request: RecordedRequest) -> Reply:
        key = re.search(r"/docs\('(.*)'\)$", request.path)
        doc = self.documents.get(key.group(1).replace("''", "'")) if key else None
        return Reply(200, doc) if doc is not None else error(404, "Document not found.")

    def _count(self, request: RecordedRequest) -> Reply:
        return Reply(200, str(len(self.documents)))


def _stored(action: dict[str, Any]) -> dict[str, Any]:
    doc = dict(action)
    for name in ("created_at", "updated_at"):
        if name in doc:
            doc[name] = as_service_time(doc[name])
    return doc


def _ordered(hits: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    for term in reversed((orderby or "").split(",") if orderby else []):
        name, _, direction = term.strip().partition(" ")
        hits = sorted(
            hits,
            key=lambda d: (d.get(name) is not None, d.get(name) or ""),
            reverse=direction == "desc",
        )
    return hits


def fake_search_index(service: FakeSearchService) -> AzureSearchIndex:
    """The real Azure AI Search adapter talking to `service` through its transport, with
    retries quick enough for tests (two attempts, no sleeping)."""
    retry = SearchRetry(attempts=2, max_seconds=5, base=0.01, cap=0.02, sleep=lambda s: None)
    settings = Settings(search_endpoint=ENDPOINT, search_index=service.index, search_api_key="key")
    return AzureSearchIndex.from_settings(settings, retry=retry, transport=service.transport)
