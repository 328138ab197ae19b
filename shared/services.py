"""The composition root: builds the adapters from settings, once, when first asked.

Only the edges (`function_app.py`, the CLI, the API) call `build_services`; handlers receive the
ports. Nothing connects at import time: the Functions host imports `function_app.py` to discover
its functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from shared.clock import Clock, SystemClock
from shared.ports import BlobStore, SearchIndex
from shared.settings import Settings


@dataclass
class Services:
    """The ports of one process, built lazily from `settings`."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def blobs(self) -> BlobStore:
        from shared.adapters.azure_blob import AzureBlobStore

        return AzureBlobStore.from_settings(self.settings)

    @cached_property
    def index(self) -> SearchIndex:
        if self.settings.search_endpoint:
            from shared.adapters.azure_search import AzureSearchIndex

            return AzureSearchIndex.from_settings(self.settings)
        from shared.adapters.sqlite_index import SqliteIndex

        index = SqliteIndex(self.settings.index_path)
        index.ensure()
        return index


_services: Services | None = None


def build_services(settings: Settings | None = None) -> Services:
    """A new `Services` for `settings` (from the environment when not given)."""
    return Services(settings or Settings())


def services() -> Services:
    """The process-wide `Services`, built on first use."""
    global _services  # noqa: PLW0603 - one composition root per process, built lazily
    if _services is None:
        _services = build_services()
    return _services
