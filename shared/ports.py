"""The ports: what the handlers need from blob storage and from the search index.

Adapters (`shared.adapters.*`) implement them over Azure Blob Storage / Azurite, SQLite and Azure
AI Search; handlers take them as arguments and never import an SDK. The search index is asked in
one language, the query tree of `shared.querytree`; each adapter compiles it its own way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.documents import JsonDocument, SearchDocument
from shared.querytree import Measure, Query


@dataclass(frozen=True, slots=True)
class BlobProps:
    """What storage says about one blob (from a listing, a read or a write)."""

    name: str
    size: int
    etag: str  # without quotes
    last_modified: datetime
    blob_type: str = "BlockBlob"  # BlockBlob | AppendBlob | PageBlob
    tier: str | None = None  # Hot | Cool | Cold | Archive (None: not reported)
    content_type: str | None = None
    content_encoding: str | None = None
    content_md5: bytes | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] | None = None  # None: not fetched
    tag_count: int | None = None  # index tags on the blob, as a read reports it (None: unknown)
    created_at: datetime | None = None
    sealed: bool = False


@dataclass(frozen=True, slots=True)
class Blob:
    """A blob's bytes with its properties."""

    data: bytes
    props: BlobProps


class BlobStore(Protocol):
    """One container of blob storage."""

    def read(self, name: str, *, max_bytes: int | None = None) -> Blob:
        """The whole blob, checksum-verified; `StorageError` if larger than `max_bytes`."""
        ...

    def read_chunks(
        self,
        name: str,
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = 4 << 20,
        verify_ranges: bool = True,
    ) -> Iterator[bytes]:
        """The blob's bytes from `offset`, streamed in chunks (never loaded whole).
        `verify_ranges=False`: bigger ranges without a per-range MD5 (a whole read is still
        checked against Content-MD5)."""
        ...

    def props(self, name: str, *, with_tags: bool = False) -> BlobProps | None:
        """Properties (and tags if asked), or None when the blob does not exist."""
        ...

    def write(
        self,
        name: str,
        data: bytes | Iterable[bytes],
        *,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        if_etag: str | None = None,
        create_only: bool = False,
    ) -> BlobProps:
        """Upload a block blob with an MD5 checksum. `create_only` fails with `BlobExists` if
        present; `if_etag` fails with `PreconditionFailed` if the blob changed."""
        ...

    def create_append(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        create_only: bool = True,
    ) -> BlobProps: ...

    def append(self, name: str, data: bytes, *, at_offset: int | None = None) -> int:
        """Append a block; `at_offset` makes it conditional. Returns the blob's new size."""
        ...

    def delete(self, name: str, *, if_etag: str | None = None, if_tags: str | None = None) -> bool:
        """Delete the blob (and its snapshots); False if it was already gone."""
        ...

    def list(self, prefix: str, *, with_tags: bool = False) -> Iterator[BlobProps]: ...

    def list_names(self, prefix: str) -> Iterator[str]: ...

    def walk(self, prefix: str, delimiter: str = "/") -> Iterator[str]:
        """Names of the blobs and virtual folders (ending in `/`) directly under `prefix`."""
        ...

    def set_tier(
        self,
        name: str,
        tier: str,
        *,
        if_tags: str | None = None,
        rehydrate_priority: str | None = None,
    ) -> None:
        """Set the access tier; from Archive, `rehydrate_priority` (Standard, High) starts the
        rehydration, which takes hours in Azure."""
        ...

    def get_tags(self, name: str) -> dict[str, str]: ...

    def set_tags(
        self, name: str, tags: Mapping[str, str], *, if_tags: str | None = None
    ) -> None: ...

    def find_by_tags(self, expression: str) -> Iterator[str]:
        """Names of the container's blobs whose index tags match (`"retain"='true' AND ...`)."""
        ...

    def copy_to_block_blob(
        self,
        source: str,
        destination: str,
        *,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        if_etag: str | None = None,
        source_props: BlobProps | None = None,
    ) -> BlobProps:
        """Server-side copy of `source` (any blob type) into a block blob at `destination`.
        `if_etag` makes it fail with `PreconditionFailed` if the source changed meanwhile;
        `source_props` (the source as the caller just listed it) spares a request."""
        ...


class SearchIndex(Protocol):
    """The search index of job documents (embedded SQLite, or Azure AI Search).

    Queries are trees (`shared.querytree.Query`), with times already bound (no `Relative`).
    Facet values are texts (`"true"`, `"3.11"`); a collection field (`tags`, `packages`)
    counts each job once under each of its values.
    """

    def ensure(self) -> None:
        """Create the index (schema) if it does not exist; idempotent."""
        ...

    def upsert(self, documents: Sequence[SearchDocument]) -> list[str]:
        """Insert or replace; a document only replaces one whose (updated_at, source_version) is
        not newer. Returns the keys that were written (older ones are skipped)."""
        ...

    def get(self, job_id: str) -> SearchDocument | None: ...

    def delete(self, job_ids: Sequence[str]) -> int: ...

    def keys(self) -> Iterator[tuple[str, str | None, str | None]]:
        """(job_id, updated_at, source_version) of every document."""
        ...

    def find(self, query: Query, *, limit: int) -> list[SearchDocument]:
        """Up to `limit` documents matching `query`, in its sort (ties: created_at, job_id);
        the next page is asked with an `After` term (`shared.querytree.after_document`)."""
        ...

    def find_json(self, query: Query, *, limit: int) -> list[JsonDocument]:
        """`find`, each document as its JSON text, made by the index itself where it can (no
        document is decoded and encoded again in Python on the way to a caller)."""
        ...

    def find_rows(
        self, query: Query, fields: Sequence[str], *, limit: int
    ) -> list[tuple[Any, ...]]:
        """`find`, each document as the tuple of its `fields` only, typed as in a document
        (booleans, lists; a missing value None): for callers that read a few fields of many
        jobs (the retention sweep's candidates) without building whole documents."""
        ...

    def count(self, query: Query | None = None) -> int:
        """How many documents match `query` (all of them when None)."""
        ...

    def facets(
        self, query: Query, fields: Sequence[str], *, limit: int = 100
    ) -> dict[str, dict[str, int]]:
        """`{field: {value: jobs}}` among the documents matching `query`: at most `limit`
        values per field, most jobs first. Fields must be facetable."""
        ...

    def aggregate(
        self, query: Query, group_by: Sequence[str], measures: Sequence[Measure] = ()
    ) -> list[dict[str, Any]]:
        """One row per group of `group_by` values among the documents matching `query`: the
        group's field values, `count` (jobs) and each measure under `Measure.name`; most jobs
        first. `Unsupported` when the backend cannot compute a measure."""
        ...

    def set_tier(self, job_ids: Sequence[str], tier: str) -> int:
        """Record the access tier a job's log has reached; returns the documents changed."""
        ...


Seen = tuple[str, str]  # a handled blob version: (etag, last-modified ISO)


class Checkpoint(Protocol):
    """The local worker's record of the blob versions it has handled (`ascend pipeline run`)."""

    def count(self) -> int: ...

    def get(self, names: Sequence[str]) -> dict[str, Seen]:
        """The recorded versions of those of `names` that have one."""
        ...

    def between(self, after: str | None, upto: str | None) -> Iterator[tuple[str, Seen]]:
        """Recorded blobs with `after` < name <= `upto` (None: unbounded), in name order."""
        ...

    def under(self, prefix: str) -> dict[str, Seen]:
        """Recorded blobs whose name starts with `prefix`."""
        ...

    def record(self, handled: Iterable[tuple[str, Seen | None]]) -> None:
        """Store each blob's handled version (None: the blob is gone, forget it)."""
        ...

    def owners(self) -> list[tuple[str, str]]:
        """Every (project, user) whose job folders held a handled blob."""
        ...

    def close(self) -> None: ...
