"""Compile a query tree to OData for Azure AI Search: `$filter` and `$orderby`.

Pure. String literals are quoted with `'` and escaped by doubling it (the OData rule); lists use
`search.in` with a delimiter that occurs in none of the values (or an `or` of `eq` when every
candidate delimiter occurs); collections are filtered with `any()`. Field names come from the
tree, which takes them from a fixed table, and are checked again here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.documents import FIELD_BY_NAME, FieldType, format_datetime, parse_datetime
from shared.querytree import (
    After,
    AllOf,
    AnyOf,
    Compare,
    Equals,
    IsTrue,
    Metric,
    Missing,
    Not,
    Package,
    Query,
    Sort,
    Tag,
    Term,
)

_OPS = {"=": "eq", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}
_DELIMITERS = ",|;~^#"


@dataclass(frozen=True, slots=True)
class ODataQuery:
    filter: str | None
    order_by: tuple[str, ...]


def compile_odata(query: Query) -> ODataQuery:
    """`$filter` (None when nothing filters) and `$orderby` of `query` (times bound, resolved)."""
    parts = [compile_term(t) for t in query.terms]
    return ODataQuery(" and ".join(parts) or None, order_by(query.sort))


def order_by(sort: Sort) -> tuple[str, ...]:
    """`$orderby` clauses of `sort`, ties broken by created_at then job_id the same way."""
    way = "desc" if sort.descending else "asc"
    fields = [sort.field] if sort.field != "created_at" else []
    return tuple(f"{_field(f)} {way}" for f in [*fields, "created_at", "job_id"])


def quote(value: str) -> str:
    """An OData string literal: `'` doubled inside single quotes."""
    return "'" + value.replace("'", "''") + "'"


def literal(value: object) -> str:
    """An OData literal of a bound value (string, number, bool, time, null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, int | float):
        return repr(float(value))
    return quote(str(value))


def any_of(path: str, values: Sequence[str]) -> str:
    """`path` equal to one of `values`: `search.in` when a delimiter is free, else `or`s."""
    if len(values) == 1:
        return f"{path} eq {quote(values[0])}"
    free = next((d for d in _DELIMITERS if not any(d in v for v in values)), None)
    if free is None:
        return "(" + " or ".join(f"{path} eq {quote(v)}" for v in values) + ")"
    return f"search.in({path}, {quote(free.join(values))}, {quote(free)})"


def _field(name: str) -> str:
    if name not in FIELD_BY_NAME:
        raise ValueError(f"not a document field: {name!r}")
    return name


def compile_term(term: Term) -> str:
    return _COMPILERS[type(term)](term)


def _equals(term: Equals) -> str:
    return any_of(_field(term.field), term.values)


def _is_true(term: IsTrue) -> str:
    return f"{_field(term.field)} eq {literal(term.value)}"


def _compare(term: Compare) -> str:
    return f"{_field(term.field)} {_OPS[term.op]} {literal(term.value)}"


def _package(term: Package) -> str:
    if not term.specifier:
        return f"package_names/any(p: p eq {quote(term.name)})"
    if term.texts is None:
        raise ValueError(f"package {term.name}{term.specifier}: indexed values not resolved")
    if not term.texts:
        return "false"
    return f"packages/any(p: {any_of('p', term.texts)})"


def _tag(term: Tag) -> str:
    if term.value is not None:
        return f"tags/any(t: t eq {quote(f'{term.key}={term.value}')})"
    if term.texts is None:
        raise ValueError(f"tag {term.key}: indexed values not resolved")
    return f"tags/any(t: {any_of('t', term.texts)})" if term.texts else "false"


def _metric(term: Metric) -> str:
    name = f"m/name eq {quote(term.name)}"
    if term.op is None:
        return f"metrics_last/any(m: {name})"
    return f"metrics_last/any(m: {name} and m/value {_OPS[term.op]} {literal(term.value)})"


def _after(term: After) -> str:
    """Keyset condition: documents strictly after the cursor's in the sort (nulls lowest)."""
    less = "lt" if term.sort.descending else "gt"
    created = _typed_literal("created_at", term.created_at)
    tie = (
        f"(created_at {less} {created} or "
        f"(created_at eq {created} and job_id {less} {quote(term.job_id)}))"
    )
    if term.sort.field == "created_at":
        return tie
    field = _field(term.sort.field)
    if term.value is None:
        if term.sort.descending:
            return f"({field} eq null and {tie})"
        return f"({field} ne null or {tie})"
    value = _typed_literal(field, term.value)
    beyond = f"{field} eq null or " if term.sort.descending else ""
    return f"({beyond}{field} {less} {value} or ({field} eq {value} and {tie}))"


def _typed_literal(field: str, value: object) -> str:
    """A literal for `field`: document times (text) become DateTimeOffset literals."""
    if FIELD_BY_NAME[field].type is FieldType.DATETIME and isinstance(value, str):
        return format_datetime(parse_datetime(value))
    return literal(value)


def _join(word: str) -> Callable[[Any], str]:
    def build(term: AllOf | AnyOf) -> str:
        return "(" + f" {word} ".join(compile_term(t) for t in term.terms) + ")"

    return build


_COMPILERS: dict[type, Callable[[Any], str]] = {
    Equals: _equals,
    IsTrue: _is_true,
    Compare: _compare,
    Package: _package,
    Tag: _tag,
    Metric: _metric,
    Missing: lambda term: f"{_field(term.field)} eq null",
    After: _after,
    Not: lambda term: f"not ({compile_term(term.term)})",
    AllOf: _join("and"),
    AnyOf: _join("or"),
}
