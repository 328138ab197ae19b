"""Reports on the Azure AI Search adapter: requests per report, and reading a large facet answer.

The service cannot run here, so what is measured is what the adapter controls: how many
requests each report sends (facet aggregations, `field eq null` follow-ups, sorted top-1
searches, lookups), with the answers checked equal to the embedded index's on the same seeded
jobs; and the client time to read a nested facet answer into rows (`read_groups`), the part
of a report's cost on Azure that grows with the number of groups.

    .venv/bin/python -m bench.azure_reports [--jobs 2000] [--leaves 100000]
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AzureKeyCredential

from bench._timing import check, timed_runs
from query import reports
from query.reports import ReportRequest, Window
from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.adapters.odata_facets import read_groups
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.principal import Principal
from shared.querytree import Measure
from tests.support.builders import NOW
from tests.support.reports import seeded_jobs
from tests.support.search_transport import ENDPOINT, FakeSearchService, RecordedRequest

REPORTS: dict[str, Callable[[ReportRequest], list[dict[str, Any]]]] = {
    "failures": reports.failures,
    "cost --by project,node": lambda r: reports.cost(r, ["project", "node"]),
    "cost --by week": lambda r: reports.cost(r, ["week"]),
    "storage --by tier": lambda r: reports.storage(r, ["tier"]),
    "images": reports.images,
    "images --packages": reports.packages,
}


def kind(request: RecordedRequest) -> str:
    """facets (preview aggregation), sorted (top-1 search), lookup, or other."""
    if request.query.get("api-version", "").endswith("Preview"):
        return "facets"
    if request.path.endswith("/docs/search.post.search") and request.json().get("top") == 1:
        return "sorted"
    return "lookup" if "/docs('" in request.path else "other"


def rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def requests_per_report(jobs: int) -> None:
    seeded = [j.document for j in seeded_jobs(jobs)]
    service = FakeSearchService("ascend-jobs")
    azure = AzureSearchIndex.connect(
        ENDPOINT,
        "ascend-jobs",
        AzureKeyCredential("key"),
        retry=SearchRetry(attempts=1),
        transport=service.transport,
    )
    embedded = SqliteIndex(":memory:")
    for index in (azure, embedded):
        index.ensure()
        index.upsert(seeded)
    admin = Principal.of("root", "admin")
    print(f"{jobs} seeded jobs; requests per report on Azure (answers equal the embedded index's)")
    print(f"{'report':<24} {'groups':>6} {'facets':>6} {'sorted':>6} {'lookup':>6} {'other':>6}")
    for name, report in REPORTS.items():
        service.transport.requests.clear()
        rows = report(ReportRequest(azure, admin, "", Window(), FixedClock(NOW)))
        expected = report(ReportRequest(embedded, admin, "", Window(), FixedClock(NOW)))
        check(rounded(rows) == rounded(expected), f"{name}: Azure rows differ from SQLite's")
        kinds = Counter(kind(r) for r in service.transport.requests)
        counts = " ".join(f"{kinds[k]:>6}" for k in ("facets", "sorted", "lookup", "other"))
        print(f"{name:<24} {len(rows):>6} {counts}")


def synthetic_answer(leaves: int) -> dict[str, Any]:
    """A 4-level facet answer (signature > user > project > image) with `leaves` leaves."""
    per = max(2, round(leaves ** (1 / 4)))
    leaf = 3

    def level(depth: int) -> list[dict[str, Any]]:
        if depth == leaf:
            return [{"value": f"i{n}", "count": 1} for n in range(per)]
        name = ("user", "project", "image_hash")[depth]
        return [
            {
                "value": f"v{n}",
                "count": per ** (leaf - depth),
                "@search.facets": {name: level(depth + 1)},
            }
            for n in range(per)
        ]

    return {"@odata.count": per**4, "@search.facets": {"error_signature": level(0)}}


def read_time(leaves: int) -> None:
    answer = synthetic_answer(leaves)
    fields = ["error_signature", "user", "project", "image_hash"]
    measures = [Measure("sum", "cost_usd")]
    rows, _ = read_groups(answer, fields, measures, 10_000)
    times = timed_runs(lambda: read_groups(answer, fields, measures, 10_000), 5)
    print(
        f"read_groups of a 4-level answer with {len(rows)} leaves: "
        f"median {statistics.median(times) * 1000:.0f} ms (5 runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--leaves", type=int, default=100_000)
    args = parser.parse_args()
    requests_per_report(args.jobs)
    read_time(args.leaves)


if __name__ == "__main__":
    main()
