"""`BlobStore` in memory: the port's own test double, for handler tests that need no Azurite.

It passes the same contract suite as the Azure Blob adapter (tests/integration/
test_blob_store_contract.py): etags change on every write, conditions (`if_etag`, `if_tags`,
`create_only`, `at_offset`) fail as storage fails them, tags go with a write, Archive blobs
cannot be read, append blobs take no tier. Tag conditions are the subset the code sends:
`"key" op 'value'` clauses joined by AND (op one of = <> > >= < <=); a missing tag compares as
''. Safe to share between threads.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.errors import BlobArchived, BlobExists, BlobNotFound, PreconditionFailed, StorageError
from shared.ports import Blob, BlobProps

_CLAUSE = re.compile(r"\s*\"([^\"]+)\"\s*(<>|>=|<=|=|>|<)\s*'((?:[^']|'')*)'\s*")
_COMPARE = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def tags_match(expression: str, tags: Mapping[str, str]) -> bool:
    """Whether `tags` satisfy a blob-tag condition (`"retain" <> 'true' AND ...`)."""
    for clause in re.split(r"\s+AND\s+", expression.strip(), flags=re.IGNORECASE):
        found = _CLAUSE.fullmatch(clause)
        if found is None:
            raise StorageError("(tag condition)", f"cannot evaluate {clause!r}")
        key, op, value = found.group(1), found.group(2), found.group(3).replace("''", "'")
        if not _COMPARE[op](tags.get(key, ""), value):
            return False
    return True


class MemoryBlobStore:
    """One container of blobs held in a dict."""

    def __init__(self) -> None:
        self._blobs: dict[str, Blob] = {}
        self._lock = threading.RLock()
        self._etags = itertools.count(1)
        self._epoch = datetime(2026, 1, 1, tzinfo=UTC)

    # ---- reading -------------------------------------------------------------------------

    def read(self, name: str, *, max_bytes: int | None = None) -> Blob:
        blob = self._readable(name)
        if max_bytes is not None and blob.props.size > max_bytes:
            raise StorageError(name, f"is {blob.props.size} bytes, over the {max_bytes} allowed")
        return blob

    def read_chunks(
        self,
        name: str,
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = 4 << 20,
        verify_ranges: bool = True,
    ) -> Iterator[bytes]:
        data = self._readable(name).data
        end = len(data) if length is None else min(len(data), offset + length)
        for start in range(offset, end, chunk_size):
            yield data[start : min(start + chunk_size, end)]

    def props(self, name: str, *, with_tags: bool = False) -> BlobProps | None:
        with self._lock:
            blob = self._blobs.get(name)
        if blob is None:
            return None
        return blob.props if with_tags else replace(blob.props, tags=None)

    def list(self, prefix: str, *, with_tags: bool = False) -> Iterator[BlobProps]:
        with self._lock:
            names = sorted(n for n in self._blobs if n.startswith(prefix))
        for name in names:
            props = self.props(name, with_tags=with_tags)
            if props is not None:
                yield props

    def list_names(self, prefix: str) -> Iterator[str]:
        yield from (p.name for p in self.list(prefix))

    def walk(self, prefix: str, delimiter: str = "/") -> Iterator[str]:
        seen: set[str] = set()
        for name in self.list_names(prefix):
            head, cut, _ = name[len(prefix) :].partition(delimiter)
            entry = prefix + head + (delimiter if cut else "")
            if entry not in seen:
                seen.add(entry)
                yield entry

    def get_tags(self, name: str) -> dict[str, str]:
        return dict(self._existing(name).props.tags or {})

    def find_by_tags(self, expression: str) -> Iterator[str]:
        with self._lock:
            blobs = sorted(self._blobs.items())
        yield from (n for n, b in blobs if b.props.tags and tags_match(expression, b.props.tags))

    # ---- writing -------------------------------------------------------------------------

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
        content = data if isinstance(data, bytes) else b"".join(data)
        with self._lock:
            self._check_write(name, if_etag=if_etag, create_only=create_only)
            props = self._new_props(
                name,
                len(content),
                tags=tags,
                metadata=metadata,
                content_type=content_type,
                content_encoding=content_encoding,
                content_md5=hashlib.md5(content, usedforsecurity=False).digest(),
            )
            self._blobs[name] = Blob(content, props)
            return props

    def create_append(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        create_only: bool = True,
    ) -> BlobProps:
        with self._lock:
            self._check_write(name, if_etag=None, create_only=create_only)
            props = self._new_props(
                name,
                0,
                tags=tags,
                metadata=metadata,
                content_type=content_type,
                blob_type="AppendBlob",
                tier=None,
            )
            self._blobs[name] = Blob(b"", props)
            return props

    def append(self, name: str, data: bytes, *, at_offset: int | None = None) -> int:
        with self._lock:
            blob = self._existing(name)
            if blob.props.blob_type != "AppendBlob":
                raise StorageError(name, "is not an append blob")
            if at_offset is not None and at_offset != blob.props.size:
                raise PreconditionFailed(name, "condition not met (AppendPositionConditionNotMet)")
            content = blob.data + data
            self._blobs[name] = Blob(content, self._changed(blob.props, size=len(content)))
            return len(content)

    def delete(self, name: str, *, if_etag: str | None = None, if_tags: str | None = None) -> bool:
        with self._lock:
            blob = self._blobs.get(name)
            if blob is None:
                return False
            self._check_conditions(blob, if_etag=if_etag, if_tags=if_tags)
            del self._blobs[name]
            return True

    def set_tier(
        self,
        name: str,
        tier: str,
        *,
        if_tags: str | None = None,
        rehydrate_priority: str | None = None,
    ) -> None:
        # Rehydration is immediate here (hours in Azure; Azurite is immediate too).
        with self._lock:
            blob = self._existing(name)
            self._check_conditions(blob, if_etag=None, if_tags=if_tags)
            if blob.props.blob_type != "BlockBlob":
                raise StorageError(name, "tiers apply to block blobs only")
            self._blobs[name] = Blob(blob.data, replace(blob.props, tier=tier))

    def set_tags(self, name: str, tags: Mapping[str, str], *, if_tags: str | None = None) -> None:
        with self._lock:
            blob = self._existing(name)
            self._check_conditions(blob, if_etag=None, if_tags=if_tags)
            self._blobs[name] = Blob(blob.data, replace(blob.props, tags=dict(tags)))

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
        with self._lock:
            blob = self._readable(source)
            expected = if_etag or (source_props.etag if source_props else None)
            if expected is not None and _unquoted(expected) != blob.props.etag:
                raise PreconditionFailed(source, "changed since it was read")
            return self.write(
                destination,
                blob.data,
                tags=tags,
                metadata=metadata if metadata is not None else blob.props.metadata,
                content_type=content_type or blob.props.content_type,
            )

    # ---- internals -----------------------------------------------------------------------

    def _existing(self, name: str) -> Blob:
        with self._lock:
            blob = self._blobs.get(name)
        if blob is None:
            raise BlobNotFound(name, "does not exist")
        return blob

    def _readable(self, name: str) -> Blob:
        blob = self._existing(name)
        if blob.props.tier == "Archive":
            raise BlobArchived(name, "is archived and cannot be read until rehydrated")
        return blob

    def _check_write(self, name: str, *, if_etag: str | None, create_only: bool) -> None:
        current = self._blobs.get(name)
        if create_only and current is not None:
            raise BlobExists(name, "already exists")
        if if_etag is not None and (current is None or current.props.etag != _unquoted(if_etag)):
            raise PreconditionFailed(name, "condition not met (ConditionNotMet)")

    def _check_conditions(self, blob: Blob, *, if_etag: str | None, if_tags: str | None) -> None:
        name = blob.props.name
        if if_etag is not None and blob.props.etag != _unquoted(if_etag):
            raise PreconditionFailed(name, "condition not met (ConditionNotMet)")
        if if_tags is not None and not tags_match(if_tags, blob.props.tags or {}):
            raise PreconditionFailed(name, "condition not met (ConditionNotMet)")

    def _stamp(self) -> tuple[str, datetime]:
        n = next(self._etags)
        return f"0x{n:016X}", self._epoch + timedelta(milliseconds=n)

    def _new_props(
        self,
        name: str,
        size: int,
        *,
        tags: Mapping[str, str] | None,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        content_encoding: str | None = None,
        content_md5: bytes | None = None,
        blob_type: str = "BlockBlob",
        tier: str | None = "Hot",
    ) -> BlobProps:
        etag, moment = self._stamp()
        return BlobProps(
            name=name,
            size=size,
            etag=etag,
            last_modified=moment,
            blob_type=blob_type,
            tier=tier,
            content_type=content_type,
            content_encoding=content_encoding,
            content_md5=content_md5,
            metadata=dict(metadata or {}),
            tags=dict(tags or {}),
            created_at=moment,
        )

    def _changed(self, props: BlobProps, *, size: int) -> BlobProps:
        etag, moment = self._stamp()
        return replace(props, size=size, etag=etag, last_modified=moment)


def _unquoted(etag: str) -> str:
    return etag.strip('"')
