"""Benchmark: the client-side cost of upserting through the Azure AI Search adapter.

    .venv/bin/python -m bench.azure_search [--docs 5000] [--repeat 5]

No Azure here, so the service is the tests' in-process fake behind the real SDK pipeline (the
recording transport): what is timed is the adapter and the SDK pipeline (version lookup,
conversion, batching within 1000 documents / 16 MB, encoding, 207 parsing) plus the fake's own
bookkeeping (it decodes every body), never the network. Baselines measured in the same run:
encoding the same documents' request bodies once with orjson (the floor every upsert pays) and
`SqliteIndex.upsert` into a real file. Prints a table (median and p95 of the repeats,
documents/s, ratio of medians to the encoding floor) and one JSON line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from azure.core.credentials import AzureKeyCredential

from bench._timing import check, timed_runs
from shared.adapters.azure_search import AzureSearchIndex
from shared.adapters.azure_search_payloads import IndexAction, request_body, to_azure
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import empty_document
from tests.support.search_transport import ENDPOINT, FakeSearchService


def documents(count: int) -> list[dict[str, Any]]:
    """`count` realistic documents (all fields set), deterministic."""
    docs = []
    for n in range(count):
        doc = empty_document(f"20251204-143022-alice-frauddetect-a3f5d2c8-{n:08x}")
        doc.update(
            created_at="2025-12-04T14:30:22.000Z",
            updated_at="2025-12-04T14:35:23.456Z",
            source_version=f"{n:016x}",
            status="completed",
            user="alice",
            project="frauddetect",
            function_name="train_model",
            node_type="gpu_small",
            dep_hash="a3f5d2c8",
            image_hash="a3f5d2c8e9b1",
            python_version="3.11",
            packages=["numpy==1.24.0", "pandas==2.0.0", "torch==2.0.0"],
            package_names=["numpy", "pandas", "torch"],
            use_gpu=True,
            duration_seconds=276.1,
            exit_code=0,
            cost_usd=0.04,
            tags=["experiment=baseline", "dataset_version=v2.1"],
            retain=False,
            artifact_names=["model.pkl", "plot.png"],
            artifact_bytes=105382000,
            log_errors=n % 3,
            log_lines=120,
            tier="Hot",
            metrics_last={"loss": 0.25, "accuracy": 0.91},
        )
        docs.append(doc)
    return docs


def encode_only(docs: list[dict[str, Any]]) -> None:
    actions = [IndexAction.of("mergeOrUpload", to_azure(d)) for d in docs]
    for start in range(0, len(actions), 1000):
        request_body(actions[start : start + 1000])


def through_adapter(docs: list[dict[str, Any]]) -> Callable[[], object]:
    def run() -> object:
        service = FakeSearchService()
        index = AzureSearchIndex.connect(
            ENDPOINT, "ascend-jobs", AzureKeyCredential("k"), transport=service.transport
        )
        written = index.upsert(docs)
        check(len(written) == len(docs), f"{len(written)} of {len(docs)} documents written")
        return written

    return run


def into_sqlite(docs: list[dict[str, Any]], directory: Path) -> Callable[[], object]:
    counter = iter(range(1_000_000))

    def run() -> object:
        index = SqliteIndex(directory / f"bench-{next(counter)}.sqlite3")
        index.ensure()
        written = index.upsert(docs)
        index.close()
        return written

    return run


def summary(name: str, times: list[float], docs: int, baseline: float) -> dict[str, Any]:
    median = statistics.median(times)
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    return {
        "name": name,
        "median_s": round(median, 4),
        "p95_s": round(p95, 4),
        "docs_per_s": round(docs / median),
        "ratio_to_baseline": round(median / baseline, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = documents(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "encode the bodies once (baseline)": timed_runs(lambda: encode_only(docs), args.repeat),
            "AzureSearchIndex.upsert (SDK + fake)": timed_runs(through_adapter(docs), args.repeat),
            "SqliteIndex.upsert (real file)": timed_runs(into_sqlite(docs, Path(tmp)), args.repeat),
        }
    baseline = statistics.median(next(iter(runs.values())))
    rows = [summary(name, times, args.docs, baseline) for name, times in runs.items()]
    print(f"{args.docs} documents, {args.repeat} repeats")
    print(f"{'what':40} {'median s':>9} {'p95 s':>8} {'docs/s':>9} {'x base':>7}")
    for row in rows:
        print(
            f"{row['name']:40} {row['median_s']:9.3f} {row['p95_s']:8.3f} "
            f"{row['docs_per_s']:9d} {row['ratio_to_baseline']:7.2f}"
        )
    print(
        orjson.dumps(
            {"bench": "azure_search", "docs": args.docs, "repeat": args.repeat, "rows": rows}
        ).decode()
    )


if __name__ == "__main__":
    main()
