"""What the Azure AI Search adapter sends and reads, as pure functions and values.

The index definition generated from `shared.documents.FIELDS` (so the embedded SQLite index and
this one cannot drift apart); documents converted to the service's shape and back (`metrics_last`,
a `{name: number}` dict in documents, is a `Collection(Edm.ComplexType)` of `{name, value}`
there, and times come back in the documents' one text form); Index Documents requests encoded
once and cut into batches within the service's limits (1000 documents, 16 MB, measured on the
exact bytes sent). No I/O: `shared.adapters.azure_search` sends them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from azure.search.documents.indexes.models import (
    ComplexField,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
)

from shared.adapters.odata_query import quote
from shared.documents import (
    FIELD_BY_NAME,
    FIELDS,
    KEY_FIELD,
    FieldType,
    SearchDocument,
    as_document,
    empty_document,
    format_datetime,
    parse_datetime,
)
from shared.errors import InvalidInput

T = TypeVar("T")

API_VERSION = "2026-04-01"  # the SDK's default, pinned so an SDK upgrade cannot move it silently
MAX_BATCH_DOCUMENTS = 1000
MAX_BATCH_BYTES = 16_000_000  # "16 MB" per request, read as the smaller decimal megabytes
MAX_PAGE = 1000  # results per search request
MAX_FACET_VALUES = 10_000  # values read to resolve a specifier or `tag:key`
RETRYABLE_DOCUMENT_STATUS = frozenset({409, 422, 503})  # per-key statuses of a 207 worth retrying
_KEY = re.compile(r"(?!_)[A-Za-z0-9_\-=]{1,1024}")
_INDEX_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{0,126}[a-z0-9]|[a-z0-9]")
_EDM = {
    FieldType.STRING: SearchFieldDataType.STRING,
    FieldType.DATETIME: SearchFieldDataType.DATE_TIME_OFFSET,
    FieldType.BOOL: SearchFieldDataType.BOOLEAN,
    FieldType.INT: SearchFieldDataType.INT64,
    FieldType.FLOAT: SearchFieldDataType.DOUBLE,
}
# Numeric fields are facetable here whatever `FIELDS` says: facet metrics (`cost_usd,metric:sum`)
# only read facetable fields, and every numeric field may be a `Measure` of `aggregate`.
_METRIC_TYPES = frozenset({SearchFieldDataType.INT64, SearchFieldDataType.DOUBLE})
VERSION_FIELDS = [KEY_FIELD, "updated_at", "source_version"]
BAD_KEY = (
    "is not a valid Azure AI Search key (letters, digits, '-', '_', '=', not starting "
    "with '_', at most 1024)"
)


@dataclass(frozen=True, slots=True)
class IndexingResult:
    """One key's outcome in an Index Documents answer (200, or 207 Multi-Status)."""

    key: str
    succeeded: bool
    status_code: int
    error_message: str | None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> IndexingResult:
        return cls(
            str(item["key"]),
            bool(item["status"]),
            int(item["statusCode"]),
            item.get("errorMessage"),
        )


# ---- the index definition ------------------------------------------------------------


def index_definition(name: str) -> SearchIndex:
    """The Azure AI Search index of `FIELDS`, with only attribute combinations the service takes."""
    return SearchIndex(name=check_index_name(name), fields=[_field(f) for f in FIELDS])


def index_definition_body(name: str) -> dict[str, Any]:
    """The index definition as the REST API's JSON body (Create or Update Index)."""
    return dict(index_definition(name).as_dict())


def check_index_name(name: str) -> str:
    """`name` if the service accepts it as an index name, else `InvalidInput` saying why."""
    if not _INDEX_NAME.fullmatch(name):
        raise InvalidInput(
            f"search index name {name!r}",
            "must be 1-128 lowercase letters, "
            "digits or single dashes, starting and ending with a letter or digit",
        )
    return name


def is_valid_key(key: object) -> bool:
    """Whether the service takes `key` as a document key (letters, digits, `-_=`, no `_` first)."""
    return isinstance(key, str) and bool(_KEY.fullmatch(key))


def _field(spec: Any) -> SearchField:
    if spec.type is FieldType.METRICS:
        return ComplexField(
            name=spec.name,
            collection=True,
            fields=[
                SimpleField(name="name", type=SearchFieldDataType.STRING, filterable=True),
                SimpleField(name="value", type=SearchFieldDataType.DOUBLE, filterable=True),
            ],
        )
    edm = _EDM.get(spec.type, SearchFieldDataType.STRING)
    return SearchField(
        name=spec.name,
        type=f"Collection({edm.value})" if spec.is_collection else edm.value,
        key=spec.key,
        searchable=spec.searchable and edm is SearchFieldDataType.STRING,
        filterable=spec.filterable or spec.key,
        sortable=spec.sortable and not spec.is_collection,
        facetable=spec.facetable or edm in _METRIC_TYPES,
        retrievable=True,
    )


# ---- document conversion -------------------------------------------------------------


def to_azure(doc: SearchDocument) -> dict[str, Any]:
    """A full document as the service stores it: every field present, metrics as a collection."""
    full: dict[str, Any] = dict(empty_document(doc[KEY_FIELD]))
    full.update({k: v for k, v in doc.items() if k in FIELD_BY_NAME})
    for spec in FIELDS:
        if spec.type is FieldType.STRINGS and full[spec.name] is None:
            full[spec.name] = []
    metrics = full.get("metrics_last") or {}
    full["metrics_last"] = [{"name": str(k), "value": float(v)} for k, v in metrics.items()]
    return full


def from_azure(raw: Mapping[str, Any]) -> SearchDocument:
    """A document as the port returns it, from a search result or lookup (`@search.*` dropped)."""
    return as_document(
        {
            name: _value_from_azure(FIELD_BY_NAME[name].type, value)
            for name, value in raw.items()
            if name in FIELD_BY_NAME
        }
    )


def _value_from_azure(kind: FieldType, value: Any) -> Any:
    if kind is FieldType.METRICS:
        return {item["name"]: item["value"] for item in value or ()}
    if kind is FieldType.STRINGS:
        return list(value or ())
    if kind is FieldType.DATETIME and value is not None:
        return format_datetime(parse_datetime(str(value)))
    return value


def version_of(doc: Mapping[str, Any]) -> tuple[str, str]:
    """(updated_at, source_version) in comparable text form: what "never older" compares."""
    updated = doc.get("updated_at")
    if updated:
        try:
            updated = format_datetime(parse_datetime(str(updated)))
        except ValueError:
            updated = str(updated)  # the service refuses it on write, per document
    return (updated or "", doc.get("source_version") or "")


def newest_per_key(docs: Sequence[SearchDocument]) -> dict[str, SearchDocument]:
    """One document per key: the newest by `version_of` (the later one wins a tie)."""
    latest: dict[str, SearchDocument] = {}
    for doc in docs:
        key = doc.get(KEY_FIELD)
        if not isinstance(key, str):
            continue  # counted as refused by the caller
        if key not in latest or version_of(doc) >= version_of(latest[key]):
            latest[key] = doc
    return latest


@dataclass(frozen=True, slots=True)
class IndexAction:
    """One indexing action, already encoded: its bytes are exactly what the request carries."""

    key: str
    body: bytes

    @classmethod
    def of(cls, kind: str, doc: Mapping[str, Any]) -> IndexAction:
        return cls(str(doc[KEY_FIELD]), orjson.dumps({"@search.action": kind, **doc}))


_ENVELOPE = (b'{"value":[', b"]}")


def request_body(batch: Sequence[IndexAction]) -> bytes:
    """The Index Documents request body of `batch`."""
    return _ENVELOPE[0] + b",".join(a.body for a in batch) + _ENVELOPE[1]


def batches(
    actions: Sequence[IndexAction],
    *,
    max_documents: int = MAX_BATCH_DOCUMENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[IndexAction]]:
    """`actions` cut into requests within both limits, in order, measured on the exact bytes
    sent. An action too large on its own is its own batch (the service then refuses it, 413)."""
    empty = len(_ENVELOPE[0]) + len(_ENVELOPE[1])
    batch: list[IndexAction] = []
    size = empty
    for action in actions:
        needed = len(action.body) + (1 if batch else 0)  # the comma before it
        if batch and (len(batch) >= max_documents or size + needed > max_bytes):
            yield batch
            batch, size, needed = [], empty, len(action.body)
        batch.append(action)
        size += needed
    if batch:
        yield batch


def keys_in_filter(keys: Sequence[str]) -> str:
    """`search.in(job_id, 'a,b,c', ',')`: valid keys never hold a comma or a quote."""
    return f"search.in({KEY_FIELD}, {quote(','.join(keys))}, ',')"


def encode_all(docs: Sequence[SearchDocument]) -> tuple[list[IndexAction], dict[str, str]]:
    """The mergeOrUpload actions of `docs`, and the reason of each that cannot be encoded."""
    actions: list[IndexAction] = []
    refused: dict[str, str] = {}
    for doc in docs:
        try:
            actions.append(IndexAction.of("mergeOrUpload", to_azure(doc)))
        except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
            refused[doc[KEY_FIELD]] = f"cannot be sent as JSON: {exc}"
    return actions, refused


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
