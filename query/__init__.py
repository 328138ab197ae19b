"""Query: the query language, parsed into the tree every `SearchIndex` takes, always scoped.

Public surface: `parse_query`, `search`, `run`, `iter_all`, `search_json` and `iter_json`
(documents as the index's JSON texts, for output), `count`, `facets`, `aggregate`,
`terms` (structured filters for `extra`), `Page`, `Query`, `Measure`, `QueryError`. The tree
(`query.ast`, from `shared.querytree`) and the evaluator (`query.evaluate`) are pure and
importable on their own; each index adapter compiles the tree (SQL, OData).
"""

from query.ast import Measure, Query, Sort
from query.parser import QueryError, parse_query, terms
from query.service import (
    JsonPage,
    Page,
    aggregate,
    count,
    facets,
    iter_all,
    iter_json,
    run,
    search,
    search_json,
)

__all__ = [
    "JsonPage",
    "Measure",
    "Page",
    "Query",
    "QueryError",
    "Sort",
    "aggregate",
    "count",
    "facets",
    "iter_all",
    "iter_json",
    "parse_query",
    "run",
    "search",
    "search_json",
    "terms",
]
