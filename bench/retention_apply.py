"""Benchmark: blobs a minute the retention apply moves on Azurite, one job at a time vs on a pool.

    .venv/bin/python -m bench.retention_apply [--jobs 100] [--concurrency 1,4,8] [--rate 1000]

For each concurrency C (jobs in flight, `--concurrency` of `ascend retention apply`), `--jobs`
finished jobs created 40 days ago are written into a fresh container of one Azurite as the
producer writes them, indexed (reconcile, which also makes the by-date copies), and the sweep is
applied with `run_sweep(workers=C, rate=--rate)`: every block blob to Cool and each log gzipped
into a Cool block blob, each action audited. Printed per C: actions, seconds, blobs a minute,
this process's CPU per blob (the SDK's requests: about 3.5 per action with the re-check of
metadata.json, the listing and the audit), Azurite's CPU seconds, and the ratio to C=1 (the
same-run baseline). Azurite is one Node process
on a shared machine: the ratio says what the pool buys, not what Azure would do (there each
request is a network round trip, and the pool hides it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from bench._timing import process_cpu_seconds
from bench.events import seed_running
from indexer.reconcile import reconcile
from lifecycle.sweep import run_sweep
from producer.jobs import set_status
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.services import Services
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)
CREATED = NOW - timedelta(days=40)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args(argv)
    print("$ python -m bench.retention_apply " + " ".join(argv or sys.argv[1:]))
    levels = [int(c) for c in args.concurrency.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-retention-apply-") as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            for level in levels:
                services = seeded(azurite.connection_string, Path(tmp), args.jobs, level)
                rows.append(applied(services, level, args.rate, azurite.process.pid))
        finally:
            azurite.stop()
    report(args.jobs, args.rate, rows)


def seeded(connection: str, tmp: Path, jobs: int, level: int) -> Services:
    """A fresh container with `jobs` finished jobs 40 days old, and its index."""
    settings = Settings(
        storage_connection_string=connection,
        container=f"bench-c{level}",
        index_path=tmp / f"index-c{level}.sqlite3",
    )
    blobs = AzureBlobStore.from_settings(settings)
    blobs.ensure_container()
    for n in range(jobs):
        job = seed_running(blobs, n, project="proj", created=CREATED)
        set_status(blobs, job, "completed", clock=FixedClock(CREATED + timedelta(hours=2)))
    index = SqliteIndex(settings.index_path)
    index.ensure()
    services = Services(settings, clock=FixedClock(NOW), blobs=blobs, index=index)
    reconcile(services.blobs, services.index, services.clock, services.settings)
    return services


def applied(services: Services, level: int, rate: int, azurite_pid: int | None) -> dict[str, Any]:
    """Apply the sweep with `level` jobs in flight; what it did and how fast."""
    before = process_cpu_seconds(azurite_pid) if azurite_pid else 0.0
    start, cpu = time.perf_counter(), time.process_time()
    summary = run_sweep(
        services.blobs, services.index, services.settings, NOW, workers=level, rate=rate
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    actions = sum(summary.actions.values())
    return {
        "concurrency": level,
        "jobs": summary.jobs,
        "actions": {str(k): n for k, n in summary.actions.items()},
        "outcomes": {str(k): n for k, n in summary.outcomes.items()},
        "seconds": seconds,
        "blobs_per_minute": actions / seconds * 60 if seconds else 0.0,
        "cpu_s": cpu,
        "cpu_ms_per_blob": cpu / actions * 1000 if actions else 0.0,
        "azurite_cpu_s": (process_cpu_seconds(azurite_pid) - before) if azurite_pid else None,
        "load": round(os.getloadavg()[0], 1),
    }


def report(jobs: int, rate: int, rows: list[dict[str, Any]]) -> None:
    first = rows[0]["blobs_per_minute"] or 1.0
    print(f"\nretention apply of {jobs} jobs 40 days old per run, at most {rate} requests/s")
    print(
        f"{'jobs at once':>12} {'actions':>8} {'seconds':>8} {'blobs/min':>10} "
        f"{'our CPU ms/blob':>16} {'Azurite CPU s':>14} {'load':>5} {'vs 1 at once':>13}"
    )
    for row in rows:
        cpu = row["azurite_cpu_s"]
        print(
            f"{row['concurrency']:>12} {sum(row['actions'].values()):>8} {row['seconds']:>8.1f} "
            f"{row['blobs_per_minute']:>10,.0f} {row['cpu_ms_per_blob']:>16.1f} "
            f"{cpu if cpu is not None else float('nan'):>14.1f} "
            f"{row['load']:>5.1f} {row['blobs_per_minute'] / first:>12.2f}x"
        )
    print(
        orjson.dumps(
            {"bench": "retention_apply", "jobs": jobs, "rate": rate, "rows": rows}
        ).decode()
    )


if __name__ == "__main__":
    main()
