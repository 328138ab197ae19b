"""Search as a use case: parse, scope, paginate, count, facet and aggregate on the given index.

The scope of the principal and the `extra` terms of the caller are AND-ed to the query here, in
`scoped`, so nothing in the query text can widen what a principal sees, and every use case below
goes through it. The index compiles the tree itself (SQL, OData).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from query.cursor import decode_cursor, encode_cursor
from query.parser import parse_query
from query.resolve import bind_times
from query.scope import scope_term
from shared.clock import Clock
from shared.documents import JsonDocument, SearchDocument
from shared.errors import InvalidInput
from shared.ports import SearchIndex
from shared.principal import Principal
from shared.querytree import Measure, Query, Term

MAX_LIMIT = 1000
T = TypeVar("T")
MAX_FACET_VALUES = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """One page of matching documents, and the cursor of the next page (None: last page)."""

    documents: list[SearchDocument]
    next_cursor: str | None


def search(
    index: SearchIndex,
    principal: Principal,
    text: str,
    *,
    limit: int = 20,
    cursor: str | None = None,
    clock: Clock,
    extra: Query | None = None,
) -> Page:
    """One page of the jobs matching `text` that `principal` may see."""
    return run(
        index, principal, parse_query(text), limit=limit, cursor=cursor, clock=clock, extra=extra
    )


def run(
    index: SearchIndex,
    principal: Principal,
    query: Query,
    *,
    limit: int = 20,
    cursor: str | None = None,
    clock: Clock,
    extra: Query | None = None,
) -> Page:
    """`search` for an already parsed query (the sort of `extra` is ignored)."""
    _check_limit(limit)
    after = decode_cursor(cursor, query.sort) if cursor else None
    documents = index.find(scoped(principal, query, clock, extra, after), limit=limit + 1)
    more = len(documents) > limit
    documents = documents[:limit]
    return Page(documents, encode_cursor(query.sort, documents[-1]) if more else None)


@dataclass(frozen=True, slots=True)
class JsonPage:
    """One page of matching documents as JSON texts, to send as they are, and the next page's
    cursor (None: last page)."""

    lines: list[bytes]
    next_cursor: str | None


def search_json(
    index: SearchIndex,
    principal: Principal,
    text: str | Query,
    *,
    limit: int = 20,
    cursor: str | None = None,
    clock: Clock,
    extra: Query | None = None,
) -> JsonPage:
    """`search`, each document as the JSON text the index makes: for `--json` and the API,
    which send documents on without looking into them."""
    query = _parsed(text)
    _check_limit(limit)
    after = decode_cursor(cursor, query.sort) if cursor else None
    found = index.find_json(scoped(principal, query, clock, extra, after), limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return JsonPage([d.json for d in found], _json_cursor(query, found[-1]) if more else None)


def iter_json(
    index: SearchIndex,
    principal: Principal,
    text: str | Query,
    *,
    clock: Clock,
    page_size: int = MAX_LIMIT,
    extra: Query | None = None,
) -> Iterator[bytes]:
    """Every job matching `text` that `principal` may see, as JSON texts, page by page."""
    query = _parsed(text)

    def page(cursor: str | None) -> tuple[list[bytes], str | None]:
        found = search_json(
            index, principal, query, limit=page_size, cursor=cursor, clock=clock, extra=extra
        )
        return found.lines, found.next_cursor

    return _every_page(page)


def _json_cursor(query: Query, last: JsonDocument) -> str:
    keys = {query.sort.field: last.sort_value, "created_at": last.created_at, "job_id": last.job_id}
    return encode_cursor(query.sort, keys)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit {limit}", f"must be between 1 and {MAX_LIMIT}")


def iter_all(
    index: SearchIndex,
    principal: Principal,
    text: str,
    *,
    clock: Clock,
    page_size: int = 500,
    extra: Query | None = None,
) -> Iterator[SearchDocument]:
    """Every job matching `text` that `principal` may see, fetched page by page."""
    query = parse_query(text)

    def page(cursor: str | None) -> tuple[list[SearchDocument], str | None]:
        found = run(
            index, principal, query, limit=page_size, cursor=cursor, clock=clock, extra=extra
        )
        return found.documents, found.next_cursor

    return _every_page(page)


def _every_page(page: Callable[[str | None], tuple[list[T], str | None]]) -> Iterator[T]:
    """The items of every page, following each page's cursor until the last one."""
    cursor: str | None = None
    while True:
        items, cursor = page(cursor)
        yield from items
        if cursor is None:
            return


def count(
    index: SearchIndex,
    principal: Principal,
    text_or_query: str | Query,
    *,
    clock: Clock,
    extra: Query | None = None,
) -> int:
    """How many jobs matching the query `principal` may see."""
    return index.count(scoped(principal, _parsed(text_or_query), clock, extra))


def facets(
    index: SearchIndex,
    principal: Principal,
    text_or_query: str | Query,
    fields: Sequence[str],
    *,
    clock: Clock,
    limit: int = 100,
    extra: Query | None = None,
) -> dict[str, dict[str, int]]:
    """`{field: {value: jobs}}` over the jobs matching the query that `principal` may see,
    most jobs first, at most `limit` values per field."""
    if not 1 <= limit <= MAX_FACET_VALUES:
        raise InvalidInput(f"facet limit {limit}", f"must be between 1 and {MAX_FACET_VALUES}")
    query = scoped(principal, _parsed(text_or_query), clock, extra)
    return index.facets(query, list(fields), limit=limit)


def aggregate(
    index: SearchIndex,
    principal: Principal,
    text_or_query: str | Query,
    group_by: Sequence[str],
    measures: Sequence[Measure] = (),
    *,
    clock: Clock,
    extra: Query | None = None,
) -> list[dict[str, Any]]:
    """Rows of (group values, `count` of jobs, one value per measure) over the jobs matching
    the query that `principal` may see; most jobs first."""
    query = scoped(principal, _parsed(text_or_query), clock, extra)
    return index.aggregate(query, list(group_by), list(measures))


def scoped(
    principal: Principal, query: Query, clock: Clock, extra: Query | None = None, *more: Term | None
) -> Query:
    """`query` AND the principal's scope AND `extra`'s terms AND `more`, times bound at now."""
    terms = query.where(scope_term(principal), *(extra.terms if extra else ()), *more)
    return bind_times(terms, clock.now())


def _parsed(text_or_query: str | Query) -> Query:
    return parse_query(text_or_query) if isinstance(text_or_query, str) else text_or_query
