"""Benchmark: how Azurite's prefix listing and HEAD latency grow with the container's size.

The indexer lists each job's folder once per metadata event (to keep `retain` tags in step);
this shows what that listing costs on Azurite as the container grows, next to a HEAD of one blob
measured in the same run (the flat baseline). Azure indexes prefixes; Azurite scans.

    python -m bench.azurite_listing [--sizes 2000,12000,24000] [--samples 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from ascend_cli.azurite import start_azurite
from shared.adapters.azure_blob import AzureBlobStore
from shared.settings import Settings


def folder(i: int) -> str:
    return f"projects/p/users/u/jobs/job{i:06d}/"


def median_ms(call: Callable[[int], object], indexes: range) -> float:
    samples = []
    for i in indexes:
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,12000,24000")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    azurite = start_azurite(Path(tempfile.mkdtemp(prefix="bench-listing-")))
    try:
        store = AzureBlobStore.from_settings(
            Settings(storage_connection_string=azurite.connection_string, container="bench-listing")
        )
        store.ensure_container()
        written, rows = 0, []
        for size in sizes:
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: store.write(folder(i) + "metadata.json", b"{}"),
                        range(written, size),
                    )
                )
            written = size
            picks = range(0, size, max(1, size // args.samples))
            listing = median_ms(lambda i: list(store.list(folder(i), with_tags=True)), picks)
            head = median_ms(lambda i: store.props(folder(i) + "metadata.json"), picks)
            rows.append(
                {
                    "blobs": size,
                    "list_ms": round(listing, 2),
                    "head_ms": round(head, 2),
                    "list_vs_head": round(listing / head, 2),
                }
            )
            print(
                f"{size:>8,} blobs: prefix listing {listing:6.1f} ms, HEAD {head:5.1f} ms "
                f"(x{listing / head:.1f})",
                flush=True,
            )
        print(orjson.dumps({"bench": "azurite_listing", "rows": rows}).decode())
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
