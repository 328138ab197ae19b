"""The query module end to end on a real SQLite index file: answers, pages, scope, injection."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query import (
    QueryError,
    aggregate,
    count,
    facets,
    iter_all,
    parse_query,
    run,
    search,
    terms,
)
from query.evaluate import evaluate
from query.resolve import bind_times
from query.scope import scope_term
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.documents import SearchDocument, value_text
from shared.errors import InvalidInput
from shared.principal import Principal
from shared.querytree import Equals, Measure, Query
from tests.support.query import NOW, PROJECTS, USERS, documents, job, query_texts

CLOCK = FixedClock(NOW)
ADMIN = Principal.of("root", "admin")
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def ids(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    return [d["job_id"] for d in docs]


@contextmanager
def fresh_index(docs: list[SearchDocument]) -> Iterator[SqliteIndex]:
    """A new index file holding `docs` (one per hypothesis example)."""
    with tempfile.TemporaryDirectory() as tmp:
        index = SqliteIndex(Path(tmp) / "index.sqlite3")
        index.ensure()
        index.upsert(docs)
        try:
            yield index
        finally:
            index.close()


def all_documents(index: SqliteIndex) -> list[SearchDocument]:
    return index.find(Query(), limit=10_000)


def expected(principal: Principal, text: str, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the plain-Python oracle says `principal` should get for `text`."""
    query = bind_times(parse_query(text).where(scope_term(principal)), NOW)
    return ids(evaluate(query, docs))


@pytest.fixture
def readme_jobs(sqlite_index: SqliteIndex) -> SqliteIndex:
    """A small index with jobs that answer (or not) each README question."""
    sqlite_index.upsert(
        [
            job(1, hours_ago=2, status="failed"),
            job(2, hours_ago=24 * 10, status="failed"),
            job(3, user="bob", hours_ago=5, packages=["torch==2.1.0", "numpy==1.24.0"]),
            job(4, hours_ago=6, packages=["torch==1.13.1"]),
            job(5, hours_ago=7, use_gpu=True, cost_usd=12.5, node_type="gpu_small"),
            job(6, hours_ago=8, use_gpu=True, cost_usd=40.0, node_type="gpu_medium"),
            job(7, hours_ago=9, use_gpu=False, cost_usd=99.0),
            job(8, user="bob", hours_ago=10, image="0badf00d1234"),
            job(9, user="carol", hours_ago=24 * 100 + 3),
            job(10, user="carol", hours_ago=24 * 104),
        ]
    )
    return sqlite_index


def _ask(index: SqliteIndex, text: str, principal: Principal = ADMIN) -> list[str]:
    return [
        d["job_id"].split("-")[-1] for d in search(index, principal, text, clock=CLOCK).documents
    ]


def test_failed_jobs_in_the_last_week(readme_jobs: SqliteIndex) -> None:
    """`status:failed created:>=-7d` finds the recent failure, not the older one."""
    assert _ask(readme_jobs, "status:failed created:>=-7d") == ["00000001"]


def test_jobs_using_torch_2_or_later(readme_jobs: SqliteIndex) -> None:
    """`package:"torch>=2.0.0"` filters by the PEP 440 specifier, not by text."""
    assert _ask(readme_jobs, 'package:"torch>=2.0.0"') == ["00000003"]
    assert _ask(readme_jobs, "package:torch") == ["00000003", "00000004"]


def test_gpu_jobs_by_cost(readme_jobs: SqliteIndex) -> None:
    """`gpu:true sort:-cost` lists GPU jobs, most expensive first."""
    assert _ask(readme_jobs, "gpu:true sort:-cost") == ["00000006", "00000005"]


def test_all_jobs_using_an_image(readme_jobs: SqliteIndex) -> None:
    """`image:bob-0badf00d1234` is bob's jobs with that 12-character dependency hash."""
    assert _ask(readme_jobs, "image:bob-0badf00d1234") == ["00000008"]
    assert _ask(readme_jobs, "image:alice-0badf00d1234") == []


def test_a_users_jobs_in_a_date_range(readme_jobs: SqliteIndex) -> None:
    """`user:carol created:>=D1 created:<=D2` keeps the jobs of those whole days."""
    assert _ask(readme_jobs, "user:carol created:>=2025-12-01 created:<=2025-12-04") == ["00000009"]


def test_a_user_principal_sees_only_their_own_jobs(readme_jobs: SqliteIndex) -> None:
    """Without roles, asking for another user's jobs returns nothing, not an error."""
    bob = Principal.of("bob")
    assert _ask(readme_jobs, "user:alice", bob) == []
    assert set(_ask(readme_jobs, "", bob)) == {"00000003", "00000008"}


def test_a_project_admin_sees_the_project_and_their_own(readme_jobs: SqliteIndex) -> None:
    """`admin:vision` adds project vision's jobs to the principal's own."""
    readme_jobs.upsert([job(11, user="dave", project="vision", hours_ago=1)])
    assert _ask(readme_jobs, "", Principal.of("carol", "admin:vision")) == [
        "0000000b",
        "00000009",
        "0000000a",
    ]


def test_extra_structured_terms_are_anded(readme_jobs: SqliteIndex) -> None:
    """`extra=terms(...)` narrows a search the way `jobs list --status/--user` needs."""
    page = search(readme_jobs, ADMIN, "", clock=CLOCK, extra=terms(status="failed", user="alice"))
    assert [d["job_id"][-2:] for d in page.documents] == ["01", "02"]


def test_limit_outside_its_range_is_a_usage_error(readme_jobs: SqliteIndex) -> None:
    """A limit of 0 or above 1000 is refused with the reason."""
    with pytest.raises(InvalidInput, match="limit 0: must be between 1 and 1000"):
        search(readme_jobs, ADMIN, "", limit=0, clock=CLOCK)


@pytest.mark.parametrize(
    "sort", ["", "sort:created", "sort:-cost", "sort:cost", "sort:-user", "sort:duration"]
)
def test_paging_neither_skips_nor_repeats_while_jobs_arrive(
    sqlite_index: SqliteIndex, sort: str
) -> None:
    """Pages of 3 while new jobs are indexed between pages: the old jobs come exactly once."""
    old = [
        job(
            n,
            user=USERS[n % 3],
            hours_ago=n % 5,
            cost_usd=[None, 1.0, 2.0][n % 3],
            duration_seconds=float(n % 4),
        )
        for n in range(1, 20)
    ]
    sqlite_index.upsert(old)
    seen: list[str] = []
    cursor = None
    for page_number in range(100):
        page = search(sqlite_index, ADMIN, sort, limit=3, cursor=cursor, clock=CLOCK)
        seen += ids(page.documents)
        sqlite_index.upsert(
            [job(1000 + page_number, hours_ago=0.5, cost_usd=1.0, duration_seconds=2.0, user="bob")]
        )
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    old_ids = set(ids(old))
    assert len(seen) == len(set(seen))
    assert old_ids <= set(seen)
    assert [i for i in seen if i in old_ids] == expected(ADMIN, sort, old)


def test_iter_all_yields_every_match_across_pages(readme_jobs: SqliteIndex) -> None:
    """iter_all walks every page: the same jobs, in order, as one big page."""
    everything = search(readme_jobs, ADMIN, "sort:-cost", limit=1000, clock=CLOCK).documents
    walked = list(iter_all(readme_jobs, ADMIN, "sort:-cost", clock=CLOCK, page_size=2))
    assert ids(walked) == ids(everything)
    assert len(walked) == 10


def test_a_cursor_from_another_sort_is_a_usage_error(readme_jobs: SqliteIndex) -> None:
    """Reusing a cursor with a different sort is refused rather than giving a wrong page."""
    page = search(readme_jobs, ADMIN, "sort:-cost", limit=2, clock=CLOCK)
    assert page.next_cursor is not None
    with pytest.raises(InvalidInput, match="cursor: it belongs to a search with another sort"):
        search(readme_jobs, ADMIN, "", cursor=page.next_cursor, clock=CLOCK)


@HYPOTHESIS
@given(
    st.lists(st.integers(0, 10_000), max_size=25, unique=True).flatmap(
        lambda ns: st.tuples(*[documents(n) for n in ns])
    ),
    query_texts(),
)
def test_sqlite_and_the_python_oracle_agree(docs: tuple[SearchDocument, ...], text: str) -> None:
    """On random documents and queries, the SQL backend returns exactly the oracle's list."""
    with fresh_index(list(docs)) as index:
        got = run(index, ADMIN, parse_query(text), limit=1000, clock=CLOCK).documents
        assert ids(got) == expected(ADMIN, text, list(docs))
        paged = list(iter_all(index, ADMIN, text, clock=CLOCK, page_size=4))
        assert ids(paged) == ids(got)


principals = st.builds(
    Principal.of,
    st.sampled_from(USERS),
    st.lists(st.sampled_from([f"admin:{p}" for p in PROJECTS]), max_size=2).map(tuple),
)


@HYPOTHESIS
@given(
    st.lists(st.integers(0, 10_000), max_size=20, unique=True).flatmap(
        lambda ns: st.tuples(*[documents(n) for n in ns])
    ),
    query_texts(),
    principals,
)
def test_no_query_shows_a_principal_a_job_it_may_not_see(
    docs: tuple[SearchDocument, ...], text: str, principal: Principal
) -> None:
    """Whatever the query, a principal gets only jobs it may see, and all the matching ones."""
    with fresh_index(list(docs)) as index:
        got = list(iter_all(index, principal, text, clock=CLOCK, page_size=5))
    assert all(principal.can_see(d["user"], d["project"]) for d in got)
    if not principal.admin_projects:
        assert {d["user"] for d in got} <= {principal.user}
    assert ids(got) == expected(principal, text, list(docs))


ATTACKS = [
    "' or 1=1 --",
    "') or ('1'='1",
    ") or (",
    "x' eq 'x",
    "a or b",
    "any",
    "eq",
    "tags/any(t: t eq 'x')",
    '"; DROP TABLE jobs; --',
    "%",
    "_",
    "*",
    "\\",
    "ünï’code",
    "𝔘𝔫𝔦",
    "1 OR 1",
    "' || '",
    "$filter=",
    ",",
    "=",
    "x,y'",
]
KEYS = [
    "status",
    "user",
    "project",
    "function",
    "node",
    "python",
    "dep",
    "image",
    "package",
    "tag",
    "gpu",
    "created",
    "duration",
    "cost",
    "metric",
    "sort",
]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def victims(sqlite_index: SqliteIndex) -> SqliteIndex:
    """Jobs of several users, one whose function name and tag are literally an attack."""
    sqlite_index.upsert(
        [
            job(1, function_name="' or 1=1 --", tags=["' or 1=1 --=x"]),
            job(2, user="bob", function_name=") or (", tags=["note=) or ("]),
            job(3, user="carol", node_type="any", python_version="eq", metrics_last={"eq": 1.0}),
        ]
    )
    return sqlite_index


@pytest.mark.parametrize("key", KEYS)
def test_injection_attempts_match_literally_or_fail_as_usage_errors(
    victims: SqliteIndex, key: str
) -> None:
    """Every attack in every field is a literal (the oracle's answer) or a QueryError."""
    docs = all_documents(victims)
    attempts = [f"{sign}{key}:{_quoted(a)}" for a in ATTACKS for sign in ("", "-")]
    attempts += [f"{key}:{a}" for a in ATTACKS if " " not in a and '"' not in a]
    for text in attempts:
        for principal in (ADMIN, Principal.of("alice")):
            try:
                got = search(victims, principal, text, limit=100, clock=CLOCK).documents
            except QueryError:
                continue
            assert ids(got) == expected(principal, text, docs)
    assert victims.count() == 3


def test_a_literal_attack_value_finds_only_its_own_job(victims: SqliteIndex) -> None:
    """`function:"' or 1=1 --"` is the one job with that function name, nothing more."""
    assert _ask(victims, 'function:"\' or 1=1 --"') == ["00000001"]
    assert _ask(victims, 'tag:"note=) or ("') == ["00000002"]
    assert _ask(victims, "metric:eq>=1 node:any python:eq") == ["00000003"]


@HYPOTHESIS
@given(st.sampled_from(KEYS), st.text(max_size=30))
def test_arbitrary_text_in_any_field_never_widens_a_result(
    victims: SqliteIndex, key: str, value: str
) -> None:
    """Random text (unicode, quotes, control characters) in a field is literal or refused."""
    text = f"{key}:{_quoted(value)}"
    docs = all_documents(victims)
    try:
        got = search(victims, Principal.of("bob"), text, limit=100, clock=CLOCK).documents
    except QueryError:
        return
    assert {d["user"] for d in got} <= {"bob"}
    assert ids(got) == expected(Principal.of("bob"), text, docs)


def oracle_groups(
    docs: Sequence[Mapping[str, Any]], field: str
) -> dict[Any, list[Mapping[str, Any]]]:
    """The matching documents per value of `field` (each value of a list field)."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for doc in docs:
        value = doc.get(field)
        for one in value if isinstance(value, list) else [value]:
            groups.setdefault(one, []).append(doc)
    return groups


@HYPOTHESIS
@given(
    st.lists(st.integers(0, 10_000), max_size=25, unique=True).flatmap(
        lambda ns: st.tuples(*[documents(n) for n in ns])
    ),
    query_texts(),
    st.sampled_from(["user", "status", "node_type", "use_gpu", "tags", "packages"]),
)
def test_count_facets_and_aggregates_agree_with_the_python_oracle(
    docs: tuple[SearchDocument, ...], text: str, field: str
) -> None:
    """count, facets and sums per group over the SQL backend equal the oracle's arithmetic."""
    matching = evaluate(bind_times(parse_query(text), NOW), list(docs))
    groups = oracle_groups(matching, field)
    with fresh_index(list(docs)) as index:
        assert count(index, ADMIN, text, clock=CLOCK) == len(matching)
        found = facets(index, ADMIN, text, [field], clock=CLOCK, limit=1000)[field]
        rows = aggregate(index, ADMIN, text, [field], [Measure("sum", "cost_usd")], clock=CLOCK)
    assert found == {value_text(v): len(g) for v, g in groups.items() if v is not None}
    assert list(found.values()) == sorted(found.values(), reverse=True)
    by_group = {r[field]: (r["count"], r["sum_cost_usd"]) for r in rows}
    assert by_group.keys() == groups.keys()
    for value, group in groups.items():
        costs = [d["cost_usd"] for d in group if d["cost_usd"] is not None]
        assert by_group[value][0] == len(group)
        assert by_group[value][1] == (pytest.approx(sum(costs)) if costs else None)


def test_a_scoped_aggregate_sums_only_what_the_principal_may_see(readme_jobs: SqliteIndex) -> None:
    """bob's cost report by user has one row, his, whatever the query asks."""
    rows = aggregate(
        readme_jobs,
        Principal.of("bob"),
        "",
        ["user"],
        [Measure("sum", "cost_usd"), Measure("max", "duration_seconds")],
        clock=CLOCK,
    )
    assert rows == [{"user": "bob", "count": 2, "sum_cost_usd": None, "max_duration_seconds": None}]


def test_an_aggregate_without_groups_is_one_total_row(readme_jobs: SqliteIndex) -> None:
    """No group_by: one row with the number of jobs and the sum over all of them."""
    rows = aggregate(readme_jobs, ADMIN, "gpu:true", [], [Measure("sum", "cost_usd")], clock=CLOCK)
    assert rows == [{"count": 2, "sum_cost_usd": 52.5}]


def test_grouping_by_a_field_that_is_not_facetable_is_a_usage_error(
    readme_jobs: SqliteIndex,
) -> None:
    """job_id is not a group: the error names it; a sum of a text field is refused too."""
    with pytest.raises(InvalidInput, match="field 'job_id'"):
        aggregate(readme_jobs, ADMIN, "", ["job_id"], clock=CLOCK)
    with pytest.raises(InvalidInput, match="sum of 'user'"):
        Measure("sum", "user")


def test_set_tier_changes_the_tier_and_nothing_else(readme_jobs: SqliteIndex) -> None:
    """set_tier records the stage of two jobs; their version and other fields stay."""
    first, second = (search(readme_jobs, ADMIN, "", clock=CLOCK).documents[i] for i in (0, 1))
    assert readme_jobs.set_tier([first["job_id"], second["job_id"], "missing"], "Cool") == 2
    after = readme_jobs.get(first["job_id"])
    assert after == {**first, "tier": "Cool"}
    assert count(readme_jobs, ADMIN, Query((Equals("tier", ("Cool",)),)), clock=CLOCK) == 2


@pytest.mark.parametrize(
    ("tags", "query_text", "found"),
    [
        (['x="retain=1'], "tag:retain", False),  # the quick text test passes, the exact one not
        (['x="retain"'], "tag:retain", False),
        (["retain=true"], "tag:retain", True),
        (["note=a/b é"], 'tag:"note=a/b é"', True),  # no quick text test: read exactly
        (["torchvision=1"], "tag:torch", False),
    ],
)
def test_json_column_terms_match_exactly_whatever_the_quick_text_test_finds(
    tmp_path: Path, tags: list[str], query_text: str, found: bool
) -> None:
    """tag:/package: terms pre-filter rows by their JSON text; the result is still exact."""
    index = SqliteIndex(tmp_path / "index.sqlite3")
    index.ensure()
    index.upsert([job(1, tags=tags, packages=["torchvision==0.15.0"])])
    admin = Principal.of("root", "admin")
    clock = FixedClock(NOW)
    assert bool(search(index, admin, query_text, clock=clock).documents) is found
    assert not search(index, admin, "package:torch", clock=clock).documents
    index.close()
