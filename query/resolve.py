"""Pure steps between parsing and compiling: fix relative times, fill resolved package/tag sets.

`package:"torch>=2"` and (for Azure) `tag:key` cannot be compiled from the text alone: the
backend first asks its index which versions / tag texts exist, these functions pick the ones
that match, and `fill` puts them into the tree. All of it is pure and tested without an index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from query.ast import AllOf, AnyOf, Compare, Not, Package, Query, Relative, Tag, Term
from shared.packages import split_requirement


def map_terms(query: Query, change: Callable[[Term], Term]) -> Query:
    """`query` with `change` applied to every leaf (through Not/AllOf/AnyOf)."""
    return Query(tuple(_map(t, change) for t in query.terms), query.sort)


def _map(term: Term, change: Callable[[Term], Term]) -> Term:
    if isinstance(term, Not):
        return Not(_map(term.term, change))
    if isinstance(term, AllOf | AnyOf):
        return type(term)(tuple(_map(t, change) for t in term.terms))
    return change(term)


def leaves(query: Query) -> Iterator[Term]:
    """Every leaf term of `query`, left to right."""
    for term in query.terms:
        yield from _leaves(term)


def _leaves(term: Term) -> Iterator[Term]:
    if isinstance(term, Not):
        yield from _leaves(term.term)
    elif isinstance(term, AllOf | AnyOf):
        for inner in term.terms:
            yield from _leaves(inner)
    else:
        yield term


def bind_times(query: Query, now: datetime) -> Query:
    """`query` with each relative time (`-7d`) replaced by the moment it means at `now`."""

    def bind(term: Term) -> Term:
        if isinstance(term, Compare) and isinstance(term.value, Relative):
            return replace(term, value=to_millis(now - term.value.ago))
        return term

    return map_terms(query, bind)


def to_millis(moment: datetime) -> datetime:
    """`moment` cut to whole milliseconds: the precision of the documents' times."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def version_matches(specifier: str, version: str) -> bool:
    """Is `version` inside `specifier`, prereleases and local versions as packaging decides?"""
    try:
        return SpecifierSet(specifier).contains(Version(version))
    except InvalidVersion:
        return False


def matching_versions(specifier: str, versions: Iterable[str]) -> tuple[str, ...]:
    """The version texts inside `specifier`, sorted (for stable SQL)."""
    return tuple(sorted(v for v in set(versions) if version_matches(specifier, v)))


def matching_package_texts(name: str, specifier: str, texts: Iterable[str]) -> tuple[str, ...]:
    """The indexed `packages` texts of package `name` whose pinned version is in `specifier`."""
    chosen = set()
    for text in texts:
        text_name, version = split_requirement(text)
        if text_name == name and version_matches(specifier, version):
            chosen.add(text)
    return tuple(sorted(chosen))


def matching_tag_texts(key: str, texts: Iterable[str]) -> tuple[str, ...]:
    """The indexed `tags` texts (`key=value`) whose key is `key`."""
    return tuple(sorted({t for t in texts if t.partition("=")[0] == key}))


def needs_versions(term: Term) -> bool:
    return isinstance(term, Package) and bool(term.specifier) and term.versions is None


def needs_tag_texts(term: Term) -> bool:
    return isinstance(term, Tag) and term.value is None and term.texts is None
