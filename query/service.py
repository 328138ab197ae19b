"""Search as a use case: parse, scope, paginate, and run on whichever index is configured.

The scope of the principal and the `extra` terms of the caller are AND-ed to the parsed query
here, so nothing in the query text can widen what a principal sees. Two backends: the embedded
index (SQL through `select`) and Azure AI Search (OData through `search_odata`), picked by what
the index offers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from query.ast import Package, Query, Tag, Term
from query.cursor import decode_cursor, encode_cursor
from query.odata import compile_odata, quote
from query.parser import parse_query
from query.resolve import (
    bind_times,
    map_terms,
    matching_package_texts,
    matching_tag_texts,
    matching_versions,
    needs_tag_texts,
    needs_versions,
)
from query.scope import scope_term
from query.sql import compile_sql
from shared.clock import Clock
from shared.errors import InvalidInput, SearchIndexError
from shared.ports import SearchIndex
from shared.principal import Principal

MAX_LIMIT = 1000
MAX_FACET_VALUES = 10_000


@dataclass(frozen=True, slots=True)
class Page:
    """One page of matching documents, and the cursor of the next page (None: last page)."""

    documents: list[dict[str, Any]]
    next_cursor: str | None


@runtime_checkable
class SqlIndex(Protocol):
    def select(self, where: str = "1", params: Any = (), *, order_by: str = ...,
               limit: int | None = None) -> list[dict[str, Any]]: ...

    def package_versions(self, name: str) -> list[str]: ...


@runtime_checkable
class ODataIndex(Protocol):
    def search_odata(self, filter: str | None, order_by: Sequence[str], top: int,
                     select: Sequence[str] | None = None) -> list[dict[str, Any]]: ...

    def facet_values(self, field: str, filter: str | None = None,
                     max_values: int = 1000) -> dict[str, int]: ...


def search(index: SearchIndex, principal: Principal, text: str, *, limit: int = 20,
           cursor: str | None = None, clock: Clock, extra: Query | None = None) -> Page:
    """One page of the jobs matching `text` that `principal` may see."""
    return run(index, principal, parse_query(text), limit=limit, cursor=cursor, clock=clock,
               extra=extra)


def run(index: SearchIndex, principal: Principal, query: Query, *, limit: int = 20,
        cursor: str | None = None, clock: Clock, extra: Query | None = None) -> Page:
    """`search` for an already parsed query (the sort of `extra` is ignored)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit {limit}", f"must be between 1 and {MAX_LIMIT}")
    after = decode_cursor(cursor, query.sort) if cursor else None
    scoped = query.where(scope_term(principal), *(extra.terms if extra else ()), after)
    documents = _fetch(index, bind_times(scoped, clock.now()), limit + 1)
    more = len(documents) > limit
    documents = documents[:limit]
    return Page(documents, encode_cursor(query.sort, documents[-1]) if more else None)


def iter_all(index: SearchIndex, principal: Principal, text: str, *, clock: Clock,
             page_size: int = 500, extra: Query | None = None) -> Iterator[dict[str, Any]]:
    """Every job matching `text` that `principal` may see, fetched page by page."""
    query = parse_query(text)
    cursor: str | None = None
    while True:
        page = run(index, principal, query, limit=page_size, cursor=cursor, clock=clock,
                   extra=extra)
        yield from page.documents
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _fetch(index: object, query: Query, top: int) -> list[dict[str, Any]]:
    if isinstance(index, SqlIndex):
        compiled = compile_sql(map_terms(query, lambda t: _sql_resolved(index, t)))
        return index.select(compiled.where, compiled.params, order_by=compiled.order_by,
                            limit=top)
    if isinstance(index, ODataIndex):
        odata = compile_odata(map_terms(query, lambda t: _odata_resolved(index, t)))
        return index.search_odata(odata.filter, odata.order_by, top)
    raise SearchIndexError(f"index {type(index).__name__} offers neither SQL nor OData search")


def _sql_resolved(index: SqlIndex, term: Term) -> Term:
    if isinstance(term, Package) and needs_versions(term):
        versions = matching_versions(term.specifier, index.package_versions(term.name))
        return replace(term, versions=versions)
    return term


def _odata_resolved(index: ODataIndex, term: Term) -> Term:
    if isinstance(term, Package) and term.specifier and term.texts is None:
        having = f"package_names/any(p: p eq {quote(term.name)})"
        texts = _facet(index, "packages", having)
        return replace(term, texts=matching_package_texts(term.name, term.specifier, texts))
    if isinstance(term, Tag) and needs_tag_texts(term):
        return replace(term, texts=matching_tag_texts(term.key, _facet(index, "tags", None)))
    return term


def _facet(index: ODataIndex, field: str, filter: str | None) -> list[str]:
    values = index.facet_values(field, filter, max_values=MAX_FACET_VALUES)
    if len(values) >= MAX_FACET_VALUES:
        raise SearchIndexError(
            f"{field}: more than {MAX_FACET_VALUES} distinct values to resolve; narrow the query")
    return list(values)
