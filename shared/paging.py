"""Every document a query matches, page by page through `SearchIndex.find`.

Pages follow each other by keyset (an `After` term on the last document), never by offset: Azure
AI Search refuses `$skip` past 100,000, and documents indexed meanwhile neither shift nor repeat.
"""

from __future__ import annotations

from collections.abc import Iterator

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
