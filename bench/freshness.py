"""Benchmark: freshness of the local worker, from a blob written to its job being searchable,
as the container grows; against the old whole-container pass and a HEAD, in the same run.

    .venv/bin/python -m bench.freshness [--sizes 1000,10000,100000] [--samples 7]

For each size, the container holds that many jobs already handled (the fast path: each is one
small metadata.json written by the SDK from 16 threads, recorded in the worker's checkpoint from
the write's answer instead of being indexed; real jobs have 2-6 blobs, so a listing here is a
third to a sixth of a real container's of that many jobs). Jobs are dated 3 to 93 days ago,
over four users of one project. Then, with the watching worker running (`indexer.worker.watch`,
1.5 s between passes, between two background full scans):

- freshness: a new job (its log, then its metadata.json, dated now) written; seconds from the
  metadata's write returning to the job being found in the index (median of `--samples`);
- pass: one idle watching pass (the recent job folders of every known owner), median;
- sweep page: one slice (5,000 blobs) of the background full scan, the cost it adds to a pass
  while a scan runs (once per 5 minutes);
- baseline: one `pipeline run --once` pass with nothing to do (the whole container listed and
  compared: what every pass of the old worker did; above `--full-pass-max` jobs estimated as
  its pages times the measured page, since each page costs Azurite a sort of the container),
  and one HEAD.

Azurite runs in memory, started by the benchmark. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from bench.ingest import log_bytes, synthetic_metadata
from indexer.checkpoint import open_checkpoint
from indexer.scan import SWEEP_BLOBS_PER_PASS, FullScan, Watcher
from indexer.worker import watch
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.layout import log_path, metadata_path
from shared.metadata import JobMetadata
from shared.ports import Checkpoint
from shared.services import Services
from shared.settings import Settings
from shared.tags import job_blob_tags

PROJECT, USERS = "bench", 4
COMMAND = "python -m bench.freshness"
GIVE_UP_SECONDS = 600.0
FEW_SAMPLES_ABOVE = 20000  # jobs: the whole-container pass is timed once, not three times
MIDNIGHT = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def background_name(i: int) -> str:
    """The i-th already handled job's metadata.json: 3 to 93 days old, one of four users."""
    user = f"u{i % USERS}"
    created = MIDNIGHT - timedelta(days=3, seconds=(i * 7919) % (90 * 86400))
    job = f"{created:%Y%m%d-%H%M%S}-{user}-{PROJECT}-00000000-{i:08x}"
    return f"projects/{PROJECT}/users/{user}/jobs/{job}/metadata.json"


def seed(blobs: AzureBlobStore, store: Checkpoint, start: int, stop: int) -> float:
    """Write jobs `start`..`stop` and record them as handled; seconds taken."""
    began = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        written = list(
            pool.map(lambda i: blobs.write(background_name(i), b"{}"), range(start, stop))
        )
    store.record((p.name, (p.etag, p.last_modified.isoformat())) for p in written)
    return time.perf_counter() - began


def new_job(blobs: AzureBlobStore, n: int) -> str:
    """A job of user u0 created now, written as the producer leaves it; its job ID."""
    meta = next(synthetic_metadata(1, seed=n))
    created = datetime.now(UTC)
    dep_hash = meta["dependencies"]["hash"][:8]
    job_id = f"{created:%Y%m%d-%H%M%S}-u0-{PROJECT}-{dep_hash}-{n:08x}"
    meta.update(
        job_id=job_id,
        user="u0",
        project=PROJECT,
        created_at=created.isoformat(),
        updated_at=(created + timedelta(seconds=1)).isoformat(),
    )
    meta["execution"] = {"start_time": created.isoformat(), "duration_seconds": 1.0}
    meta["execution"]["exit_code"] = 0
    job = JobMetadata.model_validate(meta).parsed_job_id  # a valid job, or this fails here
    tags = job_blob_tags(job, "log", retain=False)
    blobs.create_append(log_path(job), tags=tags, create_only=False)
    blobs.append(log_path(job), log_bytes(meta))
    blobs.write(
        metadata_path(job), orjson.dumps(meta), tags=job_blob_tags(job, "metadata", retain=False)
    )
    return job_id


def freshness(services: Services, index: SqliteIndex, samples: int, first: int) -> list[float]:
    """Seconds from each new job's metadata written to the job found in the index."""
    seconds = []
    for n in range(first, first + samples):
        job_id = new_job(services.blobs, n)
        written = time.perf_counter()
        while index.get(job_id) is None:
            if time.perf_counter() - written > GIVE_UP_SECONDS:
                raise SystemExit(f"{COMMAND}: job {job_id} not indexed in {GIVE_UP_SECONDS} s")
            time.sleep(0.02)
        seconds.append(time.perf_counter() - written)
        time.sleep(0.3)  # the next write lands anywhere in the poll interval
    return seconds


def quiet_watcher(services: Services, store: Checkpoint) -> Watcher:
    """A watcher whose background full scan just finished: the next is 5 minutes away."""
    today = datetime.now(UTC).date
    watcher = Watcher(services.blobs, store, services.settings.container, today)
    watcher.sweep_started, watcher.sweep_passes = time.monotonic(), 2
    return watcher


def median_of(run: Callable[[], object], times: int) -> float:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        run()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent)


def measure(
    services: Services, store: Checkpoint, size: int, samples: int, full_pass_max: int
) -> dict[str, Any]:
    """One row of the table at the container's current size."""
    index = SqliteIndex(services.settings.index_path)
    index.ensure()
    stop = threading.Event()
    worker = threading.Thread(
        target=watch,
        args=(services.blobs, services.index, services.clock, services.settings, stop),
        kwargs={
            "checkpoint": store_path(services),
            "watcher": lambda s: quiet_watcher(services, s),
        },
    )
    worker.start()
    try:
        fresh = freshness(services, index, samples, first=size)
    finally:
        stop.set()
        worker.join()
    passes = median_of(lambda: quiet_watcher(services, store).pending(), 5)
    sweep = FullScan(services.blobs, store, services.settings.container)
    page = median_of(lambda: sweep.take(SWEEP_BLOBS_PER_PASS), 1)
    if size <= full_pass_max:
        full = median_of(
            lambda: FullScan(services.blobs, store, services.settings.container).everything(),
            3 if size <= FEW_SAMPLES_ABOVE else 1,
        )
    else:  # every page of a listing costs Azurite a sort of the container: pages x one page
        full = page * math.ceil(size / SWEEP_BLOBS_PER_PASS)
    head_name = background_name(0)
    head = median_of(lambda: services.blobs.props(head_name), 20)
    return {
        "jobs": size,
        "freshness_s": round(statistics.median(fresh), 2),
        "freshness_max_s": round(max(fresh), 2),
        "pass_s": round(passes, 3),
        "sweep_page_s": round(page, 2),
        "full_pass_s": round(full, 2),
        "full_pass_estimated": size > full_pass_max,
        "head_ms": round(head * 1000, 1),
        "full_vs_pass": round(full / passes, 1),
    }


def store_path(services: Services) -> Path:
    return Path(services.settings.index_path).parent / "bench.checkpoint.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument(
        "--full-pass-max",
        type=int,
        default=20000,
        help="above this many jobs the whole-container pass is estimated as pages x one page",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{COMMAND} --sizes {args.sizes} --samples {args.samples} "
        f"--full-pass-max {args.full_pass_max}",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    azurite = start_azurite(folder / "azurite", in_memory=True)
    try:
        settings = Settings(
            storage_connection_string=azurite.connection_string,
            container="bench-freshness",
            index_path=folder / "index.sqlite3",
            user="bench",
        )
        blobs = AzureBlobStore.from_settings(settings)
        blobs.ensure_container()
        services = Services(settings, blobs=blobs)
        store = open_checkpoint(store_path(services))
        rows, seeded = [], 0
        for size in sizes:
            took = seed(blobs, store, seeded, size)
            print(f"seeded {size - seeded:,} jobs in {took:.0f} s", flush=True)
            seeded = size
            row = measure(services, store, size, args.samples, args.full_pass_max)
            rows.append(row)
            print(
                f"{size:>8,} jobs: freshness {row['freshness_s']:.2f} s median "
                f"(max {row['freshness_max_s']:.2f}); idle pass {row['pass_s'] * 1000:.0f} ms; "
                f"sweep page {row['sweep_page_s']:.2f} s; baseline: whole-container pass "
                f"{row['full_pass_s']:.2f} s{' (estimated)' if row['full_pass_estimated'] else ''}"
                f" (x{row['full_vs_pass']} a pass), "
                f"HEAD {row['head_ms']:.1f} ms",
                flush=True,
            )
        print(orjson.dumps({"bench": "freshness", "rows": rows}).decode())
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
