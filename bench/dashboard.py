"""Dashboard server time: the jobs page (first page, then its facet counts) over 1,000,000 jobs
in the embedded index, and a job page whose log is 100 MB (its first 500 lines painted).

    .venv/bin/python -m bench.dashboard [--jobs 1000000] [--log-mb 100] [--repeat 30]

Both go through the real ASGI app in-process (fastapi's TestClient), so the times are the
server's: routing, the caller's scope, the index or the blob reads, and Jinja rendering. The jobs
page is timed for a plain user (user042, their own few thousand jobs) and for an admin (all of
them); the index is bench.query's synthetic one (reused from a previous run when present).
The job page reads its log from Azurite (started here); the aim is < 300 ms to the first lines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from api import create_app
from ascend_cli.azurite import start_azurite
from bench._timing import check
from bench.query import NOW, build, p95
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record, make_record
from shared.principal import Principal
from shared.services import Services
from shared.settings import Settings


def timings(call: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls after 2 warm-ups."""
    for _ in range(2):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def jobs_page(path: Path, repeat: int) -> dict[str, Any]:
    """GET / (the first page of 50) and GET /facets (its counts, which the page fetches right
    after painting), each as a user and as an admin."""
    index = SqliteIndex(path)
    index.ensure()
    services = Services(Settings(index_path=path), FixedClock(NOW), index=index)
    out: dict[str, Any] = {}
    for who, principal, query in (
        ("user042", Principal.of("user042"), ""),
        ("user042 failed", Principal.of("user042"), "status:failed"),
        ("admin", Principal.of("bench", "admin"), ""),
        ("admin failed 7d", Principal.of("bench", "admin"), "status:failed created:>=-7d"),
    ):
        client = TestClient(create_app(lambda: services, anonymous_as=principal))
        response = client.get("/", params={"q": query})
        check(response.status_code == HTTPStatus.OK, response.text[:300])
        samples = timings(lambda c=client, q=query: c.get("/", params={"q": q}), repeat)
        facets = timings(
            lambda c=client, q=query: c.get("/facets", params={"q": q}), max(3, repeat // 5)
        )
        out[who] = {
            "page_median_ms": round(statistics.median(samples), 1),
            "page_p95_ms": round(p95(samples), 1),
            "facets_median_ms": round(statistics.median(facets), 1),
            "rows": response.text.count("data-job-id"),
        }
    return out


def big_log_page(megabytes: int, repeat: int) -> dict[str, Any]:
    """GET /jobs/{id} of a job whose log is `megabytes` MB, from Azurite."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    azurite = start_azurite(workdir / "azurite")
    try:
        settings = Settings(
            storage_connection_string=azurite.connection_string,
            container="bench-dashboard",
            index_path=workdir / "index.sqlite3",
            user="alice",
        )
        blobs = AzureBlobStore.from_settings(settings)
        blobs.ensure_container()
        services = Services(settings, FixedClock(NOW), blobs=blobs)
        job_id = _write_big_job(services, megabytes)
        client = TestClient(create_app(lambda: services, anonymous_as=Principal.of("alice")))
        first = client.get(f"/jobs/{job_id}")
        check(first.status_code == HTTPStatus.OK, first.text[:300])
        page = timings(lambda: client.get(f"/jobs/{job_id}"), repeat)
        deep = timings(
            lambda: client.get(f"/jobs/{job_id}/log", params={"offset": (megabytes - 1) << 20}),
            repeat,
        )
        return {
            "log_mb": megabytes,
            "lines_shown": first.text.count("data-level="),
            "job_page_median_ms": round(statistics.median(page), 1),
            "job_page_p95_ms": round(p95(page), 1),
            "log_page_at_last_mb_median_ms": round(statistics.median(deep), 1),
        }
    finally:
        azurite.stop()


def _write_big_job(services: Services, megabytes: int) -> str:
    from producer.jobs import start_job
    from shared.jobid import DependencySet

    meta = start_job(
        services.blobs,
        user="alice",
        project="bench",
        function_name="train",
        args_hash="0" * 16,
        dependencies=DependencySet(("torch==2.0.0",), "3.11"),
        config={"node_type": "gpu_small"},
        tags={},
        clock=FixedClock(NOW),
    )
    context = JobContext(meta.job_id, meta.user, meta.project)
    block = b"".join(
        dump_record(
            make_record(
                context,
                level=("INFO", "DEBUG", "WARNING")[i % 3],
                logger="ascend.user",
                message=f"step {i} " + "x" * 100,
                when=NOW + timedelta(seconds=i),
            )
        )
        for i in range(20_000)
    )
    name = log_path(meta.parsed_job_id)
    services.blobs.create_append(name, content_type="application/x-ndjson")
    written = 0
    while written < megabytes << 20:
        for start in range(0, len(block), 4 << 20):
            services.blobs.append(name, block[start : start + (4 << 20)])
        written += len(block)
    return meta.job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--log-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--path", type=Path, default=None)
    args = parser.parse_args()
    path = args.path or Path(tempfile.gettempdir()) / f"ascend-bench-query-{args.jobs}.sqlite3"
    if not path.exists():
        build(path, args.jobs)
    result = {
        "bench": "dashboard",
        "jobs": args.jobs,
        "jobs_page": jobs_page(path, args.repeat),
        "job_page": big_log_page(args.log_mb, args.repeat),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
