"""Compile a query tree to SQL for the embedded index: WHERE + parameters + ORDER BY, and the
SELECTs of counts, facets and aggregates.

Pure: every value is bound as `?`; the only names spliced into the text are document fields from
the tree, which the parser takes from a fixed table (and which are checked here again). The
table is `jobs` of `shared.adapters.sqlite_index`; `tag:` and `metric:` terms read its JSON
columns `tags` and `metrics_last` with `json_each`; `package:` terms read the index table
`package_jobs (version_id, created, job_id)` (`created`: `epoch_ms` of created_at), with the
ids of `package_versions (id, name, version)`. This is the one place the embedded index's
SQL is written from a tree.

A listing (`compile_listing`) whose terms include a `package:` term and nothing that narrows by
an indexed field (user, project, dependency, ...) is driven by that term: the jobs come from
`package_jobs` in the listing's order, one index range per version, merged by SQLite (a
compound SELECT with ORDER BY merges its sorted arms), so neither all matches are read for a
first page nor every row of `jobs` is probed for a rare version. The merged arms run as a
co-routine (`LIMIT -1` keeps SQLite from flattening them into the join) and the outer loop
keeps their order, so the outer SELECT has no ORDER BY of its own: `tests` pin that plan with
EXPLAIN QUERY PLAN and the order of the results. Anywhere else a `package:` term is a probe of
the candidate row's own (version_id, created, job_id) keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shared.documents import (
    FIELD_BY_NAME,
    FIELDS,
    FieldType,
    JsonDocument,
    SearchField,
    format_datetime,
)
from shared.querytree import (
    After,
    AllOf,
    AnyOf,
    Compare,
    Equals,
    IsTrue,
    Measure,
    Metric,
    Missing,
    Not,
    Package,
    Query,
    Sort,
    Tag,
    Term,
)

_OPS = {"=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_TIE = "(created_at, job_id)"
# `package_jobs.created` of a job without a readable created_at: below every time, as a NULL
# created_at sorts below every text in `jobs`.
NO_TIME = -(1 << 62)
# The id of the (name, version) pair bound as two `?`s.
VERSION_ID = "(SELECT id FROM package_versions WHERE name = ? AND version = ?)"


def epoch_ms(time: str) -> str:
    """SQL of the document time `time` (an SQL expression: `?`, a column) as epoch
    milliseconds, NULL or unreadable as `NO_TIME`: for the documents' one time text
    (`format_datetime`) the integers sort as the texts do. SQLite keeps a julian day as
    integer milliseconds, so the round trip through a double is exact after `round`."""
    days = f"julianday({time}) - 2440587.5"
    return f"coalesce(CAST(round(({days}) * 86400000) AS INTEGER), {NO_TIME})"


@dataclass(frozen=True, slots=True)
class SqlQuery:
    """WHERE + params + ORDER BY over `source` (a FROM clause, its own params first); an empty
    `order_by` means `source` yields the rows in the query's order already."""

    where: str
    params: tuple[Any, ...]
    order_by: str
    source: str = "jobs"
    source_params: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _Sql:
    text: str
    params: tuple[Any, ...] = ()


def compile_sql(query: Query) -> SqlQuery:
    """WHERE + params + ORDER BY of `query` (times bound, package versions resolved)."""
    parts = [_compile(t) for t in query.terms]
    where = " AND ".join(p.text for p in parts) or "1"
    params = tuple(v for p in parts for v in p.params)
    return SqlQuery(where, params, order_by(query.sort))


def compile_listing(query: Query) -> SqlQuery:
    """`compile_sql` for a listing in `query`'s sort: driven by a `package:` term when that
    is the best way in (see the module's docstring)."""
    driver = _driving_package(query)
    if driver is None:
        return compile_sql(query)
    rest = compile_sql(Query(tuple(t for t in query.terms if t is not driver), query.sort))
    source, params = _package_source(driver, query)
    return SqlQuery(rest.where, rest.params, "", source, params)


# Equality on these fields finds few rows through an index of `jobs`: a listing with one is
# driven by that index, a `package:` term then probed per row.
_NARROWING = frozenset(
    {"job_id", "user", "project", "dep_hash", "image_hash", "function_name", "error_signature"}
)


def _narrows(term: Term) -> bool:
    if isinstance(term, Equals):
        return term.field in _NARROWING
    if isinstance(term, AllOf):
        return any(_narrows(t) for t in term.terms)
    if isinstance(term, AnyOf):
        return all(_narrows(t) for t in term.terms)
    return False


def _driving_package(query: Query) -> Package | None:
    """The first `package:` term of a created_at listing with versions to read, unless
    another term narrows by an indexed field."""
    if query.sort.field != "created_at" or any(_narrows(t) for t in query.terms):
        return None
    return next((t for t in query.terms if isinstance(t, Package) and t.versions), None)


def _created_bounds(query: Query) -> tuple[str, tuple[Any, ...]]:
    """The query's own bounds on created_at (ranges and the cursor), as conditions on
    `package_jobs`, so each version's range starts and stops where the listing does."""
    texts: list[str] = []
    params: list[Any] = []
    for term in query.terms:
        if isinstance(term, Compare) and term.field == "created_at":
            texts.append(f" AND created {_OPS[term.op]} {epoch_ms('?')}")
            params.append(_bound(term.value))
        elif isinstance(term, After) and term.sort.field == "created_at":
            way = "<" if term.sort.descending else ">"
            texts.append(f" AND (created, job_id) {way} ({epoch_ms('?')}, ?)")
            params.extend((term.created_at, term.job_id))
    return "".join(texts), tuple(params)


def _package_source(term: Package, query: Query) -> tuple[str, tuple[Any, ...]]:
    """FROM clause: each version's jobs in the listing's order, merged (UNION drops a job
    listed under two matching versions), then their rows."""
    way = "DESC" if query.sort.descending else "ASC"
    bounds, bound_params = _created_bounds(query)
    arm = (
        "SELECT created AS p_created, job_id AS p_job FROM package_jobs "  # noqa: S608
        f"WHERE version_id = {VERSION_ID}{bounds}"  # bounds: fixed text, values bound
    )
    versions = package_versions(term)
    arms = " UNION ".join(arm for _ in versions)
    text = (
        f"({arms} ORDER BY 1 {way}, 2 {way} LIMIT -1) drv "
        "CROSS JOIN jobs ON jobs.job_id = drv.p_job"
    )
    return text, tuple(p for v in versions for p in (term.name, v, *bound_params))


def order_by(sort: Sort) -> str:
    """ORDER BY text of `sort`, ties broken by created_at then job_id in the same direction."""
    way = "DESC" if sort.descending else "ASC"
    fields = [sort.field] if sort.field != "created_at" else []
    return ", ".join(f"{_column(f)} {way}" for f in [*fields, "created_at", "job_id"])


def column(name: str) -> str:
    """A document field as a quoted column name (checked against the field list)."""
    return _column(name)


def _column(name: str) -> str:
    if name not in FIELD_BY_NAME:
        raise ValueError(f"not a document field: {name!r}")
    return f'"{name}"'


def _compile(term: Term) -> _Sql:
    return _COMPILERS[type(term)](term)


def _equals(term: Equals) -> _Sql:
    if len(term.values) == 1:
        return _Sql(f"{_column(term.field)} = ?", term.values)
    marks = ", ".join("?" for _ in term.values)
    return _Sql(f"{_column(term.field)} IN ({marks})", term.values)


def _is_true(term: IsTrue) -> _Sql:
    return _Sql(f"{_column(term.field)} = ?", (int(term.value),))


def _bound(value: object) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value


def _compare(term: Compare) -> _Sql:
    return _Sql(f"{_column(term.field)} {_OPS[term.op]} ?", (_bound(term.value),))


def _missing(term: Missing) -> _Sql:
    return _Sql(f"{_column(term.field)} IS NULL")


def _any_element(column: str, condition: str, params: tuple[Any, ...]) -> _Sql:
    """True when an element `j` of the job's JSON column `column` meets `condition`: a
    correlated read of the candidate row's own value, like any other condition on it."""
    # `column` is one of the three JSON columns named below; every value is a bound parameter.
    return _Sql(
        f"EXISTS (SELECT 1 FROM json_each(jobs.{column}) j WHERE {condition})",  # noqa: S608
        params,
    )


def _filtered(column: str, needles: list[tuple[str, bool]], exact: _Sql) -> _Sql:
    """`exact` behind a cheap test of the column's JSON text: `instr` finds an element's
    encoded text (`"torch 2.0.0"`, or `"torch ` for a prefix) in C, so `json_each` runs only
    on rows that may match (a scan of the whole table otherwise). Only for texts of printable
    ASCII without `"`, `\\` or `/`, which every JSON encoder writes alike."""
    if not all(_PLAIN_TEXT.fullmatch(text) for text, _ in needles):
        return exact
    tests = " OR ".join(f"instr(jobs.{column}, ?) > 0" for _ in needles)
    params = tuple(f'"{text}' + ("" if prefix else '"') for text, prefix in needles)
    return _Sql(f"(({tests}) AND {exact.text})", (*params, *exact.params))


_PLAIN_TEXT = re.compile(r"[ !#-.0-\[\]-~]*")


_PACKAGE_PROBE = (
    "EXISTS (SELECT 1 FROM package_jobs pj WHERE pj.version_id IN (SELECT id FROM "  # noqa: S608
    "package_versions WHERE name = ? AND version IN ({marks})) "
    f"AND pj.created = {epoch_ms('jobs.created_at')} AND pj.job_id = jobs.job_id)"
)


def _package(term: Package) -> _Sql:
    """A probe of `package_jobs` by the row's own keys, one index seek per version."""
    versions = package_versions(term)
    if not versions:
        return _Sql("0")
    marks = ", ".join("?" for _ in versions)
    return _Sql(_PACKAGE_PROBE.format(marks=marks), (term.name, *versions))


def package_versions(term: Package) -> tuple[str, ...]:
    """The indexed versions `term` takes in (filled by the index: every version of the name
    when there is no specifier)."""
    if term.versions is None:
        raise ValueError(f"package {term.name}{term.specifier}: versions not resolved")
    return term.versions


def _tag(term: Tag) -> _Sql:
    """Against `tags`: `key=value` texts, split at the first `=` (a text without one is a key
    with an empty value)."""
    if term.value is None:
        prefix = f"{term.key}="
        exact = _any_element(
            "tags", "(j.value = ? OR substr(j.value, 1, ?) = ?)", (term.key, len(prefix), prefix)
        )
        return _filtered("tags", [(term.key, False), (prefix, True)], exact)
    if term.value == "":
        exact = _any_element("tags", "j.value IN (?, ?)", (term.key, f"{term.key}="))
        return _filtered("tags", [(term.key, False), (f"{term.key}=", False)], exact)
    text = f"{term.key}={term.value}"
    return _filtered("tags", [(text, False)], _any_element("tags", "j.value = ?", (text,)))


def _metric(term: Metric) -> _Sql:
    if term.op is None:
        return _any_element("metrics_last", "j.key = ? AND j.value IS NOT NULL", (term.name,))
    return _any_element(
        "metrics_last", f"j.key = ? AND j.value {_OPS[term.op]} ?", (term.name, term.value)
    )


def _after(term: After) -> _Sql:
    """Keyset condition: rows strictly after the cursor's row in the sort (NULLs sort lowest)."""
    less = "<" if term.sort.descending else ">"
    tie = (term.created_at, term.job_id)
    if term.sort.field == "created_at":
        return _Sql(f"{_TIE} {less} (?, ?)", tie)
    col = _column(term.sort.field)
    value = _bound(term.value)
    if value is None:
        if term.sort.descending:
            return _Sql(f"({col} IS NULL AND {_TIE} < (?, ?))", tie)
        return _Sql(f"({col} IS NOT NULL OR {_TIE} > (?, ?))", tie)
    beyond = f"{col} IS NULL OR " if term.sort.descending else ""
    return _Sql(
        f"({beyond}{col} {less} ? OR ({col} = ? AND {_TIE} {less} (?, ?)))", (value, value, *tie)
    )


def _join(word: str) -> Callable[[Any], _Sql]:
    def build(term: AllOf | AnyOf) -> _Sql:
        parts = [_compile(t) for t in term.terms]
        text = f" {word} ".join(p.text for p in parts)
        return _Sql(f"({text})", tuple(v for p in parts for v in p.params))

    return build


def _not(term: Not) -> _Sql:
    inner = _compile(term.term)
    return _Sql(f"({inner.text}) IS NOT 1", inner.params)


_COMPILERS: dict[type, Callable[[Any], _Sql]] = {
    Equals: _equals,
    IsTrue: _is_true,
    Compare: _compare,
    Package: _package,
    Tag: _tag,
    Metric: _metric,
    Missing: _missing,
    After: _after,
    Not: _not,
    AllOf: _join("AND"),
    AnyOf: _join("OR"),
}


@dataclass(frozen=True, slots=True)
class SqlSelect:
    """A whole SELECT statement and its parameters."""

    text: str
    params: tuple[Any, ...]


_FROM = "FROM jobs"


def count_sql(query: Query) -> SqlSelect:
    """`SELECT count(*)` of the rows `query` matches."""
    where = compile_sql(query)
    return SqlSelect(f"SELECT count(*) {_FROM} WHERE {where.where}", where.params)


def _json_value(field: SearchField) -> str:
    """The SQL value of a column as JSON: lists and metrics are stored as JSON text (NULL or
    empty for none), booleans as 0/1."""
    name = _column(field.name)
    if field.is_collection:
        empty = "{}" if field.type is FieldType.METRICS else "[]"
        return f"json(coalesce(nullif({name}, ''), '{empty}'))"
    if field.type is FieldType.BOOL:
        return (
            f"CASE WHEN {name} IS NULL THEN NULL WHEN {name} THEN json('true') "
            "ELSE json('false') END"
        )
    return name


# Doubles are left out of SQLite's JSON: it prints them with 15 digits (and its printf is not
# correctly rounded beyond), so some would not read back the same; `json_document` adds them.
_FLOATS = tuple(f.name for f in FIELDS if f.type is FieldType.FLOAT)
_WITH_FLOATS = b"%s" + b"".join(f',"{name}":%s'.encode() for name in _FLOATS) + b"}"
# The rest of the document as JSON text, made by SQLite (CAST to BLOB: bytes, never decoded).
DOCUMENT_JSON = (
    "CAST(json_object("
    + ", ".join(f"'{f.name}', {_json_value(f)}" for f in FIELDS if f.name not in _FLOATS)
    + ") AS BLOB)"
)


def document_json_sql(query: Query, limit: int) -> SqlSelect:
    """Each matching row as (document JSON without its doubles, the doubles, sort value,
    created_at, job_id), in `query`'s sort, at most `limit`: what `json_document` needs."""
    where = compile_listing(query)
    floats = "".join(f"jobs.{_column(name)}, " for name in _FLOATS)
    text = (
        f"SELECT {DOCUMENT_JSON}, {floats}jobs.{_column(query.sort.field)}, jobs.created_at, "  # noqa: S608
        f"jobs.job_id FROM {where.source} WHERE {where.where}{ordered(where.order_by)} LIMIT ?"
    )
    return SqlSelect(text, (*where.source_params, *where.params, limit))


def ordered(order: str) -> str:
    """The ORDER BY clause of an `order_by` text (none when the source keeps the order)."""
    return f" ORDER BY {order}" if order else ""


def rows_sql(query: Query, fields: Sequence[str], limit: int) -> SqlSelect:
    """The columns `fields` of the rows `query` matches, in its sort, at most `limit`."""
    where = compile_sql(query)
    columns = ", ".join(_column(name) for name in fields)
    text = f"SELECT {columns} {_FROM} WHERE {where.where} ORDER BY {where.order_by} LIMIT ?"
    return SqlSelect(text, (*where.params, limit))


def json_document(row: Sequence[Any]) -> JsonDocument:
    """A row of `document_json_sql` as the document's JSON text (the doubles added by orjson,
    which prints the shortest text that reads back the same) and its cursor values."""
    doubles = map(orjson.dumps, row[1 : 1 + len(_FLOATS)])
    return JsonDocument(_WITH_FLOATS % (row[0][:-1], *doubles), *row[1 + len(_FLOATS) :])


def _grouped_source(fields: Sequence[str]) -> tuple[str, list[str]]:
    """FROM clause and one value expression per field: a collection field is joined with
    `json_each`, so a job counts once in the group of each of its values."""
    sources, values = [_FROM], []
    for n, name in enumerate(fields):
        if FIELD_BY_NAME[name].is_collection:
            sources.append(f"json_each(jobs.{_column(name)}) g{n}")
            values.append(f"g{n}.value")
        else:
            values.append(_column(name))
    return ", ".join(sources), values


def facet_sql(query: Query, field: str, limit: int) -> SqlSelect:
    """(value, jobs) of `field` among the rows `query` matches, most jobs first, at most
    `limit` values (nulls are not a value)."""
    where = compile_sql(query)
    source, (value,) = _grouped_source([field])
    # A scalar field puts each job in one group: count(*) reads the covering index alone,
    # where count(DISTINCT job_id) sorts every job ID (3x slower on 100,000 jobs).
    jobs = "count(DISTINCT jobs.job_id)" if FIELD_BY_NAME[field].is_collection else "count(*)"
    text = (
        f"SELECT {value}, {jobs} AS n {source} "
        f"WHERE ({where.where}) AND {value} IS NOT NULL "
        f"GROUP BY {value} ORDER BY n DESC, {value} LIMIT ?"
    )
    return SqlSelect(text, (*where.params, limit))


def aggregate_sql(query: Query, group_by: Sequence[str], measures: Sequence[Measure]) -> SqlSelect:
    """One row per group of `group_by` values among the rows `query` matches: the group's
    values, its number of jobs, then one value per measure; most jobs first."""
    where = compile_sql(query)
    source, values = _grouped_source(group_by)
    numbers = [f"{m.op}(jobs.{_column(m.field)})" for m in measures]
    selected = ", ".join([*values, "count(*)", *numbers])
    grouping = f" GROUP BY {', '.join(values)}" if values else ""
    ordering = ", ".join(["count(*) DESC", *values])
    text = f"SELECT {selected} {source} WHERE {where.where}{grouping} ORDER BY {ordering}"
    return SqlSelect(text, where.params)
