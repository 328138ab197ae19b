"""Fix the relative times of a query (`created:>=-7d`) to the moments they mean now. Pure.

What else a tree needs before it is compiled (the package versions a PEP 440 specifier takes
in, the texts of `tag:key`) each index adapter resolves itself, with `shared.packages` and
`shared.querytree`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.querytree import Compare, Query, Relative, Term, map_terms


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
