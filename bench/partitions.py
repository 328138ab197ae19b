"""Benchmark: reconcile and the sweep across invocations, each stopped by a small time budget.

    .venv/bin/python -m bench.partitions [--jobs 300] [--budget 2.0]

`--jobs` finished jobs of one project, all created on one day 40 days ago (one partition), are
written into a fresh Azurite as the producer writes them; no event is delivered. Then, as the
Functions app does with its queue: the reconcile partition is worked by invocations of at most
`--budget` seconds until its marker says done (every job indexed), and the sweep partition the
same way (every job's blobs to Cool). Printed: invocations, jobs per invocation, the marker's
counts (each job indexed once, each blob tiered once: nothing skipped, nothing twice), and as
the same-run baseline the one-invocation full `reconcile` of a copy of the container's index
state (a fresh index). The machine is shared: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from bench._timing import check
from bench.events import seed_running
from indexer.reconcile import reconcile
from indexer.reconcile_partition import reconcile_partition
from lifecycle.sweep import sweep_partition
from producer.jobs import set_status
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.partitions import Budget, Partition, Progress
from shared.services import Services
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)
DAY = NOW - timedelta(days=40)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--budget", type=float, default=2.0)
    args = parser.parse_args(argv)
    print("$ python -m bench.partitions " + " ".join(argv if argv is not None else sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-partitions-") as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            result = run(azurite.connection_string, Path(tmp), args.jobs, args.budget)
        finally:
            azurite.stop()
    print(
        orjson.dumps(
            {"bench": "partitions", "jobs": args.jobs, "budget_s": args.budget, **result}
        ).decode()
    )


def run(connection: str, tmp: Path, jobs: int, budget: float) -> dict[str, object]:
    settings = Settings(
        storage_connection_string=connection, container="bench", index_path=tmp / "index.sqlite3"
    )
    blobs = AzureBlobStore.from_settings(settings)
    blobs.ensure_container()
    ids = [seed_running(blobs, n, project="proj", created=DAY) for n in range(jobs)]
    for job in ids:
        set_status(blobs, job, "completed", clock=FixedClock(DAY + timedelta(hours=2)), exit_code=0)
    warm = SqliteIndex(tmp / "warm.sqlite3")  # makes the by-date copies: both timed runs
    warm.ensure()  # below then do the same work (index every job, copies present)
    reconcile(blobs, warm, FixedClock(NOW), settings)
    index = SqliteIndex(settings.index_path)
    index.ensure()
    services = Services(settings, clock=FixedClock(NOW), blobs=blobs, index=index)
    part = Partition("reconcile", "20260314T013000", "proj", DAY.date())
    rec = invocations(
        lambda b: reconcile_partition(
            services.blobs, services.index, services.clock, services.settings, part, budget=b
        ),
        budget,
    )
    check(index.count() == jobs, "a job was skipped")
    sweep = Partition("sweep", "20260314T023000", "proj", DAY.date())
    swp = invocations(
        lambda b: sweep_partition(
            services.blobs, services.index, services.settings, NOW, sweep, budget=b
        ),
        budget,
    )
    base_index = SqliteIndex(tmp / "baseline.sqlite3")
    base_index.ensure()
    base = Services(settings, clock=FixedClock(NOW), blobs=blobs, index=base_index)
    start = time.perf_counter()
    counts = reconcile(base.blobs, base.index, base.clock, base.settings)
    full_s = time.perf_counter() - start
    print(f"full reconcile in one invocation (baseline): {full_s:.1f} s, {counts}")
    for name, row in (("reconcile", rec), ("sweep", swp)):
        print(
            f"{name}: {row['invocations']} invocations of <= {budget} s (+ one slice), "
            f"{row['seconds']:.1f} s in all; marker counts {row['counts']}"
        )
    print(f"partitioned reconcile / full reconcile: {float(rec['seconds']) / full_s:.2f}x")
    return {"reconcile": rec, "sweep": swp, "full_reconcile_s": full_s}


def invocations(work: Callable[[Budget], Progress], budget: float) -> dict[str, Any]:
    """Invoke until the partition is done; how many invocations, time, the final counts."""
    count, start = 0, time.perf_counter()
    while True:
        count += 1
        progress = work(Budget.start(budget))
        if progress.done:
            return {
                "invocations": count,
                "seconds": time.perf_counter() - start,
                "counts": dict(progress.counts),
            }


if __name__ == "__main__":
    main()
