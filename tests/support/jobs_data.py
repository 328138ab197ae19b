"""Test services for the jobs commands and the API: a fresh Azurite container and a real SQLite
index (jobs themselves come from `tests.support.builders.seed_job`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from ascend_cli.azurite import Azurite
from indexer.document import build_document
from producer.jobs import read_metadata
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.metadata import JobMetadata
from shared.services import Services
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def make_services(
    azurite: Azurite, directory: Path, *, user: str = "alice", roles: tuple[str, ...] = ()
) -> Services:
    """Services on a fresh container of `azurite` and a fresh index file in `directory`."""
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        container=f"t-{uuid.uuid4().hex[:20]}",
        index_path=directory / "index.sqlite3",
        user=user,
        roles=roles,
    )
    blobs = AzureBlobStore.from_settings(
        settings, retry=RetryPolicy(attempts=3, max_seconds=10, base=0.01, cap=0.05)
    )
    blobs.ensure_container()
    index = SqliteIndex(settings.index_path)
    index.ensure()
    return Services(settings, FixedClock(NOW), blobs=blobs, index=index)


def index_job(services: Services, meta: JobMetadata) -> None:
    """Put the job's current document into the index (priced with the services' settings)."""
    current, etag = read_metadata(services.blobs, meta.job_id)
    services.index.upsert(
        [build_document(current, prices=services.settings.node_prices, source_version=etag)]
    )
