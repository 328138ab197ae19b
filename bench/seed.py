"""Benchmark: the producer side, on a fresh Azurite of its own.

    .venv/bin/python -m bench.seed [--jobs 100] [--workers 8] [--repeat 3] [--lines 50000]

- `ascend demo seed`'s core (`producer.demo.seed_demo`) writing N jobs into a fresh container,
  on one thread (the baseline) and on W threads: jobs/s, storage calls per job;
- `LogStreamer.write` per line against a locked `deque.append` (the floor of any thread-safe
  buffer);
- a streamer flushing ~8 MiB of log lines into an append blob against the raw SDK appending
  the same 4 MiB blocks with the same transactional MD5 (`append_block`, no streamer).

Medians of `--repeat` runs, ratios against the baselines measured in the same run; prints a
table, then one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from bench._timing import timed_runs
from producer.demo import seed_demo
from producer.streamer import LogStreamer, pack_blocks
from shared.adapters.azure_blob import AzureBlobStore
from shared.jobid import parse_job_id
from shared.layout import log_path
from shared.settings import Settings

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
JOB = parse_job_id("20260314-120000-alice-frauddetect-a3f5d2c8-7b9e4f1a")
LINE = (
    orjson.dumps(
        {
            "timestamp": "2026-03-14T12:00:00.000000Z",
            "level": "INFO",
            "logger": "ascend.user",
            "job_id": str(JOB),
            "user": "alice",
            "project": "frauddetect",
            "message": "epoch 3 finished",
            "metrics": {"epoch": 3, "loss": 0.41},
        }
    )
    + b"\n"
)


class CountingStore:
    """Delegates to a BlobStore, counting calls per method."""

    def __init__(self, inner: AzureBlobStore) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return target(*args, **kwargs)

        return counted


def fresh_store(connection: str) -> AzureBlobStore:
    settings = Settings(
        storage_connection_string=connection, container=f"bench-{uuid.uuid4().hex[:12]}"
    )
    store = AzureBlobStore.from_settings(settings)
    store.ensure_container()
    return store


def bench_seed(connection: str, jobs: int, workers: int, repeat: int) -> dict[str, float]:
    seconds, calls = [], []
    for _ in range(repeat):
        store = CountingStore(fresh_store(connection))
        summary = seed_demo(store, jobs=jobs, seed=0, now=NOW, workers=workers)  # type: ignore[arg-type]
        if summary.failures or summary.jobs != jobs:
            raise SystemExit(f"seeding failed: {summary.failures[:3]}")
        seconds.append(summary.seconds)
        calls.append(store.calls / jobs)
    median = statistics.median(seconds)
    return {
        "seconds": median,
        "jobs_per_s": jobs / median,
        "calls_per_job": statistics.median(calls),
    }


def bench_write(lines: int, repeat: int, connection: str) -> tuple[float, float]:
    """ns per line: LogStreamer.write (nothing flushed while timing) and a locked deque.append
    (the floor of any thread-safe buffer)."""
    ours, floor = [], []
    for _ in range(repeat):
        with LogStreamer(
            fresh_store(connection), JOB, capacity=lines, flush_interval=3600
        ) as streamer:
            start = time.perf_counter()
            for _ in range(lines):
                streamer.write(LINE)
            ours.append(time.perf_counter() - start)
        buffer: deque[bytes] = deque()
        lock = threading.Lock()
        start = time.perf_counter()
        for _ in range(lines):
            with lock:
                buffer.append(LINE)
        floor.append(time.perf_counter() - start)
    return statistics.median(ours) / lines * 1e9, statistics.median(floor) / lines * 1e9


def bench_flush(connection: str, repeat: int, megabytes: int = 8) -> tuple[float, float]:
    """MB/s: a streamer flushing `megabytes` of lines, and raw SDK appends of the same blocks
    with the same transactional MD5 (`validate_content=True`)."""
    count = megabytes * (1 << 20) // len(LINE)

    def with_streamer() -> None:
        with LogStreamer(
            fresh_store(connection), JOB, capacity=count, flush_interval=3600
        ) as streamer:
            for _ in range(count):
                streamer.write(LINE)

    def raw_sdk() -> None:
        store = fresh_store(connection)
        client = store.container.get_blob_client(log_path(JOB))
        client.create_append_blob()
        for block in pack_blocks([LINE] * count):
            client.append_block(b"".join(block), validate_content=True)

    size = count * len(LINE) / (1 << 20)
    return (
        size / statistics.median(timed_runs(with_streamer, repeat)),
        size / statistics.median(timed_runs(raw_sdk, repeat)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lines", type=int, default=50_000)
    args = parser.parse_args()
    azurite = start_azurite(Path(tempfile.mkdtemp(prefix="ascend-bench-seed-")))
    try:
        connection = azurite.connection_string
        one = bench_seed(connection, args.jobs, 1, args.repeat)
        many = bench_seed(connection, args.jobs, args.workers, args.repeat)
        write_ns, deque_ns = bench_write(args.lines, args.repeat, connection)
        flush_mbs, raw_mbs = bench_flush(connection, args.repeat)
    finally:
        azurite.stop()
    rows = [
        (
            f"seed {args.jobs} jobs, 1 thread (baseline)",
            f"{one['jobs_per_s']:.1f} jobs/s",
            f"{one['seconds']:.2f} s",
            f"{one['calls_per_job']:.1f} calls/job",
        ),
        (
            f"seed {args.jobs} jobs, {args.workers} threads",
            f"{many['jobs_per_s']:.1f} jobs/s",
            f"{many['seconds']:.2f} s",
            f"x{many['jobs_per_s'] / one['jobs_per_s']:.2f} of baseline",
        ),
        (
            "LogStreamer.write",
            f"{write_ns:.0f} ns/line",
            "",
            f"x{write_ns / deque_ns:.1f} of floor",
        ),
        ("locked deque.append (floor)", f"{deque_ns:.0f} ns/line", "", ""),
        (
            "streamer flush to append blob",
            f"{flush_mbs:.1f} MB/s",
            "",
            f"x{flush_mbs / raw_mbs:.2f} of raw SDK",
        ),
        ("raw SDK append_block (baseline)", f"{raw_mbs:.1f} MB/s", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median':>16}  {'time':>8}  ratio")
    for name, value, seconds, ratio in rows:
        print(f"{name:<{width}}  {value:>16}  {seconds:>8}  {ratio}")
    print(
        orjson.dumps(
            {
                "bench": "seed",
                "jobs": args.jobs,
                "workers": args.workers,
                "repeat": args.repeat,
                "seed_jobs_per_s_1": round(one["jobs_per_s"], 2),
                "seed_jobs_per_s_n": round(many["jobs_per_s"], 2),
                "seed_speedup": round(many["jobs_per_s"] / one["jobs_per_s"], 2),
                "calls_per_job": round(many["calls_per_job"], 2),
                "write_ns_per_line": round(write_ns),
                "deque_ns_per_line": round(deque_ns),
                "flush_mb_s": round(flush_mbs, 2),
                "raw_append_mb_s": round(raw_mbs, 2),
                "flush_ratio": round(flush_mbs / raw_mbs, 3),
            }
        ).decode()
    )


if __name__ == "__main__":
    main()
