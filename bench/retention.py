"""Benchmark: how long the retention sweep takes to *plan* over a large embedded index.

    .venv/bin/python -m bench.retention [--jobs 1000000] [--crossing 1000,10000,100000]
                                        [--repeat 3] [--azurite-jobs 20] [--no-baseline]

The index (a real SQLite file) is filled with `--jobs` synthetic documents in batches: a year of
jobs whose `tier` already records the stage they reached, plus 5% retained jobs up to two years
old. For each crossing count C, C jobs are put one stage behind (as if they had just crossed a
threshold), and the plan is timed: the candidate queries on the index (the few fields the sweep
reads, `lifecycle.inventory.Candidate`), then the pure plan of each candidate with the blob listing
it would get (synthesized from the candidate row, so the timing is the index and the planner, not
Azurite). Wall time and this process's CPU time are both printed: on a shared machine the wall
time depends on the load, which is printed too. Baseline, measured in the same run: the same plan
over every job, read page by page (what a sweep without candidate queries would do). With
`--azurite-jobs K` the per-job cost of the real storage inventory (two prefix listings on Azurite)
is measured too, and the table extrapolates it to C jobs. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from lifecycle.inventory import Candidate, candidate_of, candidates, read_job_state
from lifecycle.plan import BlobState, JobState, plan_job, stage_at
from lifecycle.policy import DEFAULT_POLICY, PolicyBook
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import empty_document, format_datetime
from shared.jobid import JobId, make_job_id, parse_job_id
from shared.layout import BlobKind

NOW = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
BATCH = 5000
PREVIOUS = {"Cool": "Hot", "Archive": "Cool"}


def job_of(n: int) -> tuple[JobId, bool]:
    """The n-th synthetic job: spread over a year, every 20th retained and up to 2 years old."""
    retained = n % 20 == 0
    seconds = (n * 7919) % (730 if retained else 365) * 86_400 + n % 86_400
    created = NOW - timedelta(seconds=seconds)
    job = make_job_id(
        user=f"user{n % 50}",
        project=f"proj{n % 8}",
        dependency_hash="a3f5d2c8",
        run_hash=f"{n:08x}",
        created_at=created,
    )
    return job, retained


def document(n: int) -> dict[str, Any]:
    job, retained = job_of(n)
    doc = empty_document(str(job))
    created = format_datetime(job.created_at)
    age = (NOW - job.created_at).total_seconds() / 86_400
    doc.update(
        created_at=created,
        updated_at=created,
        status="completed",
        user=job.user,
        project=job.project,
        function_name="train",
        dep_hash=job.dep_hash,
        image_hash="a3f5d2c8e9b1",
        retain=retained,
        artifact_names=["model.pkl"],
        tier=stage_at(DEFAULT_POLICY, age),
        source_version="1",
    )
    return doc


def fill(index: SqliteIndex, jobs: int) -> float:
    start = time.perf_counter()
    for first in range(0, jobs, BATCH):
        index.upsert([document(n) for n in range(first, min(jobs, first + BATCH))])
    return time.perf_counter() - start


ARTIFACTS = ("model.pkl",)  # what `document` declares
_new = tuple.__new__  # a BlobState from a plain tuple: the listing's cost, not the bench's


def synthetic_state(row: Candidate) -> JobState:
    """The blobs a listing would return for a job at the stage its index row records (names
    built from the row, as the listing would return them)."""
    job_id = row.job_id
    job = parse_job_id(job_id)
    folder = f"projects/{job.project}/users/{job.user}/jobs/{job_id}/"
    tier = row.tier or "Hot"
    created = row.created_at
    by_date = (
        f"projects/{job.project}/logs/by-date/{created[:4]}/{created[5:7]}/"
        f"{created[8:10]}/{job_id}.log.jsonl"
    )
    meta_tier = "Cool" if tier == "Archive" else tier
    blobs = [
        _blob(folder + "metadata.json", BlobKind.METADATA, meta_tier),
        _blob(folder + "package.pkl", BlobKind.PACKAGE, tier),
        _blob(folder + "result.pkl", BlobKind.RESULT, tier),
        _blob(by_date, BlobKind.BY_DATE_LOG, tier),
        *(_blob(folder + "artifacts/" + a, BlobKind.ARTIFACT, tier, "model") for a in ARTIFACTS),
    ]
    if tier == "Archive":
        blobs.append(_blob(folder + "job.log.jsonl.gz", BlobKind.ARCHIVED_LOG, "Cool"))
    else:
        blobs.append(BlobState(folder + "job.log.jsonl", BlobKind.LOG, blob_type="AppendBlob"))
    return JobState(job, bool(row.retain), tuple(blobs), "etag", row.tier, job_id=job_id)


def _blob(name: str, kind: BlobKind, tier: str | None, artifact: str | None = None) -> BlobState:
    """`BlobState(name, kind, tier=tier, artifact_type=artifact)`, built as a tuple."""
    return _new(BlobState, (name, kind, "BlockBlob", tier, "", False, artifact, True))


def put_behind(index: SqliteIndex, jobs: int, count: int) -> list[tuple[str, str]]:
    """Move `count` jobs one stage back (just crossed a threshold); returns what to restore."""
    changed: list[tuple[str, str]] = []
    for n in range(jobs):
        if len(changed) == count:
            break
        doc = document(n)
        if doc["tier"] in PREVIOUS and not (doc["retain"] and doc["tier"] == "Archive"):
            changed.append((doc["job_id"], doc["tier"]))
    _set_tiers(index, [(job_id, PREVIOUS[tier]) for job_id, tier in changed])
    return changed


def _set_tiers(index: SqliteIndex, rows: list[tuple[str, str]]) -> None:
    with index._lock:  # one transaction, not one per row (bench set-up only)
        index.conn.execute("BEGIN")
        index.conn.executemany(
            "UPDATE jobs SET tier = ? WHERE job_id = ?", [(tier, job_id) for job_id, tier in rows]
        )
        index.conn.execute("COMMIT")


def plan_candidates(index: SqliteIndex) -> tuple[int, int]:
    jobs = actions = 0
    for row in candidates(index, PolicyBook(), NOW):
        plan = plan_job(synthetic_state(row), DEFAULT_POLICY, NOW)
        jobs += 1
        actions += len(plan.actions)
    return jobs, actions


def plan_everything(index: SqliteIndex, page: int = 20_000) -> tuple[int, int]:
    """Baseline: every job, page by page (keyset on job_id), each planned."""
    jobs = actions = 0
    after = ""
    while True:
        docs = index.select("job_id > ?", [after], order_by="job_id", limit=page)
        if not docs:
            return jobs, actions
        for doc in docs:
            plan = plan_job(synthetic_state(candidate_of(doc)), DEFAULT_POLICY, NOW)
            jobs += 1
            actions += len(plan.actions)
        after = docs[-1]["job_id"]


def timed(call: Any, repeat: int) -> tuple[list[tuple[float, float]], Any]:
    """(wall seconds, this process's CPU seconds) of each of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times, result


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def azurite_seconds_per_job(jobs: int, workdir: Path) -> float:
    """Median seconds of the real storage inventory of one job (two listings) on Azurite."""
    from ascend_cli.azurite import start_azurite
    from shared.adapters.azure_blob import AzureBlobStore
    from shared.settings import Settings

    server = start_azurite(workdir / "azurite")
    try:
        store = AzureBlobStore.from_settings(
            Settings(storage_connection_string=server.connection_string, container="bench")
        )
        store.ensure_container()
        docs = [document(n) for n in range(jobs)]
        for doc in docs:
            state = synthetic_state(candidate_of(doc))
            for blob in state.blobs:
                if blob.blob_type == "AppendBlob":
                    store.create_append(blob.name)
                else:
                    store.write(blob.name, b"x" * 64)
        times = []
        for doc in docs:
            start = time.perf_counter()
            read_job_state(store, doc["job_id"], candidate_of(doc), DEFAULT_POLICY, NOW)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--crossing", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--azurite-jobs", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    crossings = [int(c) for c in args.crossing.split(",") if int(c) <= args.jobs]
    with tempfile.TemporaryDirectory() as tmp:
        index = SqliteIndex(Path(tmp) / "index.sqlite3")
        index.ensure()
        fill_s = fill(index, args.jobs)
        print(f"filled {index.count():,} documents in {fill_s:.1f} s")
        settled_times, (settled_jobs, _) = timed(lambda: plan_candidates(index), args.repeat)
        rows = [_row(0, settled_jobs, 0, settled_times)]
        for count in crossings:
            changed = put_behind(index, args.jobs, count)
            times, (jobs, actions) = timed(lambda: plan_candidates(index), args.repeat)
            rows.append(_row(count, jobs, actions, times))
            _set_tiers(index, changed)
        baseline = None
        if not args.no_baseline:
            base_times, (base_jobs, _) = timed(lambda: plan_everything(index), 1)
            baseline = {
                "jobs": base_jobs,
                "median_s": statistics.median(wall for wall, _ in base_times),
                "cpu_median_s": statistics.median(cpu for _, cpu in base_times),
            }
        per_job = (
            azurite_seconds_per_job(args.azurite_jobs, Path(tmp)) if args.azurite_jobs else None
        )
        index.close()
    report(args.jobs, fill_s, rows, baseline, per_job)


def _row(
    crossing: int, jobs: int, actions: int, times: list[tuple[float, float]]
) -> dict[str, Any]:
    walls = [wall for wall, _ in times]
    return {
        "crossing": crossing,
        "candidates": jobs,
        "actions": actions,
        "median_s": statistics.median(walls),
        "p95_s": p95(walls),
        "cpu_median_s": statistics.median(cpu for _, cpu in times),
        "load": round(os.getloadavg()[0], 1),
    }


def report(
    jobs: int,
    fill_s: float,
    rows: list[dict[str, Any]],
    baseline: dict[str, Any] | None,
    per_job: float | None,
) -> None:
    first = next((r for r in rows if r["crossing"]), rows[0])
    print(
        f"\nretention plan over {jobs:,} jobs in the embedded index (median of repeats; wall "
        "seconds, this process's CPU seconds, and the machine's 1-minute load average)"
    )
    print(
        f"{'crossing':>9} {'candidates':>10} {'actions':>8} {'median s':>9} {'p95 s':>7} "
        f"{'cpu s':>6} {'load':>5} {'vs first':>8} {'vs full scan':>12} "
        f"{'+ Azurite inventory':>20}"
    )
    for row in rows:
        ratio = row["median_s"] / first["median_s"] if first["median_s"] else 0.0
        scan = f"{row['median_s'] / baseline['median_s']:.3f}x" if baseline else "-"
        storage = f"~{row['candidates'] * per_job:.0f} s" if per_job is not None else "-"
        print(
            f"{row['crossing']:>9,} {row['candidates']:>10,} {row['actions']:>8,} "
            f"{row['median_s']:>9.3f} {row['p95_s']:>7.3f} {row['cpu_median_s']:>6.2f} "
            f"{row['load']:>5.1f} {ratio:>7.1f}x {scan:>12} "
            f"{storage:>20}"
        )
    if baseline:
        print(
            f"baseline (plan every job, paged): {baseline['median_s']:.2f} s "
            f"({baseline['cpu_median_s']:.2f} s CPU) for {baseline['jobs']:,} jobs"
        )
    if per_job is not None:
        print(f"storage inventory on Azurite: {per_job * 1000:.1f} ms per candidate job (median)")
    print(
        orjson.dumps(
            {
                "bench": "retention",
                "jobs": jobs,
                "fill_s": round(fill_s, 2),
                "rows": rows,
                "baseline": baseline,
                "azurite_inventory_s_per_job": per_job,
            }
        ).decode()
    )


if __name__ == "__main__":
    main()
