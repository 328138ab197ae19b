"""The sweep's candidate queries: trees any index compiles, one range on created_at each."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.inventory import OLDEST_FIRST, scoped_queries
from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy
from shared.adapters.odata_query import compile_odata
from shared.adapters.sql_query import compile_sql
from shared.querytree import Compare, Equals, IsTrue, Missing, Not, Query

NOW = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)


def cut(day: str) -> Compare:
    return Compare("created_at", "<=", datetime.fromisoformat(f"{day}T02:30:00+00:00"))


def test_the_default_tables_candidate_queries() -> None:
    """One query per stage a document may be behind in, each a range on created_at, oldest first."""
    assert [q for _, q in scoped_queries(PolicyBook(), NOW)] == [
        Query((Missing("tier"), cut("2026-02-12")), OLDEST_FIRST),
        Query((Equals("tier", ("Hot",)), cut("2026-02-12")), OLDEST_FIRST),
        Query((Equals("tier", ("Cool",)), cut("2025-12-14")), OLDEST_FIRST),
        Query((IsTrue("retain", False), cut("2025-03-14")), OLDEST_FIRST),
        Query((Missing("retain"), cut("2025-03-14")), OLDEST_FIRST),
    ]


def test_overridden_projects_are_left_out_of_the_default_scope() -> None:
    """The default queries exclude overridden projects; each override gets its own queries."""
    book = PolicyBook(DEFAULT_POLICY, (("fraud", RetentionPolicy(cool_after=7)),))
    queries = [q for _, q in scoped_queries(book, NOW)]
    assert queries[0].terms[-1] == Not(Equals("project", ("fraud",)))
    own = Query((Missing("tier"), cut("2026-03-07"), Equals("project", ("fraud",))), OLDEST_FIRST)
    assert own in queries


def test_the_candidate_queries_compile_to_sql_with_every_value_bound() -> None:
    """The embedded index gets the same queries as SQL: no value in the text, all as `?`."""
    compiled = [compile_sql(q) for _, q in scoped_queries(PolicyBook(), NOW, project="o'x")]
    assert compiled[0].where == '"tier" IS NULL AND "created_at" <= ? AND "project" = ?'
    assert compiled[0].params == ("2026-02-12T02:30:00.000Z", "o'x")
    assert all(c.order_by == '"created_at" ASC, "job_id" ASC' for c in compiled)


@given(st.text(max_size=40))
def test_any_project_text_is_one_quoted_literal_in_odata(project: str) -> None:
    """Quotes are doubled, so the project value can never end the OData literal early."""
    for _, query in scoped_queries(PolicyBook(), NOW, project=project):
        odata = compile_odata(query).filter or ""
        literal = odata.split(" and project eq ", 1)[1]
        assert literal == "'" + project.replace("'", "''") + "'"
