"""Fixtures shared by every test layer: Azurite (started here, on a free port), settings, stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

import shared.services
from ascend_cli.azurite import Azurite, start_azurite
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.services import Services
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)

# CI explores the same examples every run (a red CI must be reproducible, and it is run on a
# loaded 2-core machine); locally hypothesis keeps exploring new ones.
hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_composition_root_outlives_a_test() -> Iterator[None]:
    """Each test starts and ends without a process `Services` (as each process would)."""
    shared.services.reset()
    yield
    shared.services.reset()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """A real Azurite blob service for the whole test session, stopped at the end."""
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture
def container_name() -> str:
    """A fresh container per test: tests never see each other's blobs."""
    return f"t-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def settings(azurite: Azurite, container_name: str, tmp_path: Path) -> Settings:
    """Settings pointing at the session's Azurite, a fresh container and a fresh index file."""
    return Settings(
        storage_connection_string=azurite.connection_string,
        container=container_name,
        index_path=tmp_path / "index.sqlite3",
        user="alice",
        roles=(),
    )


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Retries with tiny waits, so fault tests stay fast."""
    return RetryPolicy(attempts=5, max_seconds=20, base=0.01, cap=0.05)


@pytest.fixture
def blob_store(settings: Settings, fast_retry: RetryPolicy) -> AzureBlobStore:
    """The real Azure Blob adapter on a fresh Azurite container."""
    store = AzureBlobStore.from_settings(settings, retry=fast_retry)
    store.ensure_container()
    return store


@pytest.fixture
def sqlite_index(tmp_path: Path) -> Iterator[SqliteIndex]:
    """A real SQLite index file in the test's temp dir."""
    index = SqliteIndex(tmp_path / "index.sqlite3")
    index.ensure()
    yield index
    index.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def services(
    settings: Settings, blob_store: AzureBlobStore, sqlite_index: SqliteIndex, clock: FixedClock
) -> Services:
    """The composition root with the real adapters of the test (Azurite, SQLite, fixed clock)."""
    return Services(settings, clock, blobs=blob_store, index=sqlite_index)
