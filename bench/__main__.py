"""`python -m bench` (`make bench`): list the benchmarks and how to run each."""

from __future__ import annotations

BENCHES = {
    "ingest": "documents/s into the embedded index; pipeline run --once events/s vs Azurite GETs",
    "load": "bulk load into a 1,000,000-job index: CPU per job of each step, events one at a time",
    "query": "median/p95 of the five README questions on 1M jobs (--jobs 1000000 10000000: 10M)",
    "peer": "five questions: MLflow (make bench-peer), ours, plain SQLite, alternately",
    "size": "bytes per job of an index file: the file, the pages in use, each B-tree (dbstat)",
    "logs": "filtering a 500 MB log by level: jq, grep, our filter, ascend jobs logs vs raw GET",
    "reports": "each report on 1,000,000 jobs vs a scan of every document; signature cost",
    "retention": "plan time on 1,000,000 jobs as the number crossing a threshold grows",
    "retention_apply": "blobs/minute the retention apply moves on Azurite: 1 job at once vs a pool",
    "capture": "lines/s through capture into Azurite; overhead vs printing to /dev/null",
    "seed": "producer: seeding jobs/s, LogStreamer.write and flush rates",
    "azure_search": "Azure AI Search adapter upserts through the SDK pipeline (fake service)",
    "azure_reports": "requests per report on Azure AI Search (fake service); reading facet answers",
    "azurite_listing": "Azurite prefix-listing vs HEAD latency as the container grows",
    "azurite_ops": "Azurite's own CPU per request kind the indexer makes, in GETs",
    "events": "storage requests and CPU per event kind the indexer handles, vs one GET",
    "partitions": "reconcile and sweep across invocations with a small time budget",
    "freshness": "local worker: blob written to job searchable at 1k/10k/100k jobs vs a full pass",
    "masking": "secret masking cost per console line (plain, metrics, JSON, with a secret)",
    "hostile": "peak RSS of jobs logs on a 400 KB gzip bomb; serve answering with 100 follows",
    "listing_failure": "a whole listing on Azurite clean vs around one unlistable blob name",
    "tagging": "storage requests per indexed job: producer-tagged vs bare-SDK untagged jobs",
    "dashboard": "server time: jobs page on 1,000,000 jobs with facets; a 100 MB log's job page",
    "startup": "ascend --help and ascend jobs list (20 jobs) vs python -c pass, median seconds",
}


def main() -> None:
    print("Benchmarks (each starts its own Azurite where it needs one; --help for sizes):")
    for name, what in BENCHES.items():
        print(f"  .venv/bin/python -m bench.{name:<13} {what}")


if __name__ == "__main__":
    main()
