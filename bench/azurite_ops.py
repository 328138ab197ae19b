"""Benchmark: what each kind of request the indexer makes costs Azurite, in its own CPU time.

Per request, `--threads` at a time through the real adapter (`AzureBlobStore`): requests/s,
this process's CPU and Azurite's CPU (from `/proc`), for GET of a metadata.json, HEAD, Get Blob
Tags of a log, and the by-date copy of a log (Put Block From URL + Put Block List, which Azurite
serves by fetching the source from itself over HTTP); and one listing of the whole container.
The GET row is the baseline: the other rows are also given in GETs of Azurite's CPU.

    python -m bench.azurite_ops [--jobs 1000] [--threads 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from ascend_cli.azurite import start_azurite
from bench._timing import process_cpu_seconds
from bench.azurite_listing import folder
from shared.adapters.azure_blob import AzureBlobStore
from shared.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    jobs = range(args.jobs)
    with tempfile.TemporaryDirectory(prefix="bench-azurite-ops-") as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            settings = Settings(
                storage_connection_string=azurite.connection_string,
                container="bench",
                index_path=Path(tmp) / "index.sqlite3",
            )
            blobs = AzureBlobStore.from_settings(settings)
            blobs.ensure_container()

            def make(i: int) -> None:
                blobs.create_append(
                    f"{folder(i)}job.log.jsonl", tags={"retain": "false"}, create_only=False
                )
                blobs.append(f"{folder(i)}job.log.jsonl", b'{"level": "INFO"}\n' * 40)
                blobs.write(
                    f"{folder(i)}metadata.json", b"{" + b" " * 900 + b"}", tags={"retain": "false"}
                )

            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(make, jobs))
            logs = {i: blobs.props(f"{folder(i)}job.log.jsonl") for i in jobs}
            kinds: list[tuple[str, Callable[[int], object]]] = [
                ("GET metadata.json", lambda i: blobs.read(f"{folder(i)}metadata.json")),
                ("HEAD", lambda i: blobs.props(f"{folder(i)}metadata.json")),
                ("Get Blob Tags", lambda i: blobs.get_tags(f"{folder(i)}job.log.jsonl")),
                (
                    "by-date copy (PBFU + PBL)",
                    lambda i: blobs.copy_to_block_blob(
                        f"{folder(i)}job.log.jsonl",
                        f"projects/p/logs/by-date/{i:06d}.log.jsonl",
                        tags={"retain": "false"},
                        source_props=logs[i],
                    ),
                ),
            ]
            rows = [
                measure(label, call, jobs, args.threads, azurite.process.pid)
                for label, call in kinds
            ]
            rows.append(
                measure(
                    "list the container",
                    lambda _: sum(1 for _ in blobs.list("")),
                    range(1),
                    1,
                    azurite.process.pid,
                )
            )
        finally:
            azurite.stop()
    get_cost = rows[0]["azurite_cpu_ms"]
    print(f"{'request':28} {'per s':>8} {'ours ms':>8} {'Azurite ms':>11} {'in GETs':>8}")
    for row in rows:
        row["in_gets"] = round(row["azurite_cpu_ms"] / get_cost, 1)
        print(
            f"{row['request']:28} {row['per_s']:8.1f} {row['our_cpu_ms']:8.2f} "
            f"{row['azurite_cpu_ms']:11.2f} {row['in_gets']:8.1f}"
        )
    print(
        orjson.dumps(
            {"bench": "azurite_ops", "jobs": args.jobs, "threads": args.threads, "rows": rows}
        ).decode()
    )


def measure(
    label: str, call: Callable[[int], object], items: range, threads: int, azurite_pid: int
) -> dict[str, Any]:
    """Requests/s and CPU milliseconds per request, ours and Azurite's, over `items`."""
    azurite_before, ours_before = process_cpu_seconds(azurite_pid), time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(call, items))
    seconds = time.perf_counter() - started
    azurite = process_cpu_seconds(azurite_pid) - azurite_before
    ours = time.process_time() - ours_before
    return {
        "request": label,
        "per_s": round(len(items) / seconds, 1),
        "our_cpu_ms": round(ours / len(items) * 1000, 2),
        "azurite_cpu_ms": round(azurite / len(items) * 1000, 2),
    }


if __name__ == "__main__":
    main()
