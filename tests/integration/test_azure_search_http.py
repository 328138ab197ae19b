"""The Azure AI Search adapter at the SDK's HTTP boundary: what it sends, how it reads answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AzureKeyCredential
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.azure_retry import retry_after_seconds
from shared.adapters.azure_search import AzureSearchIndex, DocumentsRejected, SearchRetry
from shared.adapters.azure_search_payloads import (
    API_VERSION,
    MAX_BATCH_BYTES,
    index_definition_body,
)
from shared.adapters.odata_query import quote
from shared.documents import FIELDS, SearchDocument, as_document, empty_document
from shared.errors import InvalidInput, SearchIndexError, TransientError
from shared.querytree import Equals, Query, Sort, Tag
from shared.settings import Settings
from tests.support.search_transport import (
    ENDPOINT,
    FakeSearchService,
    Reply,
    error,
    indexing_results,
    search_results,
    throttled,
)

INDEX = "ascend-jobs"


class SleepRecorder:
    """Stands in for time.sleep so retry waits are observed, not spent."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def job_id(n: int) -> str:
    return f"20251204-143022-alice-frauddetect-a3f5d2c8-{n:08x}"


def document(
    n: int, *, updated: str = "2025-12-04T14:35:23.456Z", version: str = "v1", **fields: Any
) -> SearchDocument:
    doc: dict[str, Any] = dict(empty_document(job_id(n)))
    doc.update(
        created_at="2025-12-04T14:30:22.000Z",
        updated_at=updated,
        source_version=version,
        status="completed",
        user="alice",
        project="frauddetect",
        packages=["torch==2.0.0"],
        package_names=["torch"],
        use_gpu=True,
        duration_seconds=276.122,
        exit_code=0,
        cost_usd=0.04,
        tags=["experiment=baseline"],
        retain=False,
        metrics_last={"loss": 0.25, "accuracy": 0.9},
        log_errors=0,
    )
    doc.update(fields)
    return as_document(doc)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def service() -> FakeSearchService:
    return FakeSearchService(INDEX)


@pytest.fixture
def index(service: FakeSearchService, sleeps: SleepRecorder) -> AzureSearchIndex:
    retry = SearchRetry(attempts=4, max_seconds=30, base=0.01, cap=0.02, sleep=sleeps)
    settings = Settings(search_endpoint=ENDPOINT, search_index=INDEX, search_api_key="admin-key")
    return AzureSearchIndex.from_settings(settings, retry=retry, transport=service.transport)


def test_ensure_puts_the_generated_definition_with_key_and_api_version(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """ensure() PUTs the index generated from FIELDS, with the api-key and our api-version."""
    index.ensure()
    (request,) = service.transport.requests
    assert request.method == "PUT"
    assert request.url.startswith(f"{ENDPOINT}/indexes('{INDEX}')?")
    assert request.query["api-version"] == API_VERSION
    assert request.headers["api-key"] == "admin-key"
    assert request.json() == index_definition_body(INDEX)
    assert [f["name"] for f in request.json()["fields"]] == [f.name for f in FIELDS]


def test_ensure_twice_is_harmless(index: AzureSearchIndex, service: FakeSearchService) -> None:
    """Creating the index again is an update of the same definition, not an error."""
    index.ensure()
    index.ensure()
    assert service.definition == index_definition_body(INDEX)


def test_a_token_credential_is_sent_as_a_bearer_token(service: FakeSearchService) -> None:
    """Without an API key the adapter authenticates with an Entra ID bearer token, no api-key."""

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("entra-token", 2**40)

    index = AzureSearchIndex.connect(ENDPOINT, INDEX, Token(), transport=service.transport)
    index.count()
    (request,) = service.transport.requests
    assert request.headers["Authorization"] == "Bearer entra-token"
    assert "api-key" not in request.headers


def test_upsert_sends_merge_or_upload_with_every_field_and_metrics_as_a_collection(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Each document goes as mergeOrUpload with all fields; metrics_last becomes {name, value}s."""
    assert index.upsert([document(1)]) == [job_id(1)]
    (request,) = service.transport.of("index")
    (action,) = request.json()["value"]
    assert action["@search.action"] == "mergeOrUpload"
    assert set(action) == {"@search.action"} | {f.name for f in FIELDS}
    assert action["metrics_last"] == [
        {"name": "loss", "value": 0.25},
        {"name": "accuracy", "value": 0.9},
    ]


def test_documents_come_back_exactly_as_they_were_written(index: AzureSearchIndex) -> None:
    """get() turns the service's answer back into the document: metrics dict, times as written."""
    doc = document(1, metrics_last={"loss": 1.5}, log_last_error="boom")
    index.upsert([doc])
    assert index.get(job_id(1)) == doc


def test_upsert_of_2500_documents_goes_in_batches_of_at_most_1000(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """2500 documents take three index requests of at most 1000 actions, all written."""
    written = index.upsert([document(n) for n in range(2500)])
    assert len(written) == 2500
    sizes = [len(r.json()["value"]) for r in service.transport.of("index")]
    assert sizes == [1000, 1000, 500]
    assert len(service.documents) == 2500


def test_upsert_keeps_every_request_within_16_megabytes(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Twenty 1 MB documents are split so that no request body exceeds the 16 MB limit."""
    big = "é" * 500_000  # 1 MB once encoded as UTF-8: the bytes on the wire are what count
    index.upsert([document(n, log_last_error=big) for n in range(20)])
    bodies = [len(r.body) for r in service.transport.of("index")]
    assert len(bodies) > 1
    assert all(size <= MAX_BATCH_BYTES for size in bodies)
    assert sum(len(r.json()["value"]) for r in service.transport.of("index")) == 20


def test_a_document_larger_than_a_request_is_refused_and_the_others_written(
    service: FakeSearchService, sleeps: SleepRecorder
) -> None:
    """With a tiny byte budget an oversized document is sent alone; the service's 413 refuses it."""
    index = AzureSearchIndex.connect(
        ENDPOINT,
        INDEX,
        AzureKeyCredential("k"),
        transport=service.transport,
        retry=SearchRetry(attempts=2, sleep=sleeps),
    )
    index.max_batch_bytes = 4000
    small, huge = document(1), document(2, log_last_error="x" * 10_000)
    original = service.answer

    def refuse_large(request: Any) -> Reply:
        if len(request.body) > 8000:
            return error(413, "The request is too large")
        return original(request)

    service.transport.responder = refuse_large
    with pytest.raises(DocumentsRejected) as caught:
        index.upsert([small, huge])
    assert caught.value.written == [job_id(1)]
    assert list(caught.value.rejected) == [job_id(2)]


def test_a_batch_the_service_finds_too_large_is_sent_again_in_halves(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A 413 on three documents sends them again as 1 + 2, which fit; all three are written."""
    original = service.answer
    service.transport.responder = lambda request: (
        error(413, "Request Entity Too Large") if len(request.body) > 8000 else original(request)
    )
    docs = [document(n, log_last_error="x" * 3000) for n in range(3)]
    assert sorted(index.upsert(docs)) == [job_id(0), job_id(1), job_id(2)]
    sizes = [len(r.json()["value"]) for r in service.transport.of("index")]
    assert sizes == [3, 1, 2]


def test_a_207_answer_retries_the_retryable_keys_and_reports_the_others(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """On 207, keys failing with 503 are sent again alone; a 400 is reported, the rest written."""
    service.fail_keys = {job_id(2): [503], job_id(3): [400]}
    with pytest.raises(DocumentsRejected) as caught:
        index.upsert([document(1), document(2), document(3)])
    first, second = service.transport.of("index")
    assert len(first.json()["value"]) == 3
    assert [a["job_id"] for a in second.json()["value"]] == [job_id(2)]
    assert sorted(caught.value.written) == [job_id(1), job_id(2)]
    assert caught.value.rejected == {job_id(3): f"HTTP 400: Injected failure 400 for {job_id(3)}"}
    assert job_id(3) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert sorted(service.documents) == [job_id(1), job_id(2)]


def test_keys_that_keep_failing_with_409_end_as_a_transient_error(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A version conflict that outlasts the bounded retries raises TransientError, not a hang."""
    service.fail_keys = {job_id(1): [409] * 10}
    with pytest.raises(TransientError, match="not written yet"):
        index.upsert([document(1)])
    assert len(service.transport.of("index")) == 4


def test_throttling_is_retried_after_the_retry_after_the_service_asks_for(
    index: AzureSearchIndex, service: FakeSearchService, sleeps: SleepRecorder
) -> None:
    """A 429 with Retry-After: 2 is retried after exactly 2 s; then the write succeeds."""
    service.script = [throttled("2")]
    assert index.count() == 0
    assert sleeps.waits == [2.0]
    assert len(service.transport.requests) == 2


def test_retry_after_in_milliseconds_and_503_are_honoured_too(
    index: AzureSearchIndex, service: FakeSearchService, sleeps: SleepRecorder
) -> None:
    """503 with retry-after-ms: 150 waits 0.15 s before the retry."""
    service.script = [Reply(503, {"error": {"message": "busy"}}, {"retry-after-ms": "150"})]
    assert index.upsert([document(1)]) == [job_id(1)]
    assert sleeps.waits == [0.15]


def test_a_huge_retry_after_is_capped(
    index: AzureSearchIndex, service: FakeSearchService, sleeps: SleepRecorder
) -> None:
    """A Retry-After of an hour is capped so a worker never sleeps past its own time limit."""
    service.script = [throttled("3600")]
    index.count()
    assert sleeps.waits == [60.0]


def test_throttling_that_persists_becomes_a_transient_error(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """After the bounded attempts a persistent 429 surfaces as TransientError naming the index."""
    service.script = [throttled("0")] * 10
    with pytest.raises(TransientError, match=f"index {INDEX}: HTTP 429"):
        index.count()
    assert len(service.transport.requests) == 4


def test_a_refused_key_is_a_one_line_search_index_error(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A 403 (bad api-key) is permanent: SearchIndexError at once, one line, no retry."""
    service.script = [error(403, "Authorization failed.\nSecond line")]
    with pytest.raises(SearchIndexError, match="not authorized") as caught:
        index.count()
    assert "\n" not in str(caught.value)
    assert len(service.transport.requests) == 1


def test_an_older_document_is_not_sent_over_a_newer_one(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Upsert first reads the batch's versions with search.in, and drops what is older."""
    index.upsert([document(1, updated="2025-12-04T15:00:00.000Z")])
    assert index.upsert([document(1, updated="2025-12-04T14:00:00.000Z")]) == []
    lookup = service.transport.of("search")[-1].json()
    assert lookup["filter"] == f"search.in(job_id, '{job_id(1)}', ',')"
    assert lookup["select"] == "job_id,updated_at,source_version"
    assert len(service.transport.of("index")) == 1
    stored = index.get(job_id(1))
    assert stored is not None
    assert stored["updated_at"] == "2025-12-04T15:00:00.000Z"


def test_the_same_update_time_is_ordered_by_source_version(index: AzureSearchIndex) -> None:
    """With equal updated_at, the larger source_version wins, whatever the arrival order."""
    index.upsert([document(1, version="0002")])
    assert index.upsert([document(1, version="0001")]) == []
    assert index.upsert([document(1, version="0003")]) == [job_id(1)]


def test_find_sends_the_compiled_query_and_converts_the_hits(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """filter, orderby and top reach the body; hits lose @search.*, metrics become dicts."""
    hit = {
        "job_id": job_id(1),
        "created_at": "2025-12-04T14:30:22Z",
        "metrics_last": [{"name": "loss", "value": 0.5}],
    }
    service.script = [search_results(INDEX, [hit], count=1)]
    docs = index.find(Query((Equals("status", ("failed",)),), Sort("cost_usd")), limit=20)
    body = service.transport.requests[0].json()
    assert body == {
        "search": "*",
        "filter": "status eq 'failed'",
        "orderby": "cost_usd desc,created_at desc,job_id desc",
        "top": 20,
        "select": ",".join(f.name for f in FIELDS),
    }
    assert docs == [
        {
            "job_id": job_id(1),
            "created_at": "2025-12-04T14:30:22.000Z",
            "metrics_last": {"loss": 0.5},
        }
    ]


def test_find_follows_the_service_paging_past_1000(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """limit=1500 is served as 1000 + 500 through @search.nextPageParameters."""
    index.upsert([document(n) for n in range(1600)])
    docs = index.find(Query(sort=Sort("created_at", descending=False)), limit=1500)
    assert [d["job_id"] for d in docs] == [job_id(n) for n in range(1500)]


def test_facets_ask_for_every_field_in_one_request_and_read_the_buckets(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """facets sends `field,count:N` per field with top 0 and returns value text → count."""
    service.script = [
        search_results(
            INDEX,
            [],
            facets={
                "use_gpu": [{"value": True, "count": 7}, {"value": False, "count": 2}],
                "tags": [{"value": "experiment=baseline", "count": 5}],
            },
        )
    ]
    query = Query((Equals("user", ("alice",)),))
    assert index.facets(query, ["use_gpu", "tags"], limit=50) == {
        "use_gpu": {"true": 7, "false": 2},
        "tags": {"experiment=baseline": 5},
    }
    (request,) = service.transport.requests
    body = request.json()
    assert body["facets"] == ["use_gpu,count:50", "tags,count:50"]
    assert body["top"] == 0
    assert body["filter"] == "user eq 'alice'"


def test_facets_of_a_field_that_is_not_facetable_are_a_usage_error(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Asking facets of job_id fails before any request, naming the field."""
    with pytest.raises(InvalidInput, match="field 'job_id'"):
        index.facets(Query(), ["job_id"])
    assert service.transport.requests == []


def test_keys_page_by_a_range_filter_on_the_key_never_skip(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """keys() walks 2100 documents in key order with `job_id gt '...'` pages, without $skip."""
    index.upsert([document(n) for n in range(2100)])
    service.transport.requests.clear()
    keys = list(index.keys())
    assert [k for k, _, _ in keys] == [job_id(n) for n in range(2100)]
    assert keys[0][1:] == ("2025-12-04T14:35:23.456Z", "v1")
    bodies = [r.json() for r in service.transport.of("search")]
    assert [b.get("filter") for b in bodies] == [
        None,
        f"job_id gt '{job_id(999)}'",
        f"job_id gt '{job_id(1999)}'",
    ]
    assert all("skip" not in b and b["orderby"] == "job_id asc" for b in bodies)


def test_get_of_a_missing_document_is_none(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A 404 lookup is None; a key the service could never hold is None without a request."""
    assert index.get(job_id(9)) is None
    assert index.get("_not/a key") is None
    (request,) = service.transport.requests
    assert request.path == f"/indexes('{INDEX}')/docs('{job_id(9)}')"


def test_delete_removes_existing_documents_and_counts_them(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """delete() sends delete actions for the keys that exist and returns how many there were."""
    index.upsert([document(1), document(2)])
    assert index.delete([job_id(1), job_id(7)]) == 1
    (action,) = service.transport.of("index")[-1].json()["value"]
    assert action == {"@search.action": "delete", "job_id": job_id(1)}
    assert index.count() == 1


def test_an_invalid_key_is_refused_without_being_sent(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A key with a slash is refused by name; the valid documents of the batch are written."""
    bad = document(1, job_id="bad/key")
    with pytest.raises(DocumentsRejected, match="bad/key") as caught:
        index.upsert([bad, document(2)])
    assert caught.value.written == [job_id(2)]
    sent = [a["job_id"] for r in service.transport.of("index") for a in r.json()["value"]]
    assert sent == [job_id(2)]


def test_the_request_body_is_what_the_sdk_serialized(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """Sanity of the boundary: the recorded body is JSON the service could read."""
    index.upsert([document(1)])
    body = service.transport.of("index")[0].body
    assert json.loads(body)["value"][0]["job_id"] == job_id(1)


def test_settings_without_an_endpoint_are_refused_in_one_line() -> None:
    """from_settings without ASCEND_SEARCH_ENDPOINT says which setting is missing."""
    with pytest.raises(InvalidInput, match="ASCEND_SEARCH_ENDPOINT: is not set"):
        AzureSearchIndex.from_settings(Settings(search_endpoint=None))


def test_a_bad_index_name_is_refused_before_connecting() -> None:
    """An index name with capitals is refused with the rule it breaks."""
    settings = Settings(search_endpoint=ENDPOINT, search_index="Ascend_Jobs", search_api_key="k")
    with pytest.raises(InvalidInput, match="search index name 'Ascend_Jobs'"):
        AzureSearchIndex.from_settings(settings)


def test_indexing_results_helper_speaks_207_when_any_key_failed() -> None:
    """The fake's documented answer: 207 with per-key status when one key failed."""
    reply = indexing_results([("a", 201, None), ("b", 400, "bad")])
    assert reply.status == 207
    assert reply.body["value"][1] == {
        "key": "b",
        "status": False,
        "errorMessage": "bad",
        "statusCode": 400,
    }


def test_a_filter_the_service_refuses_is_a_one_line_search_index_error(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A 400 on a compiled filter surfaces as SearchIndexError carrying the service's reason."""
    service.script.append(error(400, "Invalid expression: Could not find a property named 'x'."))
    with pytest.raises(SearchIndexError, match="HTTP 400: Invalid expression") as caught:
        index.find(Query((Tag("x", "y"),)), limit=10)
    assert "\n" not in str(caught.value)
    assert len(service.transport.requests) == 1


@given(text=st.text())
def test_odata_string_literals_always_read_back_as_the_text(text: str) -> None:
    """Any text, quotes included, becomes one literal whose content unescapes to the text."""
    literal = quote(text)
    inner = literal[1:-1]
    assert literal[0] == literal[-1] == "'"
    assert "'" not in inner.replace("''", "")
    assert inner.replace("''", "'") == text


@given(
    headers=st.dictionaries(
        st.sampled_from(["Retry-After", "retry-after-ms", "x-ms-retry-after-ms", "Other"]),
        st.text(),
    )
)
def test_any_retry_after_header_gives_a_wait_or_none_never_an_error(
    headers: dict[str, str],
) -> None:
    """Whatever a proxy puts in Retry-After, the adapter reads a non-negative wait or None."""
    wait = retry_after_seconds(headers)
    assert wait is None or wait >= 0


def test_a_document_that_is_not_json_is_refused_and_the_others_written(
    index: AzureSearchIndex, service: FakeSearchService
) -> None:
    """A metric that is not a number is refused by key with the reason; no crash, no loss."""
    with pytest.raises(DocumentsRejected, match="cannot be sent as JSON") as caught:
        index.upsert([document(1, metrics_last={"loss": "high"}), document(2)])
    assert caught.value.written == [job_id(2)]
    assert list(caught.value.rejected) == [job_id(1)]


def test_a_document_without_a_key_is_refused_by_the_key_rule(index: AzureSearchIndex) -> None:
    """A document missing job_id is refused by saying so, not with a KeyError."""
    keyless = document(1)
    del keyless["job_id"]
    with pytest.raises(DocumentsRejected, match="without a string job_id"):
        index.upsert([keyless])
