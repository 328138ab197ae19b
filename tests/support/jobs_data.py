"""Test data for the jobs commands and the API: real jobs written with the producer's functions
into Azurite, their logs as append blobs, and their documents in a real SQLite index."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ascend_cli.azurite import Azurite
from indexer.document import build_document
from producer.jobs import read_metadata, set_status, start_job
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.jobid import DependencySet
from shared.layout import log_path
from shared.metadata import JobMetadata
from shared.services import Services
from shared.settings import Settings
from tests.support.builders import log_lines

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
DEPENDENCIES = DependencySet(("torch==2.0.0", "numpy==1.24.0"), "3.11", use_gpu=True)


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


def seed_job(
    services: Services,
    *,
    user: str = "alice",
    project: str = "frauddetect",
    status: str = "completed",
    when: datetime = NOW - timedelta(hours=6),
    levels: Sequence[str] = (),
    function_name: str = "train_model",
    index: bool = True,
) -> JobMetadata:
    """A job written as Ascend writes one: metadata (moved to `status`), its log, its document."""
    blobs = services.blobs
    meta = start_job(
        blobs,
        user=user,
        project=project,
        function_name=function_name,
        args_hash=uuid.uuid4().hex,
        dependencies=DEPENDENCIES,
        config={"node_type": "gpu_small", "cpu": "4"},
        tags={"experiment": "base"},
        clock=FixedClock(when),
    )
    job = meta.parsed_job_id
    if status != "queued":
        meta = set_status(blobs, job, "running", FixedClock(when + timedelta(seconds=5)))
    if status not in {"queued", "running"}:
        meta = set_status(blobs, job, status, FixedClock(when + timedelta(minutes=5)), exit_code=0)
    if levels:
        blobs.create_append(log_path(job), content_type="application/x-ndjson")
        blobs.append(log_path(job), log_lines(meta, levels))
    if index:
        index_job(services, meta)
    return meta


def index_job(services: Services, meta: JobMetadata) -> None:
    """Put the job's current document into the index."""
    current, etag = read_metadata(services.blobs, meta.job_id)
    services.index.upsert(
        [build_document(current, prices=services.settings.node_prices, source_version=etag)]
    )
