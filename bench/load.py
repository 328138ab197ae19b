"""Benchmark: bulk load (`ascend index load`'s path) into a large index, step by step.

    .venv/bin/python -m bench.load [--base-jobs 1000000] [--docs 20000] [--events 2000]
                                   [--repeat 3]

The base index (`--base-jobs` documents of `bench.query`'s synthetic jobs) is built once and
cached under `bench/cache/` (gitignored). Each run then measures, on `--docs` new
`metadata.json` lines (`bench.peer_data`):
(a) each step alone, in CPU microseconds per job (this process's CPU time: what the code costs,
    whatever else the shared machine is doing) and wall time: validation (`parse_metadata`),
    document building (`build_document`), upserts in batches of `indexer.load.BATCH`, line
    by line as the load runs them;
(b) the whole of `indexer.load.load_lines` (what the command runs), jobs/s by wall clock;
(c) an event at a time: `--events` documents upserted one per call, as the pipeline does.
The new jobs are deleted again after each measurement, so the base stays the same. Prints a
table and one JSON line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import query as query_bench
from bench.peer_data import jobs
from indexer.document import build_document
from indexer.load import BATCH, load_lines
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import SearchDocument
from shared.metadata import parse_metadata
from shared.settings import DEFAULT_NODE_PRICES

CACHE = Path(__file__).resolve().parent / "cache"
TARGET = 20_000


def base_index(count: int) -> Path:
    """The cached index of `count` synthetic jobs (built when missing)."""
    path = CACHE / f"load-base-{count}.sqlite3"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        query_bench.build(partial, count)
        partial.rename(path)
    return path


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def steps(index: SqliteIndex, lines: list[bytes]) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of each step on `lines`, run as `load_lines` runs them: each line
    validated and built in turn, the documents upserted `BATCH` at a time; each step's times
    summed (a clock read costs well under a microsecond). The objects alive are the load's
    own: timing all validations first, with every model kept, made the garbage collector's
    passes over them look like validation's cost."""
    clocks = (time.perf_counter, time.process_time)
    spent = {name: [0.0, 0.0] for name in ("validate", "build", "upsert")}
    pending: list[SearchDocument] = []

    def add(name: str, before: list[float]) -> list[float]:
        now = [clock() for clock in clocks]
        spent[name][0] += now[0] - before[0]
        spent[name][1] += now[1] - before[1]
        return now

    for number, line in enumerate(lines, start=1):
        started = [clock() for clock in clocks]
        meta = parse_metadata(line)
        validated = add("validate", started)
        pending.append(build_document(meta, prices=DEFAULT_NODE_PRICES, source_version=""))
        built = add("build", validated)
        if len(pending) == BATCH or number == len(lines):
            index.upsert(pending)
            pending = []
            add("upsert", built)
    index.delete([orjson.loads(line)["job_id"] for line in lines])
    return {name: (wall, cpu) for name, (wall, cpu) in spent.items()}


def whole(index: SqliteIndex, lines: list[bytes], ids: list[str]) -> tuple[float, float]:
    result = timed(lambda: load_lines(lines, index, prices=DEFAULT_NODE_PRICES))
    index.delete(ids)
    return result


def events(index: SqliteIndex, lines: list[bytes]) -> tuple[float, float]:
    """One upsert call (one transaction) per document, as the pipeline's handler makes."""
    docs = [
        build_document(parse_metadata(line), prices=DEFAULT_NODE_PRICES, source_version="")
        for line in lines
    ]
    result = timed(lambda: [index.upsert([doc]) for doc in docs])
    index.delete([d["job_id"] for d in docs])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-jobs", type=int, default=1_000_000)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started_load = os.getloadavg()[0]
    path = base_index(args.base_jobs)
    lines = [orjson.dumps(job) for job in jobs(args.docs, seed=1717)]
    ids = [orjson.loads(line)["job_id"] for line in lines]
    index = SqliteIndex(path)
    index.ensure()
    runs = []
    for _ in range(args.repeat):
        runs.append(
            {
                **steps(index, lines),
                "load": whole(index, lines, ids),
                "events": events(index, lines[: args.events]),
            }
        )
    index.close()
    report(args, runs, started_load)


def report(
    args: argparse.Namespace, runs: list[dict[str, tuple[float, float]]], started_load: float
) -> None:
    def per_job(name: str, which: int, count: int) -> float:
        return statistics.median(r[name][which] for r in runs) / count * 1e6

    load_average = f"{started_load:.1f} → {os.getloadavg()[0]:.1f}"
    print(
        f"{args.docs:,} new jobs into an index of {args.base_jobs:,}; {args.repeat} runs, "
        f"medians; {os.cpu_count()} cores, load average {load_average} (on a shared machine "
        "CPU time is the steadier measure)"
    )
    result: dict[str, Any] = {
        "bench": "load",
        "base_jobs": args.base_jobs,
        "docs": args.docs,
        "load_average": load_average,
    }
    for name in ("validate", "build", "upsert", "load", "events"):
        count = args.events if name == "events" else args.docs
        wall, cpu = per_job(name, 0, count), per_job(name, 1, count)
        result[name] = {
            "wall_us_per_job": round(wall, 1),
            "cpu_us_per_job": round(cpu, 1),
            "jobs_per_s": round(1e6 / wall),
            "jobs_per_cpu_s": round(1e6 / cpu),
        }
        print(
            f"  {name:9} {wall:8.1f} µs/job wall {cpu:8.1f} µs/job CPU  "
            f"{1e6 / wall:9,.0f} jobs/s ({1e6 / cpu:,.0f} per CPU-second)"
        )
    result["target_jobs_per_s"] = TARGET
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
