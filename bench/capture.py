"""Benchmark: job output through capture → rendering → streamer → append blob, on a fresh Azurite.

    .venv/bin/python -m bench.capture [--lines 100000] [--repeats 5] [--capacity 200000]

One job prints `--lines` distinct lines (every 100th a metrics JSON line). Each repeat runs it:

- `devnull`: printing to /dev/null, the baseline;
- `capture-null`: through the capture into a sink that only serializes the records (the capture's
  own CPU cost, no storage);
- `capture-azurite`: through the capture into a real `LogStreamer` appending to Azurite; the job
  time is the job's own view, `stored` adds the final flush until every record is in the blob.

Reported: medians over the repeats, lines/s, the overhead capture adds to the job (ratio and µs per
line against the baseline of the same run), and what the streamer dropped or could not store.
The streamer's buffer holds `--capacity` lines (its default, 1000, drops lines of a job that
prints faster than a flush interval can store; the bench reports that too with `--capacity 1000`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from producer.capture import capture_job_output
from producer.streamer import LogStreamer
from shared.adapters.azure_blob import AzureBlobStore
from shared.jobid import make_job_id
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record
from shared.settings import Settings


def job(lines: int) -> None:
    """The benchmarked job: distinct progress lines, every 100th a metrics line."""
    for i in range(lines):
        if i % 100 == 0:
            print(f'{{"step": {i}, "loss": {1.0 / (i + 1):.6f}}}')
        else:
            print(f"step {i}: processed a batch of 32 samples")


class NullSink:
    """A streamer stand-in that only serializes: the capture's cost without storage."""

    dropped = unwritten = pending = 0

    def __init__(self) -> None:
        self.count = 0

    def emit(self, record: Any) -> None:
        dump_record(record)
        self.count += 1

    def flush(self) -> bool:
        return True


@dataclass
class Runs:
    """Seconds of each repeat, per measurement."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.seconds.setdefault(name, []).append(wall)
        self.seconds.setdefault(f"{name} (cpu)", []).append(cpu)

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process) of `call`."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_devnull(lines: int) -> tuple[float, float]:
    saved = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            return timed(lambda: job(lines))
        finally:
            sys.stdout = saved


def run_null_capture(lines: int) -> tuple[float, float]:
    sink = NullSink()
    context = JobContext(job_id="bench", user="bench", project="bench")
    with capture_job_output(sink, context):
        return timed(lambda: job(lines))


def run_azurite(store: AzureBlobStore, lines: int, repeat: int, capacity: int, runs: Runs) -> None:
    job_id = make_job_id(
        user="bench",
        project="capture",
        dependency_hash="a3f5d2c8e9b1",
        run_hash=f"{repeat:08x}",
        created_at=datetime.now(UTC),
    )
    start, start_cpu = time.perf_counter(), time.process_time()
    streamer = LogStreamer(store, job_id, capacity=capacity, flush_interval=0.2)
    with capture_job_output(streamer) as captured:
        job_seconds = timed(lambda: job(lines))
    streamer.close()
    runs.add("capture-azurite job", *job_seconds)
    runs.add("capture-azurite stored", time.perf_counter() - start, time.process_time() - start_cpu)
    props = store.props(log_path(job_id))
    runs.facts.update(
        records_stored=streamer.stored,
        dropped=streamer.dropped,
        unwritten=captured.unwritten,
        log_bytes=props.size if props else 0,
        failed_flushes=streamer.failed_flushes,
    )


def measure(lines: int, repeats: int, capacity: int) -> Runs:
    runs = Runs()
    with tempfile.TemporaryDirectory() as folder:
        azurite = start_azurite(Path(folder))
        try:
            settings = Settings(
                storage_connection_string=azurite.connection_string, container="bench-capture"
            )
            store = AzureBlobStore.from_settings(settings)
            store.ensure_container()
            for repeat in range(repeats):
                runs.add("devnull", *run_devnull(lines))
                runs.add("capture-null", *run_null_capture(lines))
                run_azurite(store, lines, repeat, capacity, runs)
        finally:
            azurite.stop()
    return runs


def report(runs: Runs, lines: int, repeats: int, capacity: int) -> dict[str, Any]:
    rows = dict(sorted((name, runs.median(name)) for name in runs.seconds))
    bases = {name: rows["devnull (cpu)" if name.endswith("(cpu)") else "devnull"] for name in rows}
    summary: dict[str, Any] = {
        "bench": "capture",
        "lines": lines,
        "repeats": repeats,
        "capacity": capacity,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "median_seconds": {k: round(v, 4) for k, v in rows.items()},
        "lines_per_second": {k: round(lines / v) for k, v in rows.items()},
        "overhead_ratio_vs_devnull": {k: round(v / bases[k], 2) for k, v in rows.items()},
        "overhead_us_per_line": {
            k: round((v - bases[k]) / lines * 1e6, 2) for k, v in rows.items()
        },
        **runs.facts,
    }
    print(
        f"{'measurement (median)':<30}{'seconds':>9}{'lines/s':>11}{'x devnull':>11}"
        f"{'µs/line +':>11}"
    )
    for name, seconds in rows.items():
        print(
            f"{name:<30}{seconds:>9.3f}{lines / seconds:>11,.0f}{seconds / bases[name]:>11.2f}"
            f"{(seconds - bases[name]) / lines * 1e6:>11.2f}"
        )
    print(f"load average (1 min): {summary['load_average_1m']} on {os.cpu_count()} CPUs")
    print(f"last Azurite run: {runs.facts}")
    print(orjson.dumps(summary).decode())
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.capture",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--lines", type=int, default=100_000, help="lines the job prints")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each measurement")
    parser.add_argument(
        "--capacity", type=int, default=200_000, help="the streamer's buffer, in lines"
    )
    args = parser.parse_args(argv)
    if args.lines < 1 or args.repeats < 1 or args.capacity < 1:
        parser.error("--lines, --repeats and --capacity must be at least 1")
    report(
        measure(args.lines, args.repeats, args.capacity), args.lines, args.repeats, args.capacity
    )


if __name__ == "__main__":
    main()
