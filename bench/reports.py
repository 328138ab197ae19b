"""Benchmark: each report over an embedded index of 1,000,000 jobs, against the same report
computed by scanning every document, in the same run; and the error signature's cost per job.

    .venv/bin/python -m bench.reports [--jobs 1000000] [--repeat 5] [--path FILE] [--rebuild]
    .venv/bin/python -m bench.reports --upserts   # what the report indexes' order costs writes

The index is built once (bench.query's synthetic jobs, plus the fields reports read: error
signatures of failed jobs from the demo's five realistic crashes, log and artifact bytes, tiers
by age, creation week and month) and reused. Each report runs as an admin through
`query.reports` (scope, aggregate, fold). The baseline streams every row of the index, turns it
into a document and folds it with the same pure functions, so the two answers must be equal
(checked). Signature cost: `error_pattern` + `error_signature` over the demo's failures, CPU
time per failed job (and its wall time, which a loaded machine inflates) and averaged over all
jobs (the indexer computes it only for jobs with an error).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from bench import ingest
from bench.peer_data import STATUSES
from bench.query import NOW, synthetic_jobs, write_index
from indexer.document import week_of
from producer.demo_logs import _crash
from query import reports
from query.report_rows import (
    fold_cost,
    fold_failures,
    fold_images,
    fold_packages,
    fold_storage,
)
from shared.adapters import sqlite_index
from shared.adapters.sqlite_index import COLUMNS, SqliteIndex, row_to_document
from shared.clock import FixedClock
from shared.documents import format_datetime, parse_datetime
from shared.jobid import parse_job_id
from shared.principal import Principal
from shared.settings import DEFAULT_TIER_PRICES
from shared.signatures import error_pattern, error_signature
from shared.tiers import Tier

ADMIN = Principal.of("root", "admin")
COOL_AFTER_DAYS, ARCHIVE_AFTER_DAYS = 30, 90  # the synthetic jobs' tiers by age


def _tier_at(age_days: int) -> str:
    if age_days > ARCHIVE_AFTER_DAYS:
        return Tier.ARCHIVE.value
    return (Tier.COOL if age_days > COOL_AFTER_DAYS else Tier.HOT).value


def report_documents(count: int) -> Iterator[dict[str, Any]]:
    """bench.query's jobs with the fields the reports read."""
    rng = random.Random(11)
    for doc in synthetic_jobs(count):
        created = parse_datetime(doc["created_at"])
        age = (NOW - created).days
        doc.update(
            log_bytes=rng.randint(2_000, 2_000_000),
            artifact_bytes=rng.randint(0, 50_000_000),
            tier=_tier_at(age),
            created_week=week_of(created),
            created_month=f"{created:%Y-%m}",
            retain="retain=true" in doc["tags"],
        )
        if doc["status"] == "failed":
            pattern = error_pattern(*_crash(rng, parse_job_id(doc["job_id"])))
            doc.update(error_pattern=pattern, error_signature=error_signature(pattern))
        yield doc


def build(path: Path, count: int) -> None:
    write_index(path, report_documents(count), count)


# ---- the baseline: every document, folded in Python -----------------------------------------


def scan(index: SqliteIndex) -> Iterator[dict[str, Any]]:
    """Every document of the index, one at a time."""
    cursor = index.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM jobs")  # noqa: S608
    for row in cursor:
        yield row_to_document(row)


def _one(doc: dict[str, Any], fields: list[str], **measures: Any) -> dict[str, Any]:
    return {**{f: doc.get(f) for f in fields}, "count": 1, **measures}


def scanned(index: SqliteIndex) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """Each report computed from a scan of every document."""
    unused = format_datetime(NOW.replace(day=1))

    def failures() -> list[dict[str, Any]]:
        return fold_failures(
            _one(
                d,
                ["error_signature", "user", "project", "image_hash"],
                min_created_at=d["created_at"],
                max_created_at=d["created_at"],
                max_job_id=d["job_id"],
            )
            for d in scan(index)
            if d["status"] == "failed"
        )

    def cost() -> list[dict[str, Any]]:
        return fold_cost(
            (
                _one(
                    d,
                    ["project", "use_gpu", "status"],
                    sum_duration_seconds=d["duration_seconds"],
                    sum_cost_usd=d["cost_usd"],
                )
                for d in scan(index)
            ),
            ["project"],
        )

    def storage() -> list[dict[str, Any]]:
        return fold_storage(
            (
                _one(
                    d,
                    ["project", "tier", "retain", "status"],
                    sum_log_bytes=d["log_bytes"],
                    sum_artifact_bytes=d["artifact_bytes"],
                )
                for d in scan(index)
            ),
            ["project"],
            DEFAULT_TIER_PRICES,
        )

    def images() -> list[dict[str, Any]]:
        docs = list(scan(index))  # two passes over the same documents
        rows = (
            _one(d, ["user", "image_hash", "status"], max_created_at=d["created_at"]) for d in docs
        )
        packages = {(d["user"], d["image_hash"], p) for d in docs for p in d["packages"]}
        return fold_images(
            rows,
            ({"user": u, "image_hash": i, "packages": p, "count": 1} for u, i, p in packages),
            unused_before=unused,
        )

    def packages() -> list[dict[str, Any]]:
        jobs: Counter[tuple[str, str, str]] = Counter(
            (d["user"], d["image_hash"], p) for d in scan(index) for p in d["packages"]
        )
        return fold_packages(
            {"user": u, "image_hash": i, "packages": p, "count": n} for (u, i, p), n in jobs.items()
        )

    return {
        "failures": failures,
        "cost --by project": cost,
        "storage --by project": storage,
        "images": images,
        "images --packages": packages,
    }


def indexed(index: SqliteIndex) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    """Each report through `query.reports`, as an admin."""
    request = reports.ReportRequest(index, ADMIN, "", reports.Window(), FixedClock(NOW))
    return {
        "failures": lambda: reports.failures(request, limit=1000),
        "cost --by project": lambda: reports.cost(request, ["project"]),
        "storage --by project": lambda: reports.storage(request, ["project"]),
        "images": lambda: reports.images(request, unused_days=NOW.day - 1),
        "images --packages": lambda: reports.packages(request),
    }


def comparable(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as both paths must agree on (counts and sums; the storage sweep is the indexed
    path's own addition; a failure's example is any job of its newest)."""
    drop = {
        "pattern",
        "new",
        "sweep_moves",
        "sweep_deletes",
        "sweep_freed_bytes",
        "monthly_usd_after_sweep",
    }
    out = [
        {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items() if k not in drop}
        for r in rows
    ]
    return sorted(out, key=lambda r: orjson.dumps(r, option=orjson.OPT_SORT_KEYS))


# ---- signature cost -------------------------------------------------------------------------


FAILED_SHARE = STATUSES.count("failed") / len(STATUSES)


REFERENCE_STEPS = 1_000_000


def reference_loop() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this (virtual) machine runs Python right
    now. Its speed drifts by up to ~1.6x between runs here; the signature moves with it."""
    start = time.process_time()
    total = 0
    for step in range(REFERENCE_STEPS):
        total += step
    return (time.process_time() - start) * 1e3


def signature_cost(samples: int = 20_000) -> tuple[float, float, float]:
    """(median CPU µs, median wall-clock µs) of `error_pattern` + `error_signature` per failed
    job over the demo's crashes, and the median `reference_loop` ms timed between the batches.
    CPU time is the cost itself; on a shared machine wall time also counts the waits for a
    core."""
    rng = random.Random(3)
    job = parse_job_id("20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a")
    crashes = [_crash(rng, job) for _ in range(500)]
    cpu, wall, reference = [], [], []
    for _ in range(samples // len(crashes)):
        start, start_cpu = time.perf_counter(), time.process_time()
        for kind, message in crashes:
            error_signature(error_pattern(kind, message))
        cpu.append((time.process_time() - start_cpu) / len(crashes) * 1e6)
        wall.append((time.perf_counter() - start) / len(crashes) * 1e6)
        reference.append(reference_loop())
    return statistics.median(cpu), statistics.median(wall), statistics.median(reference)


def upsert_cost(docs: int = 20_000, runs: int = 6) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) documents/s upserted into fresh index files with the report indexes
    newest first (now) and ascending (before), runs interleaved: what the order costs writes."""
    now = sqlite_index.SCHEMA
    variants = {
        "newest first": now,
        "ascending": now.replace("created_at DESC, job_id DESC", "created_at, job_id")
        .replace("_report_failures_newest", "_report_failures_ascending")
        .replace("_report_images_newest", "_report_images_ascending"),
    }
    built = ingest.documents(docs)
    rates: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in variants}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for run in range(runs):
                for name, schema in variants.items():
                    sqlite_index.SCHEMA = schema
                    where = Path(folder) / f"{run}-{name.replace(' ', '-')}"
                    where.mkdir()
                    wall, cpu = ingest.bench_upsert(built, 1000, 1, where)
                    rates[name][0].extend(wall)
                    rates[name][1].extend(cpu)
    finally:
        sqlite_index.SCHEMA = now
    return {k: (statistics.median(w), statistics.median(c)) for k, (w, c) in rates.items()}


def _timed(
    run: Callable[[], list[dict[str, Any]]], repeat: int
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """Wall and CPU seconds of `repeat` calls of `run`, and its last answer."""
    wall, cpu, rows = [], [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        rows = run()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return wall, cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--upserts",
        action="store_true",
        help="only: upserts/s with the report indexes newest first vs ascending",
    )
    args = parser.parse_args()
    if args.upserts:
        for name, (rate, cpu_rate) in upsert_cost().items():
            print(f"upserts, report indexes {name}: {rate:,.0f} docs/s, {cpu_rate:,.0f} per CPU s")
        return
    path = args.path or Path(tempfile.gettempdir()) / f"ascend-bench-reports-{args.jobs}.sqlite3"
    if args.rebuild or not path.exists():
        path.unlink(missing_ok=True)
        build(path, args.jobs)
    index = SqliteIndex(path)
    index.ensure()
    micros, signature_wall, reference = signature_cost()
    print(
        f"signature: {micros:.1f} µs CPU median per failed job "
        f"(aim < 20; wall {signature_wall:.1f}); "
        f"{micros * FAILED_SHARE:.1f} µs per job averaged over the "
        f"{FAILED_SHARE:.0%}-failed mix; machine speed in the same run: "
        f"{reference:.0f} ms CPU for a {REFERENCE_STEPS:,}-step Python loop"
    )
    results = []
    fast, slow = indexed(index), scanned(index)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'report':<22} {'median ms':>10} {'CPU ms':>8} {'scan ms':>10} {'ratio':>7}  rows")
    for name, run in fast.items():
        wall, cpu, rows = _timed(run, args.repeat)
        scan_wall, _, scan_rows = _timed(slow[name], 1)
        same = comparable(name, rows) == comparable(name, scan_rows)
        median, base = statistics.median(wall) * 1e3, scan_wall[0] * 1e3
        print(
            f"{name:<22} {median:>10.1f} {statistics.median(cpu) * 1e3:>8.1f} {base:>10.1f} "
            f"{median / base:>7.3f}  {len(rows)}{'' if same else '  (DIFFERS from the scan)'}"
        )
        results.append(
            {
                "report": name,
                "median_ms": round(median, 1),
                "cpu_ms": round(statistics.median(cpu) * 1e3, 1),
                "scan_ms": round(base, 1),
                "equal": same,
            }
        )
    print(
        orjson.dumps(
            {
                "jobs": args.jobs,
                "signature_cpu_us": round(micros, 2),
                "signature_wall_us": round(signature_wall, 2),
                "reference_loop_ms": round(reference, 1),
                "reports": results,
            }
        ).decode()
    )
    index.close()


if __name__ == "__main__":
    main()
