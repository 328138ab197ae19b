"""The sweep applied on a pool within a request budget, against Azurite: the same end state and
the same audit records as one job at a time, also when storage answers `503 ServerBusy`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ascend_cli.azurite import Azurite
from lifecycle.audit import read_audit
from lifecycle.sweep import run_sweep
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.jobid import JobId
from shared.services import Services
from shared.settings import Settings, azurite_connection_string
from tests.support.faultproxy import FaultProxy
from tests.support.lifecycle import lifecycle_job

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
# (age in days, retained, tagged): every stage, retained jobs, and jobs whose blobs carry no
# `retain` tag (their deletes are guarded by metadata.json's etag)
AGES = [(5, False), (31, False), (95, False), (200, False), (366, False), (400, True)]
JOBS = [
    (age, retain, tagged)
    for age, retain in [*AGES, (700, False), (700, True)]
    for tagged in (True, False)
]


class World:
    """One container and one index file, seeded with `JOBS` in the same order."""

    def __init__(self, settings: Settings, blobs: AzureBlobStore, path: Path) -> None:
        blobs.ensure_container()
        self.index = SqliteIndex(path)
        self.index.ensure()
        self.services = Services(settings, FixedClock(NOW), blobs=blobs, index=self.index)
        self.jobs: list[JobId] = [
            lifecycle_job(
                blobs, self.index, NOW - timedelta(days=age), retain=retain, tagged=tagged
            )
            for age, retain, tagged in JOBS
        ]

    def named(self, text: str | None) -> str | None:
        """`text` with each job ID replaced by the job's place in `JOBS` (IDs differ by world)."""
        if text is None:
            return None
        for n, job in enumerate(self.jobs):
            text = text.replace(str(job), f"<job {n}>")
        return text

    def storage(self) -> list[tuple[Any, ...]]:
        """Every blob of the jobs: (name, type, tier), and every document's tier."""
        blobs = [
            (self.named(p.name), p.blob_type, p.tier) for p in self.services.blobs.list("projects/")
        ]
        keys = [key for key, _, _ in self.index.keys()]  # noqa: SIM118 - the port's method
        docs = [(self.named(k), (self.index.get(k) or {}).get("tier")) for k in keys]
        return sorted(blobs) + sorted(docs, key=str)

    def audit(self) -> list[tuple[Any, ...]]:
        """Every audit record but its time and writer: what was done to which blob, and why."""
        return sorted(
            (
                r["who"],
                r["action"],
                self.named(str(r["blob"])),
                self.named(None if r["job_id"] is None else str(r["job_id"])),
                r["tier"],
                r["outcome"],
                r["reason"],
                r["as_of"],
            )
            for r in read_audit(self.services.blobs, datetime.now(UTC).date())
        )


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultProxy]:
    with FaultProxy(azurite.port) as running:
        yield running


def world(settings: Settings, tmp_path: Path, name: str, **store: Any) -> World:
    container = settings.model_copy(update={"container": f"{settings.container[:40]}-{name}"})
    blobs = AzureBlobStore.from_settings(container, **store)
    return World(container, blobs, tmp_path / f"{name}.sqlite3")


def test_a_concurrent_budgeted_apply_ends_as_a_sequential_one(
    settings: Settings, tmp_path: Path
) -> None:
    """Eight jobs at a time within 200 requests a second: the same blobs, tiers, documents and
    audit records (each action once) as one job at a time with no budget."""
    one = world(settings, tmp_path, "seq", retry=RetryPolicy(4, 20, 0.01, 0.05))
    many = world(settings, tmp_path, "pool", retry=RetryPolicy(4, 20, 0.01, 0.05))
    assert one.storage() == many.storage()
    first = run_sweep(
        one.services.blobs, one.services.index, one.services.settings, NOW, workers=1, rate=20_000
    )
    second = run_sweep(
        many.services.blobs, many.services.index, many.services.settings, NOW, workers=8, rate=200
    )
    assert (first.jobs, first.actions, first.outcomes) == (
        second.jobs,
        second.actions,
        second.outcomes,
    )
    assert set(first.outcomes) == {"done"}
    assert one.storage() == many.storage()
    assert one.audit() == many.audit()
    assert len(one.audit()) == sum(first.actions.values())


def test_a_sweep_answered_server_busy_waits_and_ends_as_an_unthrottled_one(
    settings: Settings, tmp_path: Path, proxy: FaultProxy
) -> None:
    """Storage answers `503 ServerBusy, Retry-After: 3` to ten requests mid-sweep (through a
    proxy in front of Azurite): each is sent again after 3 s, nothing fails, and storage, index
    and audit end exactly as in a sweep that was never throttled."""
    waits: list[float] = []
    calm = world(settings, tmp_path, "calm", retry=RetryPolicy(4, 20, 0.01, 0.05))
    via_proxy = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
    )
    busy = world(
        via_proxy, tmp_path, "busy", retry=RetryPolicy(6, 60, 0.01, 0.05, sleep=waits.append)
    )
    proxy.inject("busy", times=10, after=40, seconds=3)
    run_sweep(calm.services.blobs, calm.services.index, calm.services.settings, NOW, workers=1)
    summary = run_sweep(
        busy.services.blobs, busy.services.index, busy.services.settings, NOW, workers=8, rate=500
    )
    assert proxy.faults_applied == 10
    assert waits.count(3.0) == 10
    assert set(summary.outcomes) == {"done"}
    assert calm.storage() == busy.storage()
    assert calm.audit() == busy.audit()
