"""Benchmark: the five README questions on an embedded index of synthetic jobs.

    .venv/bin/python -m bench.query [--jobs 1000000 ...] [--repeat 50] [--path FILE] [--rebuild]
    .venv/bin/python -m bench.query --jobs 1000000 10000000   # both sizes, in the same run

Builds each index once (batched upserts through `SqliteIndex`, deterministic data) into a file
in the temp dir and reuses it. A size that is 2-16 times `REPLICATED_FROM` is built from that
index's file (built first if missing) by `bench.replicate`: copies of its jobs with new IDs and
times in the same 180 days, minutes instead of hours for 10M; the result is checked (every job
there, a copy read back whole, the file current for `ensure()`, 20 answers to each question).
Then times each question as an admin, first page of 20, through `query.search` (parse, scope,
resolve, compile, SQL), and a baseline measured in the same run: the newest 20 jobs through
`SqliteIndex.select` with no query at all. With several sizes, each question is timed on each
index in turn. Prints a table per size (median and p95 of wall time, median CPU time of this
process, ratio of medians to the baseline), the file's bytes per job, the load average, and
one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench import replicate
from bench.peer_data import DAYS, NOW, OTHERS, STATUSES  # the same job shape as bench.peer
from query import search
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.documents import SearchDocument, as_document, empty_document, format_datetime
from shared.principal import Principal

TORCH = ("1.13.1", "2.0.0", "2.0.1", "2.1.0", "2.1.0+cu118", "2.1.2", "2.2.0", "2.3.0rc1")
NODES = {"cpu_small": 0.096, "cpu_medium": 0.192, "gpu_small": 0.526, "gpu_medium": 3.67}
BATCH = 5000
REPLICATED_FROM = 1_000_000
FIVE = 5  # the first five of `questions()` are the README's


def dependency_sets(rng: random.Random, user: int) -> list[tuple[str, list[str]]]:
    """A user's few images: (12-hex hash, packages)."""
    sets = []
    for k in range(4):
        packages = [f"torch=={rng.choice(TORCH)}", *rng.sample(OTHERS, 3)]
        digest = hashlib.sha256(f"{user}/{k}/{packages}".encode()).hexdigest()[:12]
        sets.append((digest, packages))
    return sets


def synthetic_jobs(count: int, seed: int = 7) -> Iterator[SearchDocument]:
    """`count` realistic documents over the last DAYS days, deterministic for `seed`."""
    rng = random.Random(seed)
    images = {u: dependency_sets(rng, u) for u in range(200)}
    # Oldest first, as jobs arrive in production.
    ages = sorted((rng.randrange(DAYS * 86400) for _ in range(count)), reverse=True)
    for n, age in enumerate(ages):
        user = rng.randrange(200)
        image, packages = rng.choice(images[user])
        created = NOW - timedelta(seconds=age)
        yield _document(
            rng,
            n,
            user=f"user{user:03d}",
            project=f"proj{user % 20:02d}",
            created=created,
            image=image,
            packages=packages,
        )


def _document(
    rng: random.Random,
    n: int,
    *,
    user: str,
    project: str,
    created: datetime,
    image: str,
    packages: list[str],
) -> SearchDocument:
    node = rng.choice(tuple(NODES))
    duration = round(rng.expovariate(1 / 1800), 3)
    job_id = f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{image[:8]}-{n:08x}"
    doc: dict[str, Any] = dict(empty_document(job_id))
    doc.update(
        created_at=format_datetime(created),
        updated_at=format_datetime(created),
        status=rng.choice(STATUSES),
        user=user,
        project=project,
        function_name=rng.choice(("train_model", "evaluate", "preprocess", "predict")),
        node_type=node,
        dep_hash=image[:8],
        image_hash=image,
        python_version="3.11",
        packages=packages,
        package_names=[p.split("==")[0] for p in packages],
        use_gpu=node.startswith("gpu"),
        duration_seconds=duration,
        exit_code=0,
        cost_usd=round(duration / 3600 * NODES[node], 4),
        source_version="v1",
        tags=[f"experiment=exp{rng.randrange(50)}"] + (["retain=true"] if n % 97 == 0 else []),
        metrics_last={"loss": round(rng.random(), 4)} if n % 2 else {},
    )
    return as_document(doc)


def build(path: Path, count: int) -> None:
    """Write `count` synthetic jobs into a new index at `path`: generated in batches, or made
    from the `REPLICATED_FROM`-job index when `count` is a multiple of it (2-16 times)."""
    copies, rest = divmod(count, REPLICATED_FROM)
    if rest or not 1 < copies <= replicate.MAX_COPIES:
        write_index(path, synthetic_jobs(count), count)
        return
    source = index_path(REPLICATED_FROM)
    if not source.exists():
        build(source, REPLICATED_FROM)
    started = time.perf_counter()
    print(f"making {count:,} jobs from {source} ({copies} copies)", flush=True)
    replicate.replicate(source, path, copies)
    try:
        check(source, path, copies, count)
    except SystemExit:
        path.unlink()  # not kept for the next run
        raise
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"built {count:,} jobs in {time.perf_counter() - started:.0f} s: {path}")
    print(f"peak RSS of this process so far: {peak:,.0f} MiB")


def index_path(jobs: int) -> Path:
    """Where the index of `jobs` synthetic jobs is kept between runs."""
    return Path(tempfile.gettempdir()) / f"ascend-bench-query-{jobs}.sqlite3"


def check(source_path: Path, path: Path, copies: int, count: int) -> None:
    """A replicated index is whole: `count` jobs, current for `ensure()`, copies read back as
    made, and 20 answers to each of the five questions."""
    source, index = SqliteIndex(source_path), SqliteIndex(path)
    try:
        if not replicate.is_current(index):
            raise SystemExit(f"{path}: ensure() would still change it")
        found = index.count()
        if found != count:
            raise SystemExit(f"{path}: {found:,} jobs, expected {count:,}")
        replicate.spot_check(source, index, copies)
        admin, clock = Principal.of("bench", "admin"), FixedClock(NOW)
        for name, text in list(questions().items())[:FIVE]:
            hits = len(search(index, admin, text, clock=clock).documents)
            if hits != 20:  # noqa: PLR2004 (a first page)
                raise SystemExit(f"{path}: {name!r} found {hits} jobs, expected 20")
    finally:
        source.close()
        index.close()
    print(f"checked: {count:,} jobs, current, copies read back whole, 20 answers each")


def write_index(path: Path, documents: Iterable[SearchDocument], count: int) -> None:
    """Write `documents` (`count` of them) into a new index at `path`, in batches."""
    index = SqliteIndex(path)
    index.ensure()
    started, batch = time.perf_counter(), list[SearchDocument]()
    with index.deferred_indexes():  # a new file: the query indexes are made after the rows
        for doc in documents:
            batch.append(doc)
            if len(batch) == BATCH:
                index.upsert(batch)
                batch = []
        index.upsert(batch)
    index.close()
    seconds = time.perf_counter() - started
    print(f"built {count:,} jobs in {seconds:.0f} s ({count / seconds:,.0f} jobs/s): {path}")


def questions() -> dict[str, str]:
    """The five README questions as queries (the image and user exist in the synthetic data),
    and two selective JSON-column terms, which scan newest first and read each row's own JSON."""
    rng = random.Random(7)
    images = {u: dependency_sets(rng, u) for u in range(200)}
    image = images[42][0][0]
    week = (NOW - timedelta(days=30)).date()
    return {
        "failed jobs in the last week": "status:failed created:>=-7d",
        "jobs using torch>=2.0.0": 'package:"torch>=2.0.0"',
        "GPU jobs by cost": "gpu:true sort:-cost",
        "jobs using an image": f"image:user042-{image}",
        "a user's jobs in a date range": (
            f"user:user042 created:>={week} created:<{week + timedelta(days=7)}"
        ),
        "(extra) a tag on 1% of jobs": "tag:retain",
        "(extra) a metric bound, 1% of jobs": "metric:loss<0.02",
    }


def timings(call: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `repeat` calls (after 3 to warm up)."""
    for _ in range(3):
        call()
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


Row = tuple[str, str, list[float], list[float], int]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[REPLICATED_FROM])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--path", type=Path, default=None, help="the index file (one size)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.path and len(args.jobs) > 1:
        parser.error("--path names one file: give one --jobs size")
    indexes = {}
    for jobs in args.jobs:
        path = args.path or index_path(jobs)
        if args.rebuild or not path.exists():
            path.unlink(missing_ok=True)
            build(path, jobs)
        indexes[jobs] = SqliteIndex(path)
        indexes[jobs].ensure()
    load = os.getloadavg()
    rows = measure(indexes, args.repeat)
    load_after = os.getloadavg()
    print(f"\nload average (1 min) {load[0]:.1f} before, {load_after[0]:.1f} after")
    for jobs, index in indexes.items():
        report(rows[jobs], jobs, index.path.stat().st_size / jobs)


def measure(indexes: dict[int, SqliteIndex], repeat: int) -> dict[int, list[Row]]:
    """Each question's times on each index, the indexes in turn per question."""
    admin, clock = Principal.of("bench", "admin"), FixedClock(NOW)
    rows: dict[int, list[Row]] = {jobs: [] for jobs in indexes}
    for jobs, index in indexes.items():
        wall, cpu = timings(functools.partial(index.select, "1", (), limit=20), repeat)
        rows[jobs].append(("baseline: newest 20, no query", "", wall, cpu, 20))
    for name, text in questions().items():
        for jobs, index in indexes.items():
            found = search(index, admin, text, clock=clock).documents
            wall, cpu = timings(functools.partial(search, index, admin, text, clock=clock), repeat)
            rows[jobs].append((name, text, wall, cpu, len(found)))
    return rows


def report(rows: list[Row], jobs: int, bytes_per_job: float) -> None:
    base = statistics.median(rows[0][2])
    print(f"\n{jobs:,} jobs ({bytes_per_job:,.0f} B/job), first page of 20 as admin, ms per query")
    print(f"{'question':34} {'median':>8} {'p95':>8} {'cpu':>7} {'x base':>7} {'hits':>5}  query")
    result: dict[str, Any] = {
        "bench": "query",
        "jobs": jobs,
        "bytes_per_job": round(bytes_per_job),
        "baseline_median_ms": round(base, 3),
        "load_average": round(os.getloadavg()[0], 1),
    }
    for name, text, wall, cpu, hits in rows:
        median, used = statistics.median(wall), statistics.median(cpu)
        print(
            f"{name:34} {median:8.2f} {p95(wall):8.2f} {used:7.2f} {median / base:7.1f} "
            f"{hits:5}  {text}"
        )
        result[name] = {
            "median_ms": round(median, 3),
            "p95_ms": round(p95(wall), 3),
            "cpu_median_ms": round(used, 3),
            "ratio_to_baseline": round(median / base, 2),
            "hits": hits,
        }
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
