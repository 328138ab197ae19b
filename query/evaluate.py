"""A plain-Python evaluation of a query tree on document dicts: the oracle of the compilers.

Written from the contract, not from the SQL: property tests check that the embedded index and
this module agree on random documents and queries. Times must be bound (`bind_times`) first.
A missing field never matches a positive term, so its negation matches it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from query.ast import (
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
from shared.documents import parse_datetime
from shared.packages import split_requirement, version_matches

Document = Mapping[str, Any]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def evaluate(query: Query, documents: Iterable[Document]) -> list[Document]:
    """The documents matching every term of `query`, in its order."""
    found = [d for d in documents if all(matches(t, d) for t in query.terms)]
    return sorted(found, key=lambda d: sort_key(query.sort, d), reverse=query.sort.descending)


def sort_key(sort: Sort, doc: Document) -> tuple[Any, ...]:
    """Ascending key of `doc` in `sort`: missing values first, then created_at, then job_id."""
    value = doc.get(sort.field)
    head = (0, 0) if value is None else (1, value)
    return (head, doc.get("created_at") or "", doc["job_id"])


def matches(term: Term, doc: Document) -> bool:
    """Does `doc` satisfy `term`?"""
    return bool(_MATCHERS[type(term)](term, doc))


def _equals(term: Equals, doc: Document) -> bool:
    return doc.get(term.field) in term.values


def _is_true(term: IsTrue, doc: Document) -> bool:
    return doc.get(term.field) is term.value


def _compare(term: Compare, doc: Document) -> bool:
    value = doc.get(term.field)
    if value is None:
        return False
    bound = term.value
    if isinstance(bound, datetime):
        return _OPS[term.op](parse_datetime(value), bound)
    return _OPS[term.op](float(value), bound)


def _package(term: Package, doc: Document) -> bool:
    for text in doc.get("packages") or ():
        name, version = split_requirement(text)
        if name == term.name and (not term.specifier or version_matches(term.specifier, version)):
            return True
    return False


def _tag(term: Tag, doc: Document) -> bool:
    for text in doc.get("tags") or ():
        key, _, value = text.partition("=")
        if key == term.key and (term.value is None or value == term.value):
            return True
    return False


def _metric(term: Metric, doc: Document) -> bool:
    value = (doc.get("metrics_last") or {}).get(term.name)
    if value is None:
        return False
    return term.op is None or _OPS[term.op](float(value), term.value)


def _after(term: After, doc: Document) -> bool:
    mine = sort_key(term.sort, doc)
    head = (0, 0) if term.value is None else (1, term.value)
    theirs = (head, term.created_at, term.job_id)
    return mine < theirs if term.sort.descending else mine > theirs


_MATCHERS: dict[type, Callable[[Any, Document], bool]] = {
    Equals: _equals,
    IsTrue: _is_true,
    Compare: _compare,
    Package: _package,
    Tag: _tag,
    Metric: _metric,
    After: _after,
    Missing: lambda term, doc: doc.get(term.field) is None,
    Not: lambda term, doc: not matches(term.term, doc),
    AllOf: lambda term, doc: all(matches(t, doc) for t in term.terms),
    AnyOf: lambda term, doc: any(matches(t, doc) for t in term.terms),
}
