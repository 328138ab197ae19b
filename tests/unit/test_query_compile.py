"""Both compilers on one table of cases: the SQL (text + bound parameters) and the OData filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from query import parse_query
from query.resolve import bind_times
from shared.adapters.odata_query import any_of, compile_odata, quote
from shared.adapters.odata_query import order_by as odata_order_by
from shared.adapters.sql_query import compile_sql
from shared.adapters.sql_query import order_by as sql_order_by
from shared.packages import matching_package_texts, matching_versions
from shared.querytree import After, Package, Query, Sort, Tag, map_terms, matching_tag_texts

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
EACH = "EXISTS (SELECT 1 FROM json_each(jobs.{}) j WHERE {})"
PROBE = (
    "EXISTS (SELECT 1 FROM package_jobs pj WHERE pj.version_id IN (SELECT id FROM "
    "package_versions WHERE name = ? AND version IN ({marks})) AND pj.created = "
    "coalesce(CAST(round((julianday(jobs.created_at) - 2440587.5) * 86400000) AS INTEGER), "
    "-4611686018427387904) AND pj.job_id = jobs.job_id)"
)


def instr(column: str, count: int, exact: str) -> str:
    """`exact` behind the `instr` test of `count` encoded texts in the JSON column."""
    tests = " OR ".join(f"instr(jobs.{column}, ?) > 0" for _ in range(count))
    return f"(({tests}) AND {exact})"


CASES: list[tuple[str, str, tuple[Any, ...], str]] = [
    ("status:failed", '"status" = ?', ("failed",), "status eq 'failed'"),
    (
        "status:failed,cancelled",
        '"status" IN (?, ?)',
        ("failed", "cancelled"),
        "search.in(status, 'failed,cancelled', ',')",
    ),
    ("user:alice", '"user" = ?', ("alice",), "user eq 'alice'"),
    (
        "project:fraud,vision",
        '"project" IN (?, ?)',
        ("fraud", "vision"),
        "search.in(project, 'fraud,vision', ',')",
    ),
    ('function:"o\'neil"', '"function_name" = ?', ("o'neil",), "function_name eq 'o''neil'"),
    (
        'function:"a,b" function:x',
        '"function_name" = ? AND "function_name" = ?',
        ("a,b", "x"),
        "function_name eq 'a,b' and function_name eq 'x'",
    ),
    ("node:gpu_small", '"node_type" = ?', ("gpu_small",), "node_type eq 'gpu_small'"),
    ("python:3.11", '"python_version" = ?', ("3.11",), "python_version eq '3.11'"),
    ("dep:a3f5d2c8", '"dep_hash" = ?', ("a3f5d2c8",), "dep_hash eq 'a3f5d2c8'"),
    (
        "image:alice-a3f5d2c8e9b1",
        '("user" = ? AND "image_hash" = ?)',
        ("alice", "a3f5d2c8e9b1"),
        "(user eq 'alice' and image_hash eq 'a3f5d2c8e9b1')",
    ),
    (
        "package:torch",
        PROBE.format(marks="?, ?, ?, ?, ?"),
        ("torch", "", "1.13.1", "2.0.0", "2.1.0+cu118", "2.2.0rc1"),
        "package_names/any(p: p eq 'torch')",
    ),
    (
        'package:"torch>=2.0.0"',
        PROBE.format(marks="?, ?, ?"),
        ("torch", "2.0.0", "2.1.0+cu118", "2.2.0rc1"),
        "packages/any(p: search.in(p, 'torch==2.0.0,torch==2.1.0+cu118', ','))",
    ),
    ('package:"torch>=9"', "0", (), "false"),
    (
        "tag:experiment=baseline",
        instr("tags", 1, EACH.format("tags", "j.value = ?")),
        ('"experiment=baseline"', "experiment=baseline"),
        "tags/any(t: t eq 'experiment=baseline')",
    ),
    (
        "tag:experiment",
        instr("tags", 2, EACH.format("tags", "(j.value = ? OR substr(j.value, 1, ?) = ?)")),
        ('"experiment"', '"experiment=', "experiment", 11, "experiment="),
        "tags/any(t: search.in(t, 'experiment=ablation,experiment=baseline', ','))",
    ),
    ("gpu:true", '"use_gpu" = ?', (1,), "use_gpu eq true"),
    ("gpu:false", '"use_gpu" = ?', (0,), "use_gpu eq false"),
    (
        "created:>=2025-12-01",
        '"created_at" >= ?',
        ("2025-12-01T00:00:00.000Z",),
        "created_at ge 2025-12-01T00:00:00.000Z",
    ),
    (
        "created:<2025-12-08T00:00:00Z",
        '"created_at" < ?',
        ("2025-12-08T00:00:00.000Z",),
        "created_at lt 2025-12-08T00:00:00.000Z",
    ),
    (
        "created:>=-7d",
        '"created_at" >= ?',
        ("2026-03-07T12:00:00.000Z",),
        "created_at ge 2026-03-07T12:00:00.000Z",
    ),
    (
        "created:>=-12h",
        '"created_at" >= ?',
        ("2026-03-14T00:00:00.000Z",),
        "created_at ge 2026-03-14T00:00:00.000Z",
    ),
    ("duration:>3600", '"duration_seconds" > ?', (3600.0,), "duration_seconds gt 3600.0"),
    ("cost:>=10", '"cost_usd" >= ?', (10.0,), "cost_usd ge 10.0"),
    ("cost:=0.5", '"cost_usd" = ?', (0.5,), "cost_usd eq 0.5"),
    ("cost:<=1", '"cost_usd" <= ?', (1.0,), "cost_usd le 1.0"),
    (
        "metric:loss<0.5",
        EACH.format("metrics_last", "j.key = ? AND j.value < ?"),
        ("loss", 0.5),
        "metrics_last/any(m: m/name eq 'loss' and m/value lt 0.5)",
    ),
    (
        "metric:acc",
        EACH.format("metrics_last", "j.key = ? AND j.value IS NOT NULL"),
        ("acc",),
        "metrics_last/any(m: m/name eq 'acc')",
    ),
    ("-status:failed", '("status" = ?) IS NOT 1', ("failed",), "not (status eq 'failed')"),
    (
        "-tag:retain",
        "("
        + instr("tags", 2, EACH.format("tags", "(j.value = ? OR substr(j.value, 1, ?) = ?)"))
        + ") IS NOT 1",
        ('"retain"', '"retain=', "retain", 7, "retain="),
        "not (tags/any(t: t eq 'retain=true'))",
    ),
    ("", "1", (), ""),
]

INDEXED_VERSIONS = ["1.13.1", "2.0.0", "2.1.0+cu118", "2.2.0rc1", ""]
INDEXED_PACKAGES = ["torch==1.13.1", "torch==2.0.0", "torch==2.1.0+cu118", "numpy==1.24.0"]
INDEXED_TAGS = ["experiment=baseline", "experiment=ablation", "retain=true", "experimental=x"]


def _resolved(text: str, *, for_sql: bool) -> Query:
    """The parsed, time-bound query with packages/tags resolved as each backend would."""

    def fill(term: Any) -> Any:
        if isinstance(term, Package) and for_sql:
            known = sorted(INDEXED_VERSIONS)
            found = matching_versions(term.specifier, known) if term.specifier else tuple(known)
            return replace(term, versions=found)
        if isinstance(term, Package) and term.specifier:
            texts = matching_package_texts(term.name, term.specifier, INDEXED_PACKAGES)
            return replace(term, texts=texts)
        if isinstance(term, Tag) and term.value is None and not for_sql:
            return replace(term, texts=matching_tag_texts(term.key, INDEXED_TAGS))
        return term

    return map_terms(bind_times(parse_query(text), NOW), fill)


@pytest.mark.parametrize(("text", "where", "params", "odata"), CASES)
def test_each_case_compiles_to_the_expected_sql_and_odata(
    text: str, where: str, params: tuple[Any, ...], odata: str
) -> None:
    """The same parsed query becomes the expected SQL with bound values and the OData filter."""
    sql = compile_sql(_resolved(text, for_sql=True))
    assert (sql.where, sql.params) == (where, params)
    assert (compile_odata(_resolved(text, for_sql=False)).filter or "") == odata


def test_no_value_ever_appears_in_the_sql_text() -> None:
    """Every value of every case is a bound parameter, never part of the SQL text."""
    for text, _, params, _ in CASES:
        where = compile_sql(_resolved(text, for_sql=True)).where
        for value in params:
            if isinstance(value, str) and value:
                assert value not in where, (text, value)


@pytest.mark.parametrize(
    ("sort", "sql", "odata"),
    [
        (Sort(), '"created_at" DESC, "job_id" DESC', ("created_at desc", "job_id desc")),
        (
            Sort("cost_usd", True),
            '"cost_usd" DESC, "created_at" DESC, "job_id" DESC',
            ("cost_usd desc", "created_at desc", "job_id desc"),
        ),
        (
            Sort("created_at", False),
            '"created_at" ASC, "job_id" ASC',
            ("created_at asc", "job_id asc"),
        ),
    ],
)
def test_sorts_break_ties_by_created_at_then_job_id(
    sort: Sort, sql: str, odata: tuple[str, ...]
) -> None:
    """Every order is total: the sort field, then created_at, then job_id, the same way."""
    assert sql_order_by(sort) == sql
    assert odata_order_by(sort) == odata


def test_keyset_conditions_compile_for_both_backends() -> None:
    """A cursor's After term becomes a row-value comparison in SQL and nested ors in OData."""
    after = After(Sort("cost_usd", True), 2.5, "2026-03-01T00:00:00.000Z", "j'1")
    sql = compile_sql(Query((after,)))
    assert sql.where == (
        '("cost_usd" IS NULL OR "cost_usd" < ? OR ("cost_usd" = ? AND '
        "(created_at, job_id) < (?, ?)))"
    )
    assert sql.params == (2.5, 2.5, "2026-03-01T00:00:00.000Z", "j'1")
    assert compile_odata(Query((after,))).filter == (
        "(cost_usd eq null or cost_usd lt 2.5 or (cost_usd eq 2.5 and "
        "(created_at lt 2026-03-01T00:00:00.000Z or (created_at eq 2026-03-01T00:00:00.000Z "
        "and job_id lt 'j''1'))))"
    )


def test_odata_lists_pick_a_free_delimiter_or_fall_back_to_or() -> None:
    """search.in uses a delimiter none of the values contain; with none free, an `or` of eq."""
    assert any_of("f", ["a,b", "c"]) == "search.in(f, 'a,b|c', '|')"
    crowded = [",|;~^#", "x"]
    assert any_of("f", crowded) == "(f eq ',|;~^#' or f eq 'x')"


@pytest.mark.parametrize("value", ["O'Neil", "' or 1 eq 1 or '", "''", "é'ü"])
def test_odata_string_literals_double_every_quote(value: str) -> None:
    """A quote inside a literal is doubled, so the literal always ends where it should."""
    literal = quote(value)
    assert literal == "'" + value.replace("'", "''") + "'"
    assert literal[1:-1].replace("''", "").count("'") == 0


def test_package_specifiers_follow_packaging_for_prereleases_and_local_versions() -> None:
    """packaging's `contains` decides: a prerelease is inside `>=2.0.0` but not inside `<2.2`
    (PEP 440's exclusive bound); local versions count as their release; unpinned never match."""
    assert matching_versions(">=2.0.0", INDEXED_VERSIONS) == ("2.0.0", "2.1.0+cu118", "2.2.0rc1")
    assert matching_versions(">=2.0.0,<2.2", INDEXED_VERSIONS) == ("2.0.0", "2.1.0+cu118")
    assert matching_versions("==2.1.0", INDEXED_VERSIONS) == ("2.1.0+cu118",)
    assert matching_versions("<2", INDEXED_VERSIONS) == ("1.13.1",)
