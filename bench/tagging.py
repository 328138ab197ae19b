"""Benchmark: storage requests per indexed job, for jobs whose writer tags its blobs (our producer)
and for jobs written with the bare SDK and no tags (any other writer).

Every HTTP request the indexer sends to Azurite is counted by an azure-core policy in the real
client, by kind (GET, HEAD, Get/Set Blob Tags, prefix listing, block staging...). Two passes of
`pipeline run --once` (the worker's own listing of the container is left out): (1) `--jobs` jobs
of each writer, each written whole (package, result, log, two artifacts, then a final
metadata.json); (2) one artifact more per job, written after the first index. Run it on two
checkouts to compare (`PYTHONPATH=OTHER_TREE python bench/tagging.py`).

    python -m bench.tagging [--jobs 40]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from azure.core.pipeline import PipelineRequest

from ascend_cli.azurite import start_azurite
from indexer.worker import run_once
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.jobid import make_job_id
from shared.layout import artifact_path, log_path, metadata_path, package_path, result_path
from shared.services import Services
from shared.settings import Settings
from shared.tags import job_blob_tags

HASH12 = "a3f5d2c8e9b1"
LOG = b"".join(
    b'{"timestamp":"2026-03-10T09:30:30Z","level":"INFO","message":"step %d"}\n' % i
    for i in range(40)
)


class RequestCounter:
    """Counts each request the client sends, by kind (the SDK's `raw_request_hook`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        query = parse_qs(urlparse(http.url).query)
        comp = query.get("comp", [""])[0]
        if comp == "list" and not query.get("prefix", [""])[0]:
            return  # the worker's own listing of the whole container
        self.counts[f"{http.method} {comp or 'blob'}".strip()] += 1


def write_jobs(blobs: AzureBlobStore, count: int, *, tagged: bool, start: int) -> list[Any]:
    """`count` finished jobs, written whole, tagged as our producer does or not at all."""
    jobs = []
    for i in range(start, start + count):
        job = make_job_id(
            user="alice",
            project="bench",
            dependency_hash=HASH12,
            run_hash=f"{i:08x}",
            created_at=_created(i),
        )

        def tags(kind: str, job: Any = job) -> dict[str, str] | None:
            return job_blob_tags(job, kind, retain=False) if tagged else None

        blobs.write(package_path(job), b"package", tags=tags("package"))
        blobs.create_append(log_path(job), tags=tags("log"), create_only=False)
        blobs.append(log_path(job), LOG)
        blobs.write(result_path(job), b"result", tags=tags("result"))
        for name in ("model.pkl", "plot.png"):
            blobs.write(artifact_path(job, name), b"artifact", tags=tags("artifact"))
        blobs.write(metadata_path(job), _metadata(job), tags=tags("metadata"))
        jobs.append(job)
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=40)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tagging-") as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            for n, tagged in enumerate((True, False)):
                rows.append(
                    _measure(
                        azurite.connection_string,
                        Path(tmp),
                        args.jobs,
                        tagged=tagged,
                        container=f"bench{n}",
                    )
                )
        finally:
            azurite.stop()
    print(f"{'writer':10} {'pass':28} {'requests/job':>12}  by kind")
    for row in rows:
        for phase in ("first index", "one later artifact"):
            data = row[phase]
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(data["by_kind"].items()))
            print(f"{row['writer']:10} {phase:28} {data['per_job']:12.2f}  {kinds}")
    print(orjson.dumps({"bench": "tagging", "jobs": args.jobs, "rows": rows}).decode())


def _measure(
    connection: str, tmp: Path, count: int, *, tagged: bool, container: str
) -> dict[str, Any]:
    settings = Settings(
        storage_connection_string=connection,
        container=container,
        index_path=tmp / f"{container}.sqlite3",
    )
    writer = AzureBlobStore.from_settings(settings)
    writer.ensure_container()
    counter = RequestCounter()
    index = SqliteIndex(settings.index_path)
    index.ensure()
    services = Services(
        settings,
        blobs=AzureBlobStore.from_settings(settings, raw_request_hook=counter.on_request),
        index=index,
    )
    checkpoint = tmp / f"{container}.checkpoint.json"
    jobs = write_jobs(writer, count, tagged=tagged, start=0)
    run_once(
        services.blobs, services.index, services.clock, services.settings, checkpoint=checkpoint
    )
    first = Counter(counter.counts)
    counter.counts.clear()
    for job in jobs:
        writer.write(
            artifact_path(job, "late.bin"),
            b"late",
            tags=job_blob_tags(job, "artifact", retain=False) if tagged else None,
        )
    run_once(
        services.blobs, services.index, services.clock, services.settings, checkpoint=checkpoint
    )
    later = Counter(counter.counts)
    index.close()
    return {
        "writer": "producer" if tagged else "bare SDK",
        "first index": _per_job(first, count),
        "one later artifact": _per_job(later, count),
    }


def _per_job(counts: Counter[str], jobs: int) -> dict[str, Any]:
    return {
        "per_job": round(sum(counts.values()) / jobs, 2),
        "by_kind": {k: round(v / jobs, 2) for k, v in counts.items()},
    }


def _created(i: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)


def _metadata(job: Any) -> bytes:
    created = f"{job.created_at:%Y-%m-%dT%H:%M:%SZ}"
    return orjson.dumps(
        {
            "job_id": str(job),
            "created_at": created,
            "updated_at": created,
            "status": "completed",
            "user": job.user,
            "project": job.project,
            "function_name": "train",
            "dependencies": {
                "hash": HASH12,
                "python_version": "3.11",
                "packages": ["torch==2.0.0"],
            },
            "execution": {"start_time": created, "end_time": created, "exit_code": 0},
            "tags": {},
        }
    )


if __name__ == "__main__":
    main()
