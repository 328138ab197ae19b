"""Benchmark: what one unlistable blob name costs a listing of the container on Azurite.

A container of `--jobs` job folders (metadata.json + job.log.jsonl each, some users), listed
whole: clean; with one blob whose name holds a BEL in the middle job's folder (Azurite answers
500 for any page holding it), the first listing (narrowed level by level) and the next one (the
skipped prefix remembered: straight around it). Each with the adapter's real retry policy
(failed requests are retried: that is most of the cost), its requests counted by an azure-core
hook, same run, medians of `--rounds`.

    python -m bench.listing_failure [--jobs 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ascend_cli.azurite import start_azurite
from shared.adapters.azure_blob import AzureBlobStore
from shared.listing import ListingIncomplete
from shared.settings import Settings

BAD = "notes\x07.txt"


class Requests:
    """Counts the HTTP requests the SDK sends (an azure-core raw request hook)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: Any) -> None:
        self.count += 1


def folder(i: int) -> str:
    return f"projects/p/users/u{i % 4}/jobs/20260101-000000-u{i % 4}-p-00000000-{i:08d}/"


def timed_listing(store: AzureBlobStore, counter: Requests) -> tuple[float, int, int, int]:
    """Seconds, requests, blobs listed, prefixes skipped of one whole listing."""
    counter.count = 0
    listed: list[str] = []
    started = time.perf_counter()
    try:
        listed.extend(p.name for p in store.list(""))
        skipped = 0
    except ListingIncomplete as exc:
        skipped = len(exc.skipped)
    return time.perf_counter() - started, counter.count, len(listed), skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    azurite = start_azurite(Path(tempfile.mkdtemp(prefix="bench-listing-failure-")))
    try:
        counter = Requests()
        settings = Settings(
            storage_connection_string=azurite.connection_string, container="bench-lf"
        )
        store = AzureBlobStore.from_settings(settings, raw_request_hook=counter)
        store.ensure_container()
        files = ("job.log.jsonl", "metadata.json")
        names = [folder(i) + f for i in range(args.jobs) for f in files]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: store.write(n, b"{}"), names))
        rows: dict[str, list[tuple[float, int, int, int]]] = {}
        bad = folder(args.jobs // 2) + BAD
        for _ in range(args.rounds):
            rows.setdefault("clean", []).append(timed_listing(store, counter))
            store.write(bad, b"x")
            fresh = AzureBlobStore.from_settings(settings, raw_request_hook=counter)
            rows.setdefault("bad blob, first listing", []).append(timed_listing(fresh, counter))
            rows.setdefault("bad blob, next listing", []).append(timed_listing(fresh, counter))
            store.delete(bad)
        print(f"{len(names)} blobs in {args.jobs} job folders; medians of {args.rounds} rounds")
        for label, samples in rows.items():
            seconds = statistics.median(s[0] for s in samples)
            requests = statistics.median(s[1] for s in samples)
            print(
                f"  {label:<24} {seconds:6.2f} s  {requests:4.0f} requests  "
                f"{samples[-1][2]} blobs listed, {samples[-1][3]} prefix skipped"
            )
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
