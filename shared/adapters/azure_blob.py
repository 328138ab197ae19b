"""`BlobStore` over `azure-storage-blob`, for Azure Blob Storage and Azurite alike.

Transient failures (timeouts, connection resets, 408/429/500/502/503/504) are retried here with
tenacity, bounded and jittered, or after the answer's Retry-After when it carries one (503
ServerBusy when the account or a partition is past its scalability target); the SDK's own retry
policy is switched off so that a request is never retried twice over. Everything else is
translated at once, in `_translate`, into the `shared.errors` tree with the blob's name in the
message.

Integrity: uploads send an MD5 per request and store the whole blob's MD5 as Content-MD5; reads
verify both. Azurite facts that shape this: the client pins `api_version` to one Azurite accepts,
and an overwrite clears metadata and index tags, so every write sends them again.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobProperties,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
    generate_blob_sas,
)

# Put Block From URL's source conditions have no keyword of their own in the client (unlike Copy
# Blob's `source_etag`); the generated model goes through its `**kwargs` to the request.
from azure.storage.blob._generated.models import SourceModifiedAccessConditions

from shared.adapters.azure_retry import (
    TRANSIENT_STATUS,
    AzureRetry,
    Throttled,
    first_line,
    retry_after_seconds,
)
from shared.errors import (
    BlobArchived,
    BlobExists,
    BlobNotFound,
    InvalidInput,
    NotSignedIn,
    PreconditionFailed,
    StorageAbsent,
    StorageError,
    StorageUnreachable,
    TransientError,
)
from shared.listing import ListingIncomplete, ListingMemory, Narrowing
from shared.ports import Blob, BlobProps
from shared.settings import Settings

T = TypeVar("T")
COPY_BLOCK_SIZE = 64 << 20
UPLOAD_BLOCK_SIZE = 8 << 20


@dataclass(frozen=True, slots=True)
class RetryPolicy(AzureRetry):
    """The blob store's retry bounds (`AzureRetry`'s defaults)."""


class AzureBlobStore:
    """One container, through the real Azure SDK client."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        retry: RetryPolicy | None = None,
        account_key: str | None = None,
    ) -> None:
        self.container = container
        self.retry = retry or RetryPolicy()
        self._account_key = account_key
        self._delegation: tuple[Any, datetime] | None = None
        self._listing_memory = ListingMemory()
        # Narrowing a failed listing probes many prefixes, most of which fail the same way for
        # good (a bad name, not a busy service): one retry each, not the full policy.
        self._probe_retry = replace(self.retry, attempts=min(2, self.retry.attempts))

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def from_settings(
        cls, settings: Settings, *, retry: RetryPolicy | None = None, **client_options: Any
    ) -> AzureBlobStore:
        """Connect by connection string, or by account URL with `DefaultAzureCredential`."""
        options: dict[str, Any] = {
            "retry_total": 0,  # tenacity retries, once, here
            "connection_timeout": 10,
            "read_timeout": 60,
            **client_options,
        }
        if settings.storage_api_version:
            options["api_version"] = settings.storage_api_version
        service, key = _service_client(settings, options)
        return cls(service.get_container_client(settings.container), retry=retry, account_key=key)

    def ensure_container(self) -> None:
        """Create the container if it is missing."""

        def create() -> None:
            with contextlib.suppress(ResourceExistsError):
                self.container.create_container()

        self._call(self.container.container_name, create)

    # ---- reading -----------------------------------------------------------------------------

    def read(self, name: str, *, max_bytes: int | None = None) -> Blob:
        def download() -> Blob:
            # The bytes as stored, checked against the whole blob's Content-MD5 (every block blob
            # we write has one). Not the SDK's per-request MD5: the HTTP layer decodes a
            # `Content-Encoding: gzip` body before the SDK hashes it, so that check fails on
            # compressed logs, and with `decompress=False` it returns no bytes at all.
            blob = self._blob(name)
            length = None if max_bytes is None else max_bytes + 1
            ranged = length is not None
            try:
                stream = blob.download_blob(
                    offset=0 if ranged else None,
                    length=length,
                    validate_content=False,
                    decompress=False,
                    max_concurrency=1,
                )
            except HttpResponseError as exc:
                if not ranged or exc.status_code != HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
                    raise
                # An empty blob has no byte 0 to range over: read it whole (it is empty).
                stream = blob.download_blob(
                    validate_content=False, decompress=False, max_concurrency=1
                )
            data = stream.readall()
            props = _props(name, stream.properties)
            if max_bytes is not None and (len(data) > max_bytes or props.size > max_bytes):
                # A range read reports the range's size; the blob's is after the `/`.
                total = _total_size(stream.properties, len(data))
                raise StorageError(name, f"is {total} bytes, over the {max_bytes} allowed")
            _verify_md5(name, data, props)
            return Blob(data, props)

        return self._call(name, download)

    def read_chunks(
        self,
        name: str,
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = 4 << 20,
        verify_ranges: bool = True,
    ) -> Iterator[bytes]:
        # Range reads of at most 4 MiB carry a transactional MD5 each; each range is retried on
        # its own, so a dropped connection resumes where it stopped instead of starting over.
        # `verify_ranges=False` (bulk streaming, e.g. big logs) reads ranges of `chunk_size` with
        # no transactional MD5 (several times faster); a whole-blob read is still checked
        # against the stored Content-MD5 at the end, as for Content-Encoding blobs below.
        if verify_ranges:
            chunk_size = min(chunk_size, 4 << 20)
        props = self.props(name)
        if props is None:
            raise BlobNotFound(name, "does not exist")
        end = props.size if length is None else min(props.size, offset + length)
        # The SDK cannot validate ranges of a Content-Encoding blob (it hashes the decoded body):
        # such blobs are read as stored and checked against the whole blob's MD5 at the end.
        encoded = bool(props.content_encoding) or not verify_ranges
        complete = offset == 0 and end == props.size
        # Hash only when there is a stored MD5 to compare with (append blobs have none).
        whole = hashlib.md5() if encoded and complete and props.content_md5 else None  # noqa: S324

        def fetch(start: int, size: int) -> bytes:
            return (
                self._blob(name)
                .download_blob(
                    offset=start,
                    length=size,
                    validate_content=not encoded,
                    decompress=not encoded,
                    max_concurrency=1,
                )
                .readall()
            )

        position = offset
        while position < end:
            size = min(chunk_size, end - position)
            data = self._call(name, functools.partial(fetch, position, size))
            if not data:
                break
            position += len(data)
            if whole is not None:
                whole.update(data)
            yield data
        if whole is not None and props.content_md5 and whole.digest() != props.content_md5:
            raise StorageError(name, "checksum mismatch: bytes read do not hash to the stored MD5")

    def props(self, name: str, *, with_tags: bool = False) -> BlobProps | None:
        def fetch() -> BlobProps | None:
            blob = self._blob(name)
            try:
                raw = blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
            tags = blob.get_blob_tags() if with_tags else None
            return _props(name, raw, tags)

        return self._call(name, fetch)

    def list(self, prefix: str, *, with_tags: bool = False) -> Iterator[BlobProps]:
        # A page that fails for good (one bad blob name makes Azurite answer 500) is narrowed
        # around (`shared.listing`): the rest is still listed, then `ListingIncomplete` names
        # what was skipped.
        include = ["metadata", "tags"] if with_tags else ["metadata"]

        def flat(start: str, probe: bool) -> Iterator[BlobProps]:
            pages = self.container.list_blobs(name_starts_with=start, include=include).by_page()
            yield from self._paged(
                start,
                pages,
                lambda b: _props(b.name, b, (b.tags or {}) if with_tags else None),
                retry=self._probe_retry if probe else None,
            )

        def children(start: str) -> Iterator[str]:
            pages = self.container.walk_blobs(name_starts_with=start, delimiter="/").by_page()
            yield from self._paged(start, pages, lambda i: i.name, retry=self._probe_retry)

        narrowing = Narrowing[BlobProps](
            flat=flat,
            children=children,
            one=lambda name: self.props(name, with_tags=with_tags),
            name_of=lambda p: p.name,
            memory=self._listing_memory,
        )
        yield from narrowing.run(prefix)
        if narrowing.skipped:
            raise ListingIncomplete(prefix, narrowing.skipped)

    def list_names(self, prefix: str) -> Iterator[str]:
        pages = self.container.list_blob_names(name_starts_with=prefix).by_page()
        yield from self._paged(prefix, pages, lambda n: n)

    def walk(self, prefix: str, delimiter: str = "/") -> Iterator[str]:
        pages = self.container.walk_blobs(name_starts_with=prefix, delimiter=delimiter).by_page()
        yield from self._paged(prefix, pages, lambda item: item.name)

    def find_by_tags(self, expression: str) -> Iterator[str]:
        where = f"@container='{self.container.container_name}' AND {expression}"
        pages = self.container.find_blobs_by_tags(where).by_page()
        yield from self._paged(expression, pages, lambda b: b.name)

    def get_tags(self, name: str) -> dict[str, str]:
        return self._call(name, lambda: dict(self._blob(name).get_blob_tags()))

    # ---- writing -----------------------------------------------------------------------------

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
        conditions = _conditions(if_etag, create_only)
        if isinstance(data, bytes | bytearray | memoryview):
            payload = bytes(data)
            settings = ContentSettings(
                content_type=content_type,
                content_encoding=content_encoding,
                content_md5=bytearray(hashlib.md5(payload, usedforsecurity=False).digest()),
            )
            response = self._call(
                name,
                lambda: self._blob(name).upload_blob(
                    payload,
                    overwrite=not create_only,
                    validate_content=True,
                    max_concurrency=1,
                    content_settings=settings,
                    metadata=dict(metadata or {}),
                    tags=dict(tags or {}),
                    **conditions,
                ),
            )
            size = len(payload)
        else:
            settings = ContentSettings(content_type=content_type, content_encoding=content_encoding)
            response, size = self._upload_blocks(
                name, data, tags=tags, metadata=metadata, settings=settings, conditions=conditions
            )
        # The props of *this* write, from its response: a second request could see another
        # writer's etag, and a conditional update chained on it would overwrite that writer.
        return _written_props(name, response, size, settings, metadata, tags)

    def _upload_blocks(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        tags: Mapping[str, str] | None,
        metadata: Mapping[str, str] | None,
        settings: ContentSettings,
        conditions: dict[str, Any],
    ) -> tuple[dict[str, Any], int]:
        """Stream chunks as staged blocks, then commit them with the whole blob's MD5; the
        commit's response and the blob's size."""
        digest = hashlib.md5()  # noqa: S324 - Content-MD5 is what Azure stores and checks
        blocks: list[BlobBlock] = []
        size = 0
        for block in _rebuffer(chunks, UPLOAD_BLOCK_SIZE):
            digest.update(block)
            size += len(block)
            block_id = _block_id()
            self._call(
                name,
                functools.partial(
                    self._blob(name).stage_block, block_id, block, validate_content=True
                ),
            )
            blocks.append(BlobBlock(block_id=block_id))
        settings.content_md5 = bytearray(digest.digest())
        response = self._call(
            name,
            lambda: self._blob(name).commit_block_list(
                blocks,
                content_settings=settings,
                metadata=dict(metadata or {}),
                tags=dict(tags or {}),
                **conditions,
            ),
        )
        return response, size

    def create_append(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        create_only: bool = True,
    ) -> BlobProps:
        settings = ContentSettings(content_type=content_type)
        response = self._call(
            name,
            lambda: self._blob(name).create_append_blob(
                content_settings=settings,
                metadata=dict(metadata or {}),
                tags=dict(tags or {}),
                if_none_match="*" if create_only else None,
            ),
        )
        return replace(
            _written_props(name, response, 0, settings, metadata, tags), blob_type="AppendBlob"
        )

    def append(self, name: str, data: bytes, *, at_offset: int | None = None) -> int:
        result = self._call(
            name,
            lambda: self._blob(name).append_block(
                data, validate_content=True, appendpos_condition=at_offset
            ),
        )
        return int(str(result["blob_append_offset"])) + len(data)

    def delete(self, name: str, *, if_etag: str | None = None, if_tags: str | None = None) -> bool:
        conditions = _conditions(if_etag, False)
        if if_tags:
            conditions["if_tags_match_condition"] = if_tags

        def remove() -> bool:
            try:
                self._blob(name).delete_blob(delete_snapshots="include", **conditions)
            except ResourceNotFoundError:
                return False
            return True

        return self._call(name, remove)

    def set_tier(
        self,
        name: str,
        tier: str,
        *,
        if_tags: str | None = None,
        rehydrate_priority: str | None = None,
    ) -> None:
        options: dict[str, Any] = (
            {"rehydrate_priority": rehydrate_priority} if rehydrate_priority else {}
        )
        self._call(
            name,
            lambda: self._blob(name).set_standard_blob_tier(
                tier, if_tags_match_condition=if_tags or None, **options
            ),
        )

    def set_tags(self, name: str, tags: Mapping[str, str], *, if_tags: str | None = None) -> None:
        self._call(
            name,
            lambda: self._blob(name).set_blob_tags(
                dict(tags), if_tags_match_condition=if_tags or None
            ),
        )

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
        """Put Block From URL + Put Block List: a server-side copy into a *block* blob (Copy Blob
        would keep an append blob an append blob, which can never be tiered). The source is read
        with a short-lived SAS, each block on the condition that the source still has the etag
        it had before the copy (`x-ms-source-if-match`): a source that changed fails with
        `PreconditionFailed` instead of committing a torn copy, and a change after the last
        block leaves a whole copy of the version that was read. `source_props` (the source as
        just read or listed) saves the HEAD before the copy."""
        before = source_props if source_props is not None else self.props(source)
        if before is None:
            raise BlobNotFound(source, "does not exist")
        if if_etag is not None and before.etag != if_etag.strip('"'):
            raise PreconditionFailed(source, "changed since it was read")
        url = self._sas_url(source)
        unchanged = SourceModifiedAccessConditions(source_if_match=f'"{before.etag}"')
        blocks: list[BlobBlock] = []
        for offset in range(0, before.size, COPY_BLOCK_SIZE):
            block_id = _block_id()
            length = min(COPY_BLOCK_SIZE, before.size - offset)
            self._call(
                destination,
                functools.partial(
                    self._blob(destination).stage_block_from_url,
                    block_id,
                    url,
                    source_offset=offset,
                    source_length=length,
                    source_modified_access_conditions=unchanged,
                ),
            )
            blocks.append(BlobBlock(block_id=block_id))
        settings = ContentSettings(
            content_type=content_type or before.content_type,
            content_encoding=before.content_encoding,
            content_md5=bytearray(before.content_md5 or b"") or None,
        )
        response = self._call(
            destination,
            lambda: self._blob(destination).commit_block_list(
                blocks,
                content_settings=settings,
                metadata=dict(metadata or {}),
                tags=dict(tags or {}),
            ),
        )
        return _written_props(destination, response, before.size, settings, metadata, tags)

    # ---- helpers -----------------------------------------------------------------------------

    def _blob(self, name: str) -> BlobClient:
        return self.container.get_blob_client(name)

    def _call(self, name: str, call: Callable[[], T]) -> T:
        return self.retry.call(name, call, _translate)

    def _paged(
        self,
        what: str,
        pages: Iterator[Iterator[Any]],
        convert: Callable[[Any], T],
        *,
        retry: AzureRetry | None = None,
    ) -> Iterator[T]:
        # Each page fetch is retried; a page that fails for good raises with the prefix named.
        iterator = iter(pages)
        policy = retry or self.retry
        while True:
            page = policy.call(what, lambda: _next_page(iterator), _translate)
            if page is None:
                return
            for item in page:
                yield convert(item)

    def _sas_url(self, name: str) -> str:
        blob = self._blob(name)
        now = datetime.now(UTC)
        expiry = now + timedelta(hours=1)
        credential: dict[str, Any]
        if self._account_key:
            credential = {"account_key": self._account_key}
        else:
            credential = {"user_delegation_key": self._delegation_key(now)}
        sas = generate_blob_sas(
            account_name=str(blob.account_name),
            container_name=blob.container_name,
            blob_name=name,
            permission=BlobSasPermissions(read=True),
            start=now - timedelta(minutes=5),
            expiry=expiry,
            **credential,
        )
        return f"{blob.url}?{sas}"

    def _delegation_key(self, now: datetime) -> Any:
        if self._delegation is None or self._delegation[1] < now + timedelta(minutes=70):
            service = BlobServiceClient(
                self.container.primary_endpoint.rsplit("/", 1)[0],
                credential=self.container.credential,
            )
            expiry = now + timedelta(hours=6)
            key = self._call(
                "user delegation key",
                lambda: service.get_user_delegation_key(now - timedelta(minutes=5), expiry),
            )
            self._delegation = (key, expiry)
        return self._delegation[0]


def _service_client(
    settings: Settings, options: dict[str, Any]
) -> tuple[BlobServiceClient, str | None]:
    """The SDK's client, or `InvalidInput` naming the setting the SDK refused (it raises a bare
    ValueError for a malformed connection string and for an API version it does not know)."""
    connection = settings.connection_string
    try:
        if connection:
            service = BlobServiceClient.from_connection_string(connection, **options)
            return service, service.credential.account_key if service.credential else None
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        return BlobServiceClient(
            str(settings.storage_account_url), credential=credential, **options
        ), None
    except ValueError as exc:
        text = str(exc)
        if "api version" in text.lower():
            raise InvalidInput(
                "ASCEND_STORAGE_API_VERSION",
                f"{settings.storage_api_version!r} "
                "is not an API version the storage SDK knows "
                "(unset it to use the default)",
            ) from None
        raise InvalidInput(
            "ASCEND_STORAGE_CONNECTION_STRING", f"refused by the storage SDK: {first_line(exc)}"
        ) from None


def _next_page(iterator: Iterator[Iterator[Any]]) -> list[Any] | None:
    try:
        return list(next(iterator))
    except StopIteration:
        return None


def _absent(exc: BaseException) -> bool:
    """Whether a request failed because nothing is there: a refused connection, or a host name
    that does not exist (not a lookup that failed for now), somewhere in the chain of causes
    the SDK and urllib3 wrap."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, socket.gaierror) and current.errno == socket.EAI_NONAME
        ):
            return True
        pending += [current.__cause__, current.__context__, *current.args]
        pending += [getattr(current, name, None) for name in ("inner_exception", "reason")]
    return "connection refused" in str(exc).lower()


def _translate(name: str, exc: AzureError) -> Exception:  # noqa: PLR0911 - one table of cases
    if type(exc).__name__ == "AzureSigningError":  # the SDK could not sign with the key
        return StorageError(
            name,
            "cannot sign requests: the AccountKey of "
            "ASCEND_STORAGE_CONNECTION_STRING is not a valid key",
        )
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        return NotSignedIn(
            name,
            "no Azure credential: not signed in (run `az login`), or "
            "ASCEND_STORAGE_ACCOUNT_URL is wrong",
        )
    if isinstance(exc, ServiceRequestError) and _absent(exc):
        return StorageAbsent(
            f"{name}: blob storage is not reachable ({first_line(exc)}); "
            "is `make run` running, or ASCEND_STORAGE_* set right?"
        )
    if isinstance(exc, ServiceRequestError) and "connect" in str(exc).lower():
        return StorageUnreachable(
            f"{name}: blob storage is not reachable ({first_line(exc)}); "
            "is `make run` running, or ASCEND_STORAGE_* set right?"
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientError(f"{name}: {type(exc).__name__}: {first_line(exc)}")
    status = getattr(exc, "status_code", None)
    raw_code = getattr(exc, "error_code", "") or ""
    # The SDK gives a plain string or a StorageErrorCode, whose str() is "StorageErrorCode.X".
    code = str(getattr(raw_code, "value", raw_code))
    if status in TRANSIENT_STATUS:
        # 503 ServerBusy / 500 OperationTimedOut: the account or a partition is past its
        # scalability target; retried after the Retry-After the answer carries, if any.
        response = getattr(exc, "response", None)
        headers = dict(response.headers) if response is not None else {}
        return Throttled(f"{name}: HTTP {status} {code}".rstrip(), retry_after_seconds(headers))
    if code == "BlobArchived":
        return BlobArchived(name, "is archived and cannot be read until rehydrated")
    if isinstance(exc, ResourceNotFoundError):
        return BlobNotFound(name, f"does not exist ({code or status})")
    if (
        isinstance(exc, ResourceModifiedError)
        or status == HTTPStatus.PRECONDITION_FAILED
        or code == "ConditionNotMet"
    ):
        return PreconditionFailed(name, f"condition not met ({code or status})")
    if isinstance(exc, ResourceExistsError) and code in {"BlobAlreadyExists", ""}:
        return BlobExists(name, "already exists")
    if isinstance(exc, HttpResponseError):
        return StorageError(name, f"HTTP {status} {code}: {first_line(exc)}")
    return StorageError(name, f"{type(exc).__name__}: {first_line(exc)}")


def _conditions(if_etag: str | None, create_only: bool) -> dict[str, Any]:
    if create_only:
        # If-None-Match: * (not overwrite=False): upload_blob gets `overwrite` on its own and
        # commit_block_list takes no `overwrite` at all.
        return {"if_none_match": "*"} if if_etag is None else {}
    if if_etag is not None:
        return {
            "etag": f'"{if_etag.strip(chr(34))}"',
            "match_condition": MatchConditions.IfNotModified,
        }
    return {}


def _props(name: str, raw: BlobProperties, tags: Mapping[str, str] | None = None) -> BlobProps:
    content = raw.content_settings
    md5 = content.content_md5 if content else None
    return BlobProps(
        name=name,
        size=int(raw.size or 0),
        etag=str(raw.etag or "").strip('"'),
        last_modified=raw.last_modified,
        blob_type=str(getattr(raw.blob_type, "value", raw.blob_type) or "BlockBlob"),
        tier=str(raw.blob_tier) if raw.blob_tier else None,
        content_type=content.content_type if content else None,
        content_encoding=content.content_encoding if content else None,
        content_md5=bytes(md5) if md5 else None,
        metadata=dict(raw.metadata or {}),
        tags=dict(tags) if tags is not None else None,
        # Storage sends x-ms-tag-count only for a tagged blob: absent means none.
        tag_count=int(getattr(raw, "tag_count", None) or 0),
        created_at=raw.creation_time,
        sealed=bool(getattr(raw, "is_append_blob_sealed", False)),
    )


def _total_size(raw: BlobProperties, fallback: int) -> int:
    """The whole blob's size from a range response's `Content-Range: bytes 0-10/1000`."""
    content_range = str(getattr(raw, "content_range", "") or "")
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else fallback


def _written_props(
    name: str,
    response: Mapping[str, Any],
    size: int,
    settings: ContentSettings,
    *written: Mapping[str, str] | None,
) -> BlobProps:
    """What a write's own response says about the blob it wrote (tier and creation time are not
    reported there: None)."""
    metadata, tags = written
    md5 = settings.content_md5
    return BlobProps(
        name=name,
        size=size,
        etag=str(response.get("etag") or "").strip('"'),
        last_modified=response["last_modified"],
        blob_type="BlockBlob",
        content_type=settings.content_type,
        content_encoding=settings.content_encoding,
        content_md5=bytes(md5) if md5 else None,
        metadata=dict(metadata or {}),
        tags=dict(tags or {}),
        tag_count=len(tags or {}),
    )


def _verify_md5(name: str, data: bytes, props: BlobProps) -> None:
    if props.content_md5 and props.size == len(data):
        actual = hashlib.md5(data).digest()  # noqa: S324
        if actual != props.content_md5:
            raise StorageError(
                name,
                f"checksum mismatch: stored MD5 {base64.b64encode(props.content_md5).decode()}"
                f" but downloaded bytes hash to {base64.b64encode(actual).decode()}",
            )


def _rebuffer(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _block_id() -> str:
    return base64.b64encode(uuid.uuid4().hex.encode()).decode()
