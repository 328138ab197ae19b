"""Benchmark: ingest, from the embedded index alone to the whole local pipeline.

    .venv/bin/python -m bench.ingest [--docs 50000] [--batch 1000] [--repeat 5]
                                     [--jobs 10000] [--workers 8] [--skip-e2e] [--azurite-disk]
                                     [--processes 1] [--get-processes 2]

(a) documents/s upserted into a fresh SQLite index file (`SqliteIndex.upsert` in batches of
    `--batch`, realistic documents built by `indexer.document.build_document`), `--repeat` runs,
    each timed until `close()` has checkpointed the WAL into the database file; against a
    baseline in the same run: the same documents as plain rows into a bare table.
(b) events/s of `pipeline run --once` (`indexer.worker.run_once`) over `--jobs` seeded jobs
    (metadata.json, an append-blob job.log.jsonl of 20 records, package.pkl, result.pkl and the
    two artifacts of the design's example, model.pkl and plot.png: six blobs, six events) against
    a fresh Azurite the benchmark starts itself. Seeding uses a direct writer.
(c) the ceiling, measured in the same run on the same Azurite: Azurite's own raw GET rate, by a
    lean client that cannot be the bottleneck (keep-alive `http.client` connections with a
    container SAS, `--workers` threads in each of `--get-processes` processes), checked by
    Azurite's CPU use during the measurement (1.0 = one core, all a Node process can use); the
    ratio (b)/(c) is reported. For reference, GETs/s through the Azure SDK client in this one
    process (`--workers` threads): the client's limit, not Azurite's.
(d) where the run's CPU went: Azurite's and this process's CPU milliseconds per job, and
    Azurite's per GET of (c). Azurite's CPU per event over its CPU per GET bounds the ratio
    (b)/(c) from above for this request mix, however fast the client.
Prints a readable table and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import orjson
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from ascend_cli.azurite import Azurite, start_azurite
from bench._timing import process_cpu_seconds
from indexer.document import LogFacts, build_document
from indexer.logstats import LogStats
from indexer.worker import run_once
from producer.demo_logs import chance
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import COLUMNS, SqliteIndex
from shared.layout import artifact_path, log_path, metadata_path, package_path, result_path
from shared.metadata import JobMetadata
from shared.services import Services
from shared.settings import DEFAULT_NODE_PRICES, Settings
from shared.tags import job_blob_tags

T = TypeVar("T")
NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
PACKAGES = (
    "torch==2.0.0",
    "torch==2.1.0",
    "numpy==1.24.0",
    "numpy==1.26.4",
    "pandas==2.0.0",
    "scikit-learn==1.3.0",
    "transformers==4.30.0",
    "scipy==1.11.4",
    "Pillow==10.0.1",
)
STATUSES = ("completed",) * 7 + ("failed", "cancelled", "running")
ARTIFACTS = (("model.pkl", "model", 4096), ("plot.png", "visualization", 1024))
BLOBS_PER_JOB = 4 + len(ARTIFACTS)


# ---- synthetic jobs -------------------------------------------------------------------------


def synthetic_metadata(count: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """`count` valid metadata.json documents, oldest first (as jobs arrive), deterministic."""
    rng = random.Random(seed)
    ages = sorted((rng.randrange(90 * 86400) for _ in range(count)), reverse=True)
    for n, age in enumerate(ages):
        user, project = f"user{rng.randrange(50):02d}", f"proj{rng.randrange(8)}"
        packages = rng.sample(PACKAGES, 5)
        hash12 = hashlib.sha256(repr(sorted(packages)).encode()).hexdigest()[:12]
        created = NOW - timedelta(seconds=age)
        start, duration = created + timedelta(seconds=20), round(rng.expovariate(1 / 1800), 3)
        status = rng.choice(STATUSES)
        yield {
            "job_id": f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{hash12[:8]}-{n:08x}",
            "created_at": created.isoformat(),
            "updated_at": (start + timedelta(seconds=duration)).isoformat(),
            "status": status,
            "user": user,
            "project": project,
            "function_name": rng.choice(("train", "evaluate", "predict")),
            "config": {"node_type": rng.choice(tuple(DEFAULT_NODE_PRICES))},
            "dependencies": {
                "hash": hash12,
                "python_version": "3.11",
                "packages": packages,
                "use_gpu": chance(rng, 0.4),
            },
            "execution": {}
            if status == "running"
            else {"start_time": start.isoformat(), "duration_seconds": duration, "exit_code": 0},
            "artifacts": [
                {"name": name, "type": kind, "size_bytes": size} for name, kind, size in ARTIFACTS
            ],
            "tags": {
                "experiment": rng.choice(("baseline", "wide", "deep")),
                "retain": rng.choice(("true", "false")),
            },
        }


def log_bytes(meta: dict[str, Any], lines: int = 20) -> bytes:
    """A small JSON Lines log for the job, with metrics and an error."""
    base = {
        "timestamp": meta["created_at"],
        "logger": "ascend.runner",
        "job_id": meta["job_id"],
        "user": meta["user"],
        "project": meta["project"],
    }
    records = [
        {**base, "level": "INFO", "message": f"step {i}", "metrics": {"loss": 1 / (i + 1)}}
        for i in range(lines - 1)
    ]
    records.append({**base, "level": "ERROR", "message": "Failed to upload artifact"})
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def documents(count: int) -> list[dict[str, Any]]:
    stats = LogStats(lines=20, errors=1, last_error="boom", metrics_last={"loss": 0.05, "acc": 0.9})
    return [
        build_document(
            JobMetadata.model_validate(m),
            prices=DEFAULT_NODE_PRICES,
            source_version=f"v{n}",
            log=LogFacts(stats=stats),
        )
        for n, m in enumerate(synthetic_metadata(count))
    ]


# ---- (a) the embedded index alone ------------------------------------------------------------


def bench_upsert(
    docs: list[dict[str, Any]], batch: int, repeat: int, folder: Path
) -> tuple[list[float], list[float]]:
    """documents/s of each run, each into a fresh index file: by wall clock, and per second of
    this process's CPU time (what the code costs, whatever else the machine is doing)."""
    rates, cpu_rates = [], []
    for run in range(repeat):
        index = SqliteIndex(folder / f"upsert-{run}.sqlite3")
        index.ensure()
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(docs), batch):
            index.upsert(docs[start : start + batch])
        index.close()  # timed too: the last checkpoint is part of the work
        rates.append(len(docs) / (time.perf_counter() - started))
        cpu_rates.append(len(docs) / (time.process_time() - cpu))
    return rates, cpu_rates


def bench_floor(docs: list[dict[str, Any]], batch: int, repeat: int, folder: Path) -> list[float]:
    """The baseline of (a): the same documents as plain rows into one bare table (same columns,
    same pragmas, no query index, no never-older check), in the same batches: what SQLite
    itself costs on this disk."""
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    insert = f"INSERT INTO jobs VALUES ({', '.join('?' for _ in COLUMNS)})"  # noqa: S608
    rates = []
    for run in range(repeat):
        conn = sqlite3.connect(folder / f"floor-{run}.sqlite3", isolation_level=None)
        for pragma in ("page_size=4096", "journal_mode=WAL", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(f"CREATE TABLE jobs ({columns})")
        started = time.perf_counter()
        for start in range(0, len(docs), batch):
            rows = [
                [
                    orjson.dumps(v).decode() if isinstance(v, list | dict) else v
                    for v in map(doc.get, COLUMNS)
                ]
                for doc in docs[start : start + batch]
            ]
            conn.execute("BEGIN")
            conn.executemany(insert, rows)
            conn.execute("COMMIT")
        conn.close()
        rates.append(len(docs) / (time.perf_counter() - started))
    return rates


# ---- (b) and (c): against Azurite -----------------------------------------------------------


def seed(blobs: AzureBlobStore, metas: list[dict[str, Any]], workers: int) -> float:
    """Write the jobs directly (`BLOBS_PER_JOB` blobs each); returns seconds taken."""

    def write(meta: dict[str, Any]) -> None:
        job = JobMetadata.model_validate(meta).parsed_job_id
        retain = meta["tags"]["retain"] == "true"
        blobs.create_append(
            log_path(job), tags=job_blob_tags(job, "log", retain=retain), create_only=False
        )
        blobs.append(log_path(job), log_bytes(meta))
        files = [
            (package_path(job), "package", b"p" * 256),
            (result_path(job), "result", b"r" * 512),
        ]
        files += [
            (artifact_path(job, name), "artifact", b"a" * size) for name, _, size in ARTIFACTS
        ]
        for path, kind, data in [*files, (metadata_path(job), "metadata", orjson.dumps(meta))]:
            blobs.write(path, data, tags=job_blob_tags(job, kind, retain=retain))

    return _timed(lambda: _parallel(write, metas, workers))


def sdk_gets(blobs: AzureBlobStore, names: list[str], workers: int) -> float:
    """GETs/s of whole small blobs through the Azure SDK, `workers` threads in this process."""
    seconds = _timed(
        lambda: _parallel(
            lambda n: blobs.container.get_blob_client(n).download_blob().readall(), names, workers
        )
    )
    return len(names) / seconds


def azurite_gets(
    azurite: Azurite, container: str, names: list[str], *, threads: int, processes: int
) -> tuple[float, float, float]:
    """Azurite's own GET rate: whole small blobs fetched by a lean client (keep-alive
    `http.client`, a container SAS) in `processes` processes of `threads` threads, all started
    together. Returns (GETs/s, Azurite CPU seconds, wall seconds)."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    sas = generate_container_sas(
        str(service.account_name),
        container,
        account_key=service.credential.account_key,
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(hours=2),
    )
    base = f"http://{azurite.host}:{azurite.port}/{service.account_name}/{container}"
    context = multiprocessing.get_context("spawn")
    version = Settings().storage_api_version or ""
    chunks = [(base, sas, version, names[i::processes], threads) for i in range(processes)]
    with context.Pool(
        processes, initializer=_set_barrier, initargs=(context.Barrier(processes),)
    ) as pool:
        cpu_before = process_cpu_seconds(azurite.process.pid)
        spans = pool.map(_lean_gets, chunks, chunksize=1)
        cpu = process_cpu_seconds(azurite.process.pid) - cpu_before
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return len(names) / wall, cpu, wall


_barrier: Any = None


def _set_barrier(barrier: Any) -> None:
    global _barrier  # noqa: PLW0603 - one per pool process, set once by the pool's initializer
    _barrier = barrier


def _lean_gets(chunk: tuple[str, str, str, list[str], int]) -> tuple[float, float]:
    """GET each name of the chunk on `threads` keep-alive connections; (start, end) in
    `perf_counter` time, which is the same clock in every process (CLOCK_MONOTONIC)."""
    base, sas, version, names, threads = chunk
    url = urllib.parse.urlsplit(base)
    local = threading.local()

    def get(name: str) -> None:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(str(url.hostname), url.port, timeout=30)
        local.conn.request(
            "GET", f"{url.path}/{urllib.parse.quote(name)}?{sas}", headers={"x-ms-version": version}
        )
        response = local.conn.getresponse()
        response.read()
        if response.status != HTTPStatus.OK:
            raise RuntimeError(f"GET {name}: HTTP {response.status}")

    _barrier.wait()
    start = time.perf_counter()
    _parallel(get, names, threads)
    return start, time.perf_counter()


def bench_e2e(
    jobs: int,
    workers: int,
    folder: Path,
    *,
    disk: bool = False,
    get_processes: int = 2,
    processes: int = 1,
) -> dict[str, Any]:
    azurite = start_azurite(folder / "azurite", in_memory=not disk)
    try:
        settings = Settings(
            storage_connection_string=azurite.connection_string,
            container="bench",
            index_path=folder / "e2e.sqlite3",
            pipeline_workers=workers,
        )
        blobs = AzureBlobStore.from_settings(settings)
        blobs.ensure_container()
        metas = list(synthetic_metadata(jobs))
        seed_seconds = seed(blobs, metas, workers)
        names = [metadata_path(JobMetadata.model_validate(m).parsed_job_id) for m in metas]
        sdk = sdk_gets(blobs, names, workers)
        gets, get_cpu, get_wall = azurite_gets(
            azurite, settings.container, names, threads=workers, processes=get_processes
        )
        services = Services(settings, blobs=blobs)
        azurite_cpu, own_cpu = process_cpu_seconds(azurite.process.pid), time.process_time()
        started = time.perf_counter()
        children = _children_cpu_seconds()
        summary = run_once(
            services.blobs,
            services.index,
            services.clock,
            services.settings,
            workers=workers,
            processes=processes,
            checkpoint=folder / "checkpoint.json",
        )
        seconds = time.perf_counter() - started
        azurite_cpu = process_cpu_seconds(azurite.process.pid) - azurite_cpu
        own_cpu = time.process_time() - own_cpu + _children_cpu_seconds() - children
        indexed = services.index.count()
    finally:
        azurite.stop()
    events = summary.events
    cpu_per_get_ms = get_cpu / len(names) * 1000
    return {
        "jobs": jobs,
        "workers": workers,
        "processes": processes,
        "azurite": "disk" if disk else "memory",
        "seed_seconds": round(seed_seconds, 1),
        "events": events,
        "outcomes": summary.as_dict(),
        "documents": indexed,
        "run_seconds": round(seconds, 2),
        "events_per_s": round(events / seconds, 1),
        "azurite_get_per_s": round(gets, 1),
        "get_processes": get_processes,
        "azurite_cpu_share_during_gets": round(get_cpu / get_wall, 2),
        "ratio": round(events / seconds / gets, 3),
        "sdk_get_per_s": round(sdk, 1),
        "ratio_to_sdk_gets": round(events / seconds / sdk, 3),
        "azurite_cpu_ms_per_job": round(azurite_cpu / jobs * 1000, 2),
        "pipeline_cpu_ms_per_job": round(own_cpu / jobs * 1000, 2),
        "azurite_cpu_ms_per_get": round(cpu_per_get_ms, 2),
        "azurite_cpu_share_during_run": round(azurite_cpu / seconds, 2),
        "pipeline_cpu_share_during_run": round(own_cpu / seconds, 2),
        "ratio_bound_by_azurite_cpu": round(cpu_per_get_ms / (azurite_cpu / events * 1000), 3),
    }


# ---- helpers and output ---------------------------------------------------------------------


def _children_cpu_seconds() -> float:
    """CPU seconds of this process's ended children (the pipeline's processes, once joined)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parallel(work: Callable[[T], object], items: Iterable[T], workers: int) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(work, items):
            pass


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes of the pipeline in (b) (ASCEND_PIPELINE_PROCESSES)",
    )
    parser.add_argument(
        "--get-processes",
        type=int,
        default=2,
        help="processes of the lean client measuring Azurite's GET rate",
    )
    parser.add_argument(
        "--azurite-disk",
        action="store_true",
        help="Azurite with its data on disk (autosaving its whole blob table "
        "every 5 s while anything changes) instead of in memory",
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "ingest"}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        docs = documents(args.docs)
        rates, cpu_rates = bench_upsert(docs, args.batch, args.repeat, Path(tmp))
        floor = statistics.median(bench_floor(docs, args.batch, args.repeat, Path(tmp)))
        result["upsert"] = {
            "docs": args.docs,
            "batch": args.batch,
            "repeat": args.repeat,
            "median_docs_per_s": round(statistics.median(rates)),
            "bare_table_docs_per_s": round(floor),
            "ratio_to_bare_table": round(statistics.median(rates) / floor, 2),
            "slowest_docs_per_s": round(min(rates)),
            "median_docs_per_cpu_s": round(statistics.median(cpu_rates)),
            "target": 20_000,
            "load_average": os.getloadavg()[0],
        }
        print(
            f"(a) upsert into SQLite: {args.docs} docs, batches of {args.batch}, "
            f"{args.repeat} runs: median {statistics.median(rates):,.0f} docs/s "
            f"(slowest {min(rates):,.0f}; per CPU-second {statistics.median(cpu_rates):,.0f}; "
            f"load average {os.getloadavg()[0]:.1f}; target 20,000)"
        )
        print(
            f"    baseline, the same rows into a bare table: median {floor:,.0f} docs/s; "
            f"ratio {statistics.median(rates) / floor:.2f}"
        )
        if not args.skip_e2e:
            e2e = bench_e2e(
                args.jobs,
                args.workers,
                Path(tmp),
                disk=args.azurite_disk,
                get_processes=args.get_processes,
                processes=args.processes,
            )
            result["e2e"] = e2e
            print(
                f"(b) pipeline run --once ({e2e['processes']} process(es) x {args.workers} "
                f"threads): {e2e['jobs']} jobs, {e2e['events']} events in "
                f"{e2e['run_seconds']} s = {e2e['events_per_s']} events/s "
                f"({e2e['documents']} documents; {e2e['outcomes']})"
            )
            print(
                f"(c) Azurite ({e2e['azurite']}) raw GET rate (lean client, "
                f"{e2e['get_processes']} processes x {args.workers} threads; Azurite at "
                f"{e2e['azurite_cpu_share_during_gets']} of a core): "
                f"{e2e['azurite_get_per_s']} GET/s; ratio (b)/(c) = {e2e['ratio']} (aim >= 0.5)"
            )
            print(
                f"    for reference, GETs through the Azure SDK in this process "
                f"({args.workers} threads): {e2e['sdk_get_per_s']} GET/s; "
                f"ratio (b)/that = {e2e['ratio_to_sdk_gets']}"
            )
            print(
                f"(d) CPU per job during (b): Azurite {e2e['azurite_cpu_ms_per_job']} ms "
                f"({e2e['azurite_cpu_share_during_run']} of a core), pipeline "
                f"{e2e['pipeline_cpu_ms_per_job']} ms ({e2e['pipeline_cpu_share_during_run']}"
                f" of a core); Azurite per GET of (c): {e2e['azurite_cpu_ms_per_get']} ms, so "
                f"Azurite alone bounds (b)/(c) at {e2e['ratio_bound_by_azurite_cpu']}"
            )
            print(
                f"    seeding ({BLOBS_PER_JOB * e2e['jobs']} blobs, direct writer): "
                f"{e2e['seed_seconds']} s"
            )
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
