"""Every document a query matches, page by page through `SearchIndex.find`.

Pages follow each other by keyset (an `After` term on the last document), never by offset: Azure
AI Search refuses `$skip` past 100,000, and documents indexed meanwhile neither shift nor repeat.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from shared.documents import SearchDocument
from shared.ports import SearchIndex
from shared.querytree import After, Query, after_document

PAGE_SIZE = 1000


def find_all(
    index: SearchIndex, query: Query, *, page_size: int = PAGE_SIZE
) -> Iterator[SearchDocument]:
    """Every document matching `query`, in its sort, fetched `page_size` at a time."""
    after: After | None = None
    while True:
        page = index.find(query.where(after), limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        after = after_document(query.sort, page[-1])


def find_all_rows(
    index: SearchIndex, query: Query, fields: Sequence[str], *, page_size: int = PAGE_SIZE
) -> Iterator[tuple[Any, ...]]:
    """`find_all`, each document as the tuple of its `fields` (`SearchIndex.find_rows`). The
    pages follow each other by keyset too, so `fields` must hold `created_at`, `job_id` and the
    sort's field."""
    names = list(fields)
    try:
        at = (names.index(query.sort.field), names.index("created_at"), names.index("job_id"))
    except ValueError:
        raise ValueError(
            f"find_all_rows needs created_at, job_id and {query.sort.field} among {names}"
        ) from None
    after: After | None = None
    while True:
        page = index.find_rows(query.where(after), names, limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        last = page[-1]
        after = After(query.sort, last[at[0]], last[at[1]], last[at[2]])
