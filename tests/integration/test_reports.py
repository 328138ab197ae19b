"""The reports on a real SQLite index and on the Azure AI Search adapter (its service answering
at the HTTP boundary): every number equals a reference computed independently from the seeded
jobs' metadata, and a principal's report never counts a job it may not see."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy
from query import count, reports
from query.reports import ReportRequest, Window, parse_window
from query.service import scoped
from shared.adapters.azure_search import AzureSearchIndex, SearchRetry
from shared.adapters.sql_query import aggregate_sql
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.documents import format_datetime, parse_datetime
from shared.errors import InvalidInput
from shared.ports import SearchIndex
from shared.principal import Principal
from shared.querytree import Equals, Measure, Query
from shared.settings import Settings
from tests.support.builders import NOW
from tests.support.reports import USERS, SeededJob, seeded_jobs
from tests.support.search_transport import ENDPOINT, FakeSearchService

ADMIN = Principal.of("root", "admin")
CLOCK = FixedClock(NOW)
JOBS = seeded_jobs(400)


@pytest.fixture(scope="module", params=["sqlite", "azure"])
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """The seeded jobs in the embedded index, and in the Azure AI Search adapter whose service
    (tests.support.search_transport) answers facets and filters in the documented shape."""
    built: SearchIndex
    if request.param == "sqlite":
        built = SqliteIndex(tmp_path_factory.mktemp("reports") / "index.sqlite3")
    else:
        service = FakeSearchService("ascend-jobs")
        retry = SearchRetry(attempts=1, sleep=lambda s: None)
        settings = Settings(
            search_endpoint=ENDPOINT, search_index="ascend-jobs", search_api_key="k"
        )
        built = AzureSearchIndex.from_settings(settings, retry=retry, transport=service.transport)
    built.ensure()
    built.upsert([j.document for j in JOBS])
    return built


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> SqliteIndex:
    """The seeded jobs in the embedded index alone (for its query plans)."""
    built = SqliteIndex(tmp_path_factory.mktemp("plans") / "index.sqlite3")
    built.ensure()
    built.upsert([j.document for j in JOBS])
    return built


def _request(
    index: SearchIndex, principal: Principal = ADMIN, text: str = "", window: Window | None = None
) -> ReportRequest:
    return ReportRequest(index, principal, text, window or Window(), CLOCK)


def _visible(principal: Principal) -> Callable[[SeededJob], bool]:
    if "admin" in principal.roles:
        return lambda j: True
    projects = {r.split(":", 1)[1] for r in principal.roles if r.startswith("admin:")}
    return lambda j: j.meta["user"] == principal.user or j.meta["project"] in projects


def test_failures_group_each_crash_kind_into_one_signature(index: SearchIndex) -> None:
    """Failed jobs fall into one row per crash (whatever its sizes, names and addresses), with
    the count, users, projects, images, first/last seen and an example of the metadata."""
    rows = reports.failures(_request(index))
    failed = [j for j in JOBS if j.crash]
    expected = Counter(j.crash for j in failed)
    assert sorted(r["count"] for r in rows) == sorted(expected.values())
    for row in rows:
        kind = str(row["pattern"]).split(":")[0]
        mine = [j for j in failed if j.crash == kind]
        assert row["count"] == len(mine)
        assert row["users"] == sorted({j.meta["user"] for j in mine})
        assert row["projects"] == sorted({j.meta["project"] for j in mine})
        assert row["images"] == sorted({j.image for j in mine})
        assert row["first_seen"] == min(j.document["created_at"] for j in mine)
        assert row["last_seen"] == max(j.document["created_at"] for j in mine)
        assert row["example"] in {j.meta["job_id"] for j in mine}
    assert [r["count"] for r in rows] == sorted((r["count"] for r in rows), reverse=True)


def test_a_signature_is_new_when_absent_the_week_before(index: SearchIndex) -> None:
    """`new` marks signatures failing in the last 7 days and not in the 7 days before."""
    now = NOW

    def seen(kind: str, start: int, end: int) -> bool:
        return any(
            j.crash == kind
            and now - timedelta(days=end) <= _created(j) < now - timedelta(days=start)
            for j in JOBS
        )

    for row in reports.failures(_request(index)):
        kind = str(row["pattern"]).split(":")[0]
        assert row["new"] == (seen(kind, 0, 7) and not seen(kind, 7, 14))


def test_the_signature_of_a_row_finds_its_jobs(index: SearchIndex) -> None:
    """`signature:HASH` (the report's first column) finds exactly that row's failed jobs."""
    for row in reports.failures(_request(index)):
        assert (
            count(index, ADMIN, f"signature:{row['signature']} status:failed", clock=CLOCK)
            == row["count"]
        )


@pytest.mark.parametrize(
    "by",
    [
        ["project"],
        ["user"],
        ["node"],
        ["function"],
        ["image"],
        ["month"],
        ["week"],
        ["project", "user"],
        ["user", "node"],
    ],
)
def test_cost_per_group_equals_the_metadata(index: SearchIndex, by: list[str]) -> None:
    """Jobs, GPU/CPU hours, cost, failure rate and failed cost per group, nested --by keys."""
    rows = reports.cost(_request(index), by)
    groups: dict[tuple[str, ...], list[SeededJob]] = defaultdict(list)
    for job in JOBS:
        groups[tuple(_cost_key(job, b) for b in by)].append(job)
    assert len(rows) == len(groups)
    for row in rows:
        mine = groups[tuple(row[b] for b in by)]
        failed = [j for j in mine if j.meta["status"] == "failed"]
        assert row["count"] == len(mine)
        assert row["gpu_hours"] == pytest.approx(
            sum(j.duration for j in mine if j.gpu) / 3600, abs=1e-3
        )
        assert row["cpu_hours"] == pytest.approx(
            sum(j.duration for j in mine if not j.gpu) / 3600, abs=1e-3
        )
        assert row["cost_usd"] == pytest.approx(sum(j.cost for j in mine), abs=1e-3)
        assert row["failed"] == len(failed)
        assert row["failure_rate"] == pytest.approx(len(failed) / len(mine), abs=1e-4)
        assert row["failed_cost_usd"] == pytest.approx(sum(j.cost for j in failed), abs=1e-3)


def _cost_key(job: SeededJob, by: str) -> str:
    created = _created(job)
    keys: dict[str, str] = {
        "project": job.meta["project"],
        "user": job.meta["user"],
        "node": job.meta["config"]["node_type"],
        "function": job.meta["function_name"],
        "image": job.image,
        "month": f"{created:%Y-%m}",
        "week": (created - timedelta(days=created.weekday())).date().isoformat(),
    }
    return keys[by]


def _created(job: SeededJob) -> datetime:
    return parse_datetime(job.meta["created_at"])


GIB = 1024**3
PRICES = {"Hot": 0.018, "Cool": 0.010, "Archive": 0.002}


@pytest.mark.parametrize("by", [["project"], ["user"], ["tier"]])
def test_storage_per_group_equals_the_metadata(index: SearchIndex, by: list[str]) -> None:
    """Bytes of logs, copies (final jobs) and artifacts, per tier, the monthly bill at the
    design's prices, and the retained jobs, per group."""
    rows = reports.storage(_request(index), by)
    groups: dict[tuple[str, ...], list[SeededJob]] = defaultdict(list)
    for job in JOBS:
        groups[tuple({"tier": job.tier}.get(b) or job.meta[b] for b in by)].append(job)
    assert len(rows) == len(groups)
    for row in rows:
        mine = groups[tuple(row[b] for b in by)]
        tiers = Counter[str]()
        for job in mine:
            for part, size in _parts(job).items():
                tiers[_where(job.tier, part)] += size
        assert row["count"] == len(mine)
        assert row["log_bytes"] == sum(j.log_bytes for j in mine)
        assert row["copy_bytes"] == sum(_parts(j)["copy"] for j in mine)
        assert row["artifact_bytes"] == sum(j.artifact_bytes for j in mine)
        assert (row["hot_bytes"], row["cool_bytes"], row["archive_bytes"]) == (
            tiers["Hot"],
            tiers["Cool"],
            tiers["Archive"],
        )
        assert row["monthly_usd"] == pytest.approx(
            sum(tiers[t] / GIB * PRICES[t] for t in PRICES), abs=1e-3
        )
        retained = [j for j in mine if j.meta["tags"].get("retain") == "true"]
        assert row["retained"] == len(retained)
        assert row["retained_bytes"] == sum(sum(_parts(j).values()) for j in retained)


def test_storage_says_what_the_next_sweep_changes(index: SearchIndex) -> None:
    """Moves (Hot past 30 days to Cool, past 90 to Archive) and deletes (past 365, not
    retained), and the bytes deletes free, as the default policy would do them now."""
    rows = reports.storage(_request(index), [])
    (row,) = rows
    deleted = [j for j in JOBS if _age(j) > 365 and j.meta["tags"].get("retain") != "true"]
    archived = [j for j in JOBS if _age(j) > 90 and j.tier != "Archive" and j not in deleted]
    cooled = [j for j in JOBS if 30 < _age(j) <= 90 and j.tier == "Hot"]
    assert row["sweep_deletes"] == len(deleted)
    assert row["sweep_moves"] == len(archived) + len(cooled)
    assert row["sweep_freed_bytes"] == sum(sum(_parts(j).values()) for j in deleted)


def _forecast(jobs: list[SeededJob], policy: RetentionPolicy) -> tuple[int, int, int]:
    """(moves, deletes, freed bytes) of the next sweep over `jobs` under `policy`, from the
    metadata: deleted past the delete age unless retained, else Archive past the Archive age
    unless there already, else Cool past the Cool age when still Hot."""
    moves = deletes = freed = 0
    for job in jobs:
        age, retained = _age(job), job.meta["tags"].get("retain") == "true"
        if policy.delete_after is not None and age > policy.delete_after and not retained:
            deletes, freed = deletes + 1, freed + sum(_parts(job).values())
        elif policy.archive_after is not None and age > policy.archive_after:
            moves += job.tier != "Archive"
        elif policy.cool_after is not None and age > policy.cool_after:
            moves += job.tier == "Hot"
    return moves, deletes, freed


def test_each_project_forecasts_the_sweep_with_its_own_policy(index: SearchIndex) -> None:
    """A project with its own retention policy (`ascend retention policy set`) is forecast at
    it, the others at the default: the same jobs, other numbers."""
    short = RetentionPolicy(cool_after=7, archive_after=20, delete_after=200)
    never = RetentionPolicy(cool_after=None, archive_after=None, delete_after=None)
    book = PolicyBook(DEFAULT_POLICY, (("nlp", never), ("vision", short)))
    rows = {r["project"]: r for r in reports.storage(_request(index), ["project"], policies=book)}
    plain = {r["project"]: r for r in reports.storage(_request(index), ["project"])}
    for project, row in rows.items():
        expected = _forecast(_jobs_of(project), book.for_project(project))
        assert (row["sweep_moves"], row["sweep_deletes"], row["sweep_freed_bytes"]) == expected
    assert _forecast(_jobs_of("vision"), short) != _forecast(_jobs_of("vision"), DEFAULT_POLICY)
    assert rows["vision"]["sweep_deletes"] > plain["vision"]["sweep_deletes"]
    assert rows["nlp"]["sweep_moves"] == rows["nlp"]["sweep_deletes"] == 0
    assert rows["fraud"] == plain["fraud"]


def _jobs_of(project: str) -> list[SeededJob]:
    return [j for j in JOBS if j.meta["project"] == project]


def _age(job: SeededJob) -> float:
    return (NOW - _created(job)).total_seconds() / 86400


def _parts(job: SeededJob) -> dict[str, int]:
    final = job.meta["status"] in {"completed", "failed", "cancelled"}
    return {
        "log": job.log_bytes,
        "copy": job.log_bytes if final else 0,
        "artifact": job.artifact_bytes,
    }


def _where(tier: str, part: str) -> str:
    return "Cool" if tier == "Archive" and part == "log" else tier


def test_images_report_uses_failures_last_use_and_packages(index: SearchIndex) -> None:
    """Per image: jobs, failure rate, last use, packages, unused for 30 days."""
    rows = reports.images(_request(index), unused_days=30)
    by_image: dict[str, list[SeededJob]] = defaultdict(list)
    for job in JOBS:
        by_image[job.image].append(job)
    assert {r["image"] for r in rows} == set(by_image)
    cutoff = format_datetime(NOW - timedelta(days=30))
    for row in rows:
        mine = by_image[row["image"]]
        failed = sum(j.meta["status"] == "failed" for j in mine)
        last = max(j.document["created_at"] for j in mine)
        assert (row["count"], row["failure_rate"], row["last_used"]) == (
            len(mine),
            round(failed / len(mine), 4),
            last,
        )
        assert row["packages"] == sorted(mine[0].meta["dependencies"]["packages"])
        assert row["unused"] == (last < cutoff)


def test_packages_are_counted_by_distinct_images(index: SearchIndex) -> None:
    """Each pinned package with the number of distinct images carrying it."""
    rows = reports.packages(_request(index))
    images: dict[str, set[str]] = defaultdict(set)
    for job in JOBS:
        for package in job.meta["dependencies"]["packages"]:
            images[package].add(job.image)
    assert {r["package"]: r["images"] for r in rows} == {p: len(i) for p, i in images.items()}


def test_the_window_limits_every_report_to_its_creation_times(index: SearchIndex) -> None:
    """--since 7d counts only the jobs created in the last 7 days."""
    window = parse_window("7d", None, NOW)
    rows = reports.cost(_request(index, window=window), [])
    assert rows[0]["count"] == sum(_age(j) <= 7 for j in JOBS)


def test_bad_options_are_one_line_errors() -> None:
    """A window that is not a time, or an unknown --by key, names the option and why."""
    with pytest.raises(InvalidInput, match="--since"):
        parse_window("yesterday", None, NOW)
    with pytest.raises(InvalidInput, match="--by colour"):
        reports.cost(_request(SqliteIndex(":memory:")), ["colour"])


def _matches(job: SeededJob, text: str) -> bool:
    matches: dict[str, bool] = {
        "": True,
        "status:failed": job.meta["status"] == "failed",
        "gpu:true": job.gpu,
        "user:alice": job.meta["user"] == "alice",
    }
    return matches[text]


PRINCIPALS = st.builds(
    Principal.of,
    st.sampled_from(["alice", "bob", "carol", "mallory"]),
    st.lists(st.sampled_from(["admin:fraud", "admin:nlp", "admin:vision"]), max_size=2).map(tuple),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(PRINCIPALS, st.sampled_from(["", "status:failed", "gpu:true", "user:alice"]))
def test_a_report_never_counts_a_job_its_reader_may_not_see(
    index: SearchIndex, principal: Principal, text: str
) -> None:
    """Every report, for any principal and query, counts only the jobs the principal may see."""
    visible = [j for j in JOBS if _visible(principal)(j) and _matches(j, text)]
    request = _request(index, principal, text)
    seen = len(visible)
    assert sum(r["count"] for r in reports.cost(request, ["project"])) == seen
    assert sum(r["count"] for r in reports.storage(request, ["user"])) == seen
    assert {r["project"] for r in reports.cost(request, ["project"])} <= {
        j.meta["project"] for j in visible
    }
    assert {r["user"] for r in reports.storage(request, ["user"])} <= {
        j.meta["user"] for j in visible
    }
    for row in reports.failures(request):
        assert set(row["users"]) <= {j.meta["user"] for j in visible}
        assert row["example"] in {j.meta["job_id"] for j in visible}
    images = {j.image for j in visible}
    assert {r["image"] for r in reports.images(request)} <= images
    assert {r["user"] for r in reports.cost(request, ["user"])} <= set(USERS)


@pytest.mark.parametrize(
    ("group_by", "measures", "covering"),
    [
        (
            ["user", "image_hash", "status"],
            [Measure("max", "created_at"), Measure("max", "job_id")],
            "jobs_report_images_newest",
        ),
        (
            ["error_signature", "user", "project", "image_hash"],
            [Measure("min", "created_at"), Measure("max", "created_at"), Measure("max", "job_id")],
            "jobs_report_failed",
        ),
    ],
)
def test_the_images_and_failures_reports_read_a_covering_index_in_group_order(
    embedded: SqliteIndex, group_by: list[str], measures: list[Measure], covering: str
) -> None:
    """Their GROUP BY reads one narrow index, newest first in each group, with no sort (an
    older file's ascending indexes are replaced by `ensure()`)."""
    old = embedded.conn
    old.execute("CREATE INDEX IF NOT EXISTS jobs_report_images ON jobs (user, image_hash)")
    embedded.ensure()
    names = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "jobs_report_images" not in names
    where = (Equals("status", ("failed",)),) if "error_signature" in group_by else ()
    select = aggregate_sql(Query(where), group_by, measures)
    plan = " ".join(r[3] for r in old.execute("EXPLAIN QUERY PLAN " + select.text, select.params))
    assert f"COVERING INDEX {covering}" in plan
    assert "TEMP B-TREE FOR GROUP BY" not in plan


def test_the_cost_report_reads_its_covering_index_in_group_order(embedded: SqliteIndex) -> None:
    """The cost report's groups (project, status, GPU) come from one covering index in group
    order, its creation time before the summed columns so that new jobs append to their group
    (an older file's index without it is replaced by `ensure()`)."""
    old = embedded.conn
    old.execute(
        "CREATE INDEX IF NOT EXISTS jobs_report_cost ON jobs (project, status, use_gpu, "
        "duration_seconds, cost_usd)"
    )
    embedded.ensure()
    names = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "jobs_report_cost" not in names
    select = aggregate_sql(Query(), ["project", "status", "use_gpu"], reports._COST_MEASURES)
    plan = " ".join(r[3] for r in old.execute("EXPLAIN QUERY PLAN " + select.text, select.params))
    assert "COVERING INDEX jobs_report_cost_created" in plan, plan
    assert "TEMP B-TREE FOR GROUP BY" not in plan, plan


def _failures_plans(index: SqliteIndex, principal: Principal, status: str) -> list[str]:
    """EXPLAIN QUERY PLAN of each aggregate the failures report runs as `principal` (the
    status a bound parameter, as the report binds it), with `status` in place of failed."""
    window = Window(NOW - timedelta(days=7), NOW)
    plans = []
    for group_by, measures, where in (
        (["error_signature", "user", "project", "image_hash"], reports._FAILURE_MEASURES, Window()),
        (["error_signature"], (), window),
    ):
        query = scoped(
            principal, Query(), CLOCK, Query((*where.terms(), Equals("status", (status,))))
        )
        select = aggregate_sql(query, group_by, measures)
        assert status in select.params
        rows = index.conn.execute("EXPLAIN QUERY PLAN " + select.text, select.params)
        plans.append(" ".join(r[3] for r in rows))
    return plans


@pytest.mark.parametrize("principal", [ADMIN, Principal.of("alice")])
def test_the_failures_report_reads_the_partial_index_of_failed_jobs(
    embedded: SqliteIndex, principal: Principal
) -> None:
    """The failures report's aggregates, for an admin and for a user, read the covering index
    that holds only failed jobs, though `failed` comes as a bound parameter (SQLite plans
    again with the value bound); another status cannot use it."""
    made = embedded.conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'jobs_report_failed'"
    ).fetchone()[0]
    assert made.endswith("WHERE status = 'failed'")
    for plan in _failures_plans(embedded, principal, "failed"):
        assert "USING COVERING INDEX jobs_report_failed (status=?)" in plan, plan
    for plan in _failures_plans(embedded, principal, "completed"):
        assert "jobs_report_failed" not in plan, plan


def test_the_sweep_forecast_reads_only_the_jobs_the_sweep_would_take(
    embedded: SqliteIndex,
) -> None:
    """Each stage of the storage report's forecast seeks (retain, created_at) or (tier,
    created_at) for its jobs: no scan of every job."""
    fields = ["project", "status", "tier", "retain"]
    for _, terms in reports._sweep_terms(NOW, reports.StageAges()):
        select = aggregate_sql(Query(terms), fields, [Measure("sum", "log_bytes")])
        plan = [
            r[3] for r in embedded.conn.execute("EXPLAIN QUERY PLAN " + select.text, select.params)
        ]
        assert not any(step.startswith("SCAN") for step in plan), plan
