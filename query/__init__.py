"""Query: the query language, compiled to SQL (embedded index) and OData (Azure AI Search).

Public surface: `parse_query`, `search`, `iter_all`, `terms` (structured filters for `extra`),
`Page`, `Query`, `QueryError`. Compilers (`query.sql`, `query.odata`) and the evaluator
(`query.evaluate`) are pure and importable on their own.
"""

from query.ast import Query, Sort
from query.parser import QueryError, parse_query, terms
from query.service import Page, iter_all, run, search

__all__ = ["Page", "Query", "QueryError", "Sort", "iter_all", "parse_query", "run", "search",
           "terms"]
