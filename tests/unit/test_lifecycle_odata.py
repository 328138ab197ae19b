"""The sweep's candidate queries as OData filters, for Azure AI Search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.inventory import odata_pages, scoped_odata
from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy

NOW = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)


def test_the_default_tables_candidate_filters() -> None:
    """One filter per stage a document may be behind in, each a range on created_at."""
    assert list(scoped_odata(PolicyBook(), NOW)) == [
        "tier eq null and created_at le 2026-02-12T02:30:00.000Z",
        "tier eq 'Hot' and created_at le 2026-02-12T02:30:00.000Z",
        "tier eq 'Cool' and created_at le 2025-12-14T02:30:00.000Z",
        "retain eq false and created_at le 2025-03-14T02:30:00.000Z",
        "retain eq null and created_at le 2025-03-14T02:30:00.000Z",
    ]


def test_overridden_projects_are_left_out_of_the_default_scope() -> None:
    """The default filters exclude overridden projects; each override gets its own filters."""
    book = PolicyBook(DEFAULT_POLICY, (("fraud", RetentionPolicy(cool_after=7)),))
    filters = list(scoped_odata(book, NOW))
    assert filters[0].endswith("and not search.in(project, 'fraud', ',')")
    own = "tier eq null and created_at le 2026-03-07T02:30:00.000Z and project eq 'fraud'"
    assert own in filters


@given(st.text(max_size=40))
def test_any_project_text_is_one_quoted_literal(project: str) -> None:
    """Quotes are doubled, so the project value can never end the literal early."""
    for odata in scoped_odata(PolicyBook(), NOW, project=project):
        literal = odata.split(" and project eq ", 1)[1]
        assert literal == "'" + project.replace("'", "''") + "'"


class PagedIndex:
    """Answers `search_odata` from a sorted list, honouring only the keyset clause it is sent."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs, self.filters = docs, []

    def search_odata(self, filter: str | None, order_by: Any, top: int,
                     select: Any = None) -> list[dict[str, Any]]:
        self.filters.append(filter)
        start = 0
        if filter and "job_id gt '" in filter:
            last = filter.rsplit("job_id gt '", 1)[1].split("'", 1)[0]
            start = next(i for i, d in enumerate(self.docs) if d["job_id"] == last) + 1
        return self.docs[start:start + top]


def test_results_past_one_page_are_fetched_by_keyset_not_skip() -> None:
    """2,500 matches come back in three requests, each after the previous page's last key."""
    docs = [{"job_id": f"j{i:05d}", "created_at": "2025-01-01T00:00:00.000Z"} for i in range(2500)]
    index = PagedIndex(docs)
    assert list(odata_pages(index, "tier eq null")) == docs
    assert len(index.filters) == 3
    assert "job_id gt 'j00999'" in index.filters[1]
