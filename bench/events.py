"""Benchmark: storage requests and this process's CPU per event kind the indexer handles.

    .venv/bin/python -m bench.events [--jobs 200]

`--jobs` producer-written jobs (a running job's metadata.json and log, then its final
metadata.json) are seeded into a fresh Azurite; then, kind by kind, each job's event goes to the
real handler (`indexer.handler.handle`) with the real adapters (Azurite, a SQLite index file),
one at a time. Requests are counted by the SDK's own `raw_request_hook`; CPU is this process's
user + system time (`time.process_time`), so it is the handler's and the SDK's, not Azurite's
(`bench.azurite_ops` measures that). Baseline, same run: one GET of a metadata.json through the
same adapter. Prints the command, a table of medians (per event: requests, CPU ms, wall ms) and
one JSON line. The machine is shared: read the ratio to the GET, not the absolute times.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from indexer.events import event_from_dict, grid_event
from indexer.handler import handle
from producer.jobs import set_status, start_job
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.jobid import DependencySet, JobId
from shared.layout import artifact_path, log_path, metadata_path
from shared.services import Services
from shared.settings import Settings
from shared.tags import job_blob_tags

NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)


class Counter:
    """Counts the requests the SDK sends (its `raw_request_hook`)."""

    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: Any) -> None:
        self.requests += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args(argv)
    print("$ python -m bench.events " + " ".join(argv if argv is not None else sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            rows = run(azurite.connection_string, Path(tmp), args.jobs)
        finally:
            azurite.stop()
    report(rows, args.jobs)


def run(connection: str, tmp: Path, jobs: int) -> dict[str, dict[str, float]]:
    counter = Counter()
    settings = Settings(
        storage_connection_string=connection, container="bench", index_path=tmp / "index.sqlite3"
    )
    blobs = AzureBlobStore.from_settings(settings, raw_request_hook=counter)
    blobs.ensure_container()
    index = SqliteIndex(settings.index_path)
    index.ensure()
    services = Services(settings, clock=FixedClock(NOW), blobs=blobs, index=index)
    ids = [seed_running(blobs, n) for n in range(jobs)]
    rows: dict[str, dict[str, float]] = {}
    rows["GET metadata.json (baseline)"] = measure(
        counter, [functools.partial(blobs.read, metadata_path(j)) for j in ids]
    )
    rows["metadata.json, running job, first event"] = events(services, counter, ids, metadata_path)
    rows["metadata.json, running job, repeated"] = events(services, counter, ids, metadata_path)
    rows["job.log.jsonl created, job running"] = events(services, counter, ids, log_path)
    for job in ids:
        finish(blobs, job)
    rows["metadata.json, final job, first event"] = events(services, counter, ids, metadata_path)
    rows["metadata.json, final job, repeated"] = events(services, counter, ids, metadata_path)
    for job in ids:
        blobs.write(
            artifact_path(job, "model.pkl"),
            b"m" * 64,
            tags=job_blob_tags(job, "artifact", retain=False),
        )
    rows["artifact created"] = events(
        services, counter, ids, lambda j: artifact_path(j, "model.pkl")
    )
    index.close()
    return rows


def seed_running(
    blobs: AzureBlobStore, n: int, *, project: str | None = None, created: datetime | None = None
) -> JobId:
    """A producer-written running job: metadata.json, package.pkl, then its log of 50 lines."""
    clock = FixedClock((created or NOW - timedelta(hours=1)) - timedelta(seconds=n))
    meta = start_job(
        blobs,
        user=f"user{n % 10}",
        project=project or f"proj{n % 4}",
        function_name="train",
        args_hash=f"{n:016x}",
        dependencies=DependencySet(("torch==2.0.0",), "3.11"),
        config={"node_type": "gpu_small"},
        tags={},
        clock=clock,
    )
    job = meta.parsed_job_id
    set_status(blobs, job, "running", clock=clock)
    blobs.create_append(
        log_path(job),
        tags=job_blob_tags(job, "log", retain=False),
        content_type="application/x-ndjson",
    )
    blobs.append(
        log_path(job),
        b"".join(
            orjson.dumps(
                {
                    "timestamp": NOW.isoformat(),
                    "level": "INFO",
                    "logger": "ascend.job",
                    "job_id": str(job),
                    "message": f"step {i}",
                }
            )
            + b"\n"
            for i in range(50)
        ),
    )
    return job


def finish(blobs: AzureBlobStore, job: JobId) -> None:
    set_status(blobs, job, "completed", clock=FixedClock(NOW), exit_code=0)


def events(
    services: Services, counter: Counter, ids: list[JobId], name_of: Callable[[JobId], str]
) -> dict[str, float]:
    """Each job's BlobCreated event of `name_of(job)` through the handler, one at a time."""
    payloads = []
    for job in ids:
        props = services.blobs.props(name_of(job))
        if props is None:
            raise SystemExit(f"bench: {name_of(job)} was not written")
        payloads.append(grid_event("bench", props))
    ports = (services.blobs, services.index, services.clock, services.settings)
    return measure(
        counter, [functools.partial(handle, event_from_dict(p), *ports) for p in payloads]
    )


def measure(counter: Counter, calls: list[Callable[[], object]]) -> dict[str, float]:
    requests, cpu, wall = [], [], []
    for call in calls:
        before, cpu0, wall0 = counter.requests, time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - cpu0)
        wall.append(time.perf_counter() - wall0)
        requests.append(counter.requests - before)
    return {
        "requests": statistics.median(requests),
        "max_requests": max(requests),
        "cpu_ms": 1000 * statistics.median(cpu),
        "wall_ms": 1000 * statistics.median(wall),
    }


def report(rows: dict[str, dict[str, float]], jobs: int) -> None:
    base = rows["GET metadata.json (baseline)"]["cpu_ms"] or 1e-9
    print(f"\nper event, median over {jobs} jobs (this process's CPU; machine shared)")
    print(
        f"{'event kind':<44} {'requests':>8} {'max':>4} {'CPU ms':>7} {'x GET':>6} {'wall ms':>8}"
    )
    for kind, row in rows.items():
        print(
            f"{kind:<44} {row['requests']:>8.0f} {row['max_requests']:>4.0f} "
            f"{row['cpu_ms']:>7.2f} {row['cpu_ms'] / base:>6.1f} {row['wall_ms']:>8.2f}"
        )
    print(orjson.dumps({"bench": "events", "jobs": jobs, "rows": rows}).decode())


if __name__ == "__main__":
    main()
