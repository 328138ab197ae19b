"""Benchmark: the five README questions on an embedded index of synthetic jobs.

    .venv/bin/python -m bench.query [--jobs 1000000] [--repeat 50] [--path FILE] [--rebuild]

Builds the index once (batched upserts through `SqliteIndex`, deterministic data) into a file in
the temp dir and reuses it. Then times each question as an admin, first page of 20, through
`query.search` (parse, scope, resolve, compile, SQL), and a baseline measured in the same run:
the newest 20 jobs through `SqliteIndex.select` with no query at all. Prints a table (median,
p95, ratio of medians to the baseline) and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.peer_data import DAYS, NOW, OTHERS, STATUSES  # the same job shape as bench.peer
from query import search
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.documents import empty_document, format_datetime
from shared.principal import Principal

TORCH = ("1.13.1", "2.0.0", "2.0.1", "2.1.0", "2.1.0+cu118", "2.1.2", "2.2.0", "2.3.0rc1")
NODES = {"cpu_small": 0.096, "cpu_medium": 0.192, "gpu_small": 0.526, "gpu_medium": 3.67}
BATCH = 5000


def dependency_sets(rng: random.Random, user: int) -> list[tuple[str, list[str]]]:
    """A user's few images: (12-hex hash, packages)."""
    sets = []
    for k in range(4):
        packages = [f"torch=={rng.choice(TORCH)}", *rng.sample(OTHERS, 3)]
        digest = hashlib.sha256(f"{user}/{k}/{packages}".encode()).hexdigest()[:12]
        sets.append((digest, packages))
    return sets


def synthetic_jobs(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
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
) -> dict[str, Any]:
    node = rng.choice(tuple(NODES))
    duration = round(rng.expovariate(1 / 1800), 3)
    job_id = f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{image[:8]}-{n:08x}"
    doc = empty_document(job_id)
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
    return doc


def build(path: Path, count: int) -> None:
    """Write `count` synthetic jobs into a new index at `path`, in batches."""
    write_index(path, synthetic_jobs(count), count)


def write_index(path: Path, documents: Iterable[dict[str, Any]], count: int) -> None:
    """Write `documents` (`count` of them) into a new index at `path`, in batches."""
    index = SqliteIndex(path)
    index.ensure()
    started, batch = time.perf_counter(), []
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


def timings(call: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(3):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = args.path or Path(tempfile.gettempdir()) / f"ascend-bench-query-{args.jobs}.sqlite3"
    if args.rebuild or not path.exists():
        path.unlink(missing_ok=True)
        build(path, args.jobs)
    index = SqliteIndex(path)
    index.ensure()
    admin, clock = Principal.of("bench", "admin"), FixedClock(NOW)
    base = timings(lambda: index.select("1", (), limit=20), args.repeat)
    rows = [("baseline: newest 20, no query", "", base, 20)]
    for name, text in questions().items():
        found = search(index, admin, text, clock=clock).documents
        samples = timings(lambda t=text: search(index, admin, t, clock=clock), args.repeat)
        rows.append((name, text, samples, len(found)))
    report(rows, args.jobs, statistics.median(base))


def report(rows: list[tuple[str, str, list[float], int]], jobs: int, base: float) -> None:
    print(f"\n{jobs:,} jobs, first page of 20 as admin, ms per query")
    print(f"{'question':34} {'median':>8} {'p95':>8} {'x base':>7} {'hits':>5}  query")
    result: dict[str, Any] = {"bench": "query", "jobs": jobs, "baseline_median_ms": base}
    for name, text, samples, hits in rows:
        median = statistics.median(samples)
        print(f"{name:34} {median:8.2f} {p95(samples):8.2f} {median / base:7.1f} {hits:5}  {text}")
        result[name] = {
            "median_ms": round(median, 3),
            "p95_ms": round(p95(samples), 3),
            "ratio_to_baseline": round(median / base, 2),
            "hits": hits,
        }
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
