"""The typed tree of a parsed query: frozen dataclasses, no behaviour beyond construction.

A `Query` is a conjunction of terms plus one sort. Leaves name document fields (the contract's
search document), never query keys, so both compilers and the evaluator read the same tree.
`AnyOf`/`AllOf`/`After` are not written by users: the parser uses `AllOf` for `image:` and
whole days, the scope uses `AnyOf` for `admin:P`, pagination uses `After`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

Op = Literal["=", ">", ">=", "<", "<="]


@dataclass(frozen=True, slots=True)
class Sort:
    """Order by `field` (descending when `descending`), ties broken by created_at then job_id."""

    field: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class Equals:
    """A scalar string field equal to one of `values`."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IsTrue:
    """A boolean field equal to `value`."""

    field: str
    value: bool


@dataclass(frozen=True, slots=True)
class Relative:
    """A moment `ago` before the clock's now (`-7d`), fixed by `query.resolve.bind_times`."""

    ago: timedelta


@dataclass(frozen=True, slots=True)
class Compare:
    """A numeric or time field compared with a bound (times: aware UTC datetimes)."""

    field: str
    op: Op
    value: float | datetime | Relative


@dataclass(frozen=True, slots=True)
class Package:
    """A job with package `name` (PEP 503), at a version inside `specifier` (PEP 440) if any.

    `versions` is filled by the backend before compiling a specifier: the indexed version texts
    that satisfy it.
    """

    name: str
    specifier: str = ""
    versions: tuple[str, ...] | None = None  # SQL: indexed version texts inside the specifier
    texts: tuple[str, ...] | None = None  # Azure: indexed `packages` texts inside the specifier


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag `key` (with that `value`, or any value when None)."""

    key: str
    value: str | None = None
    texts: tuple[str, ...] | None = None  # Azure: the indexed `key=...` texts of `tag:key`


@dataclass(frozen=True, slots=True)
class Metric:
    """A last value of metric `name` compared with `value` (any value when `op` is None)."""

    name: str
    op: Op | None = None
    value: float = 0.0


@dataclass(frozen=True, slots=True)
class Not:
    term: Term


@dataclass(frozen=True, slots=True)
class AllOf:
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class After:
    """Keyset pagination: documents strictly after (`value`, `created_at`, `job_id`) in `sort`."""

    sort: Sort
    value: Any
    created_at: str
    job_id: str


Term: TypeAlias = (
    Equals | IsTrue | Compare | Package | Tag | Metric | Not | AllOf | AnyOf | After
)


@dataclass(frozen=True, slots=True)
class Query:
    """Terms AND-ed together, and the order of the results."""

    terms: tuple[Term, ...] = ()
    sort: Sort = field(default_factory=Sort)

    def where(self, *more: Term | None) -> Query:
        """This query with more terms AND-ed (None entries are skipped)."""
        return Query(self.terms + tuple(t for t in more if t is not None), self.sort)
