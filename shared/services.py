"""The composition root: the ports of one process, given or built from settings on first use.

`Services(settings, clock, blobs=None, index=None)`: adapters passed in are used as they are (a
test's Azurite store, an in-memory double); the others are built from `settings` the first time
they are asked for, never at construction. Nothing connects at import time: the Functions host
imports `function_app.py` to discover its functions.

One process has one root, `services()`, built once from the environment by `load_settings`, so a
bad setting reads the same one-line error in the CLI, the API and the Functions app. Tests hand in
theirs with `install(...)` and drop it with `reset()`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shared.clock import Clock, SystemClock
from shared.errors import SearchIndexError
from shared.ports import BlobStore, Checkpoint, SearchIndex

if TYPE_CHECKING:  # loaded when settings are read (the CLI may read them without pydantic)
    from shared.settings import Settings


class Services:
    """The ports of one process: `blobs` and `index` as given, else built lazily from `settings`."""

    # No instance dict: a test that pokes `__dict__` to swap a port fails loudly (hand the port
    # in, or use `using`), instead of being silently ignored by the properties below.
    __slots__ = ("_blobs", "_index", "_lock", "clock", "settings")

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        blobs: BlobStore | None = None,
        index: SearchIndex | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._blobs = blobs
        self._index = index
        self._lock = threading.Lock()

    @property
    def blobs(self) -> BlobStore:
        with self._lock:
            if self._blobs is None:
                from shared.adapters.azure_blob import AzureBlobStore

                self._blobs = AzureBlobStore.from_settings(self.settings)
            return self._blobs

    @property
    def index(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                self._index = _index_of(self.settings)
            return self._index

    def using(
        self,
        *,
        blobs: BlobStore | None = None,
        index: SearchIndex | None = None,
        settings: Settings | None = None,
    ) -> Services:
        """These services with some ports swapped; the rest are shared (or built as needed)."""
        return Services(
            settings or self.settings,
            self.clock,
            blobs=blobs or self._blobs,
            index=index or self._index,
        )

    def __repr__(self) -> str:
        return f"Services(container={self.settings.container!r}, clock={self.clock!r})"


def _index_of(settings: Settings) -> SearchIndex:
    """Azure AI Search when an endpoint is configured, else the embedded SQLite file."""
    if settings.search_endpoint:
        from shared.adapters.azure_search import AzureSearchIndex

        return AzureSearchIndex.from_settings(settings)
    from shared.adapters.sqlite_index import SqliteIndex

    index = SqliteIndex(settings.index_path)
    # A file that cannot be opened as an index is handed out all the same: each question then
    # fails as `SearchIndexError` inside the handler, which can fall back (to storage) or say so,
    # instead of failing the whole command while its ports are wired.
    with contextlib.suppress(SearchIndexError):
        index.ensure()
    return index


def checkpoint_at(path: Path) -> Checkpoint:
    """The local worker's checkpoint: a SQLite file at `path` (created if missing)."""
    from shared.adapters.sqlite_checkpoint import SqliteCheckpoint

    return SqliteCheckpoint(path)


_root: Services | None = None
_root_lock = threading.Lock()


def services(settings: Callable[[], Settings] | None = None) -> Services:
    """The process's `Services`, built on first use from `settings()` (by default the
    environment by `load_settings`: `InvalidInput` naming the variable in one line when a
    setting is wrong; the CLI adds its config profile)."""
    global _root  # noqa: PLW0603 - one composition root per process, built lazily
    with _root_lock:
        if _root is None:
            if settings is None:
                from shared.settings import load_settings

                settings = load_settings
            _root = Services(settings())
        return _root


def install(root: Services) -> Services:
    """Make `root` the process's `Services` (a test's adapters); returns it."""
    global _root  # noqa: PLW0603
    with _root_lock:
        _root = root
    return root


def reset() -> None:
    """Forget the process's `Services`: the next `services()` reads the environment again (in
    tests, as if each command were a new process)."""
    global _root  # noqa: PLW0603
    with _root_lock:
        _root = None
