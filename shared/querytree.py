"""The typed tree of a query on the search index: frozen dataclasses, and pure walks over them.

The language every caller speaks to a `SearchIndex`: the query module parses user text into it,
the lifecycle builds its candidate queries in it, and each index adapter compiles it its own way
(SQL, OData). It lives in `shared/` because the port takes it and `shared/` imports nothing from
the features; `query.ast` re-exports it as the query module's public tree.

A `Query` is a conjunction of terms plus one sort. Leaves name document fields (the contract's
search document), never query keys, so both compilers and the evaluator read the same tree.
`AnyOf`/`AllOf`/`After`/`Missing` are not written by users: the parser uses `AllOf` for `image:`
and whole days, the scope uses `AnyOf` for `admin:P`, pagination uses `After`, the lifecycle
`Missing` for documents without a `tier`. `Measure` names what `SearchIndex.aggregate` sums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

from shared.documents import FIELD_BY_NAME, FieldType
from shared.errors import InvalidInput

Op = Literal["=", ">", ">=", "<", "<="]
MeasureOp = Literal["sum", "avg", "min", "max"]
_NUMERIC = frozenset({FieldType.INT, FieldType.FLOAT})


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
class Missing:
    """A scalar field without a value (null)."""

    field: str


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
    Equals | IsTrue | Compare | Package | Tag | Metric | Missing | Not | AllOf | AnyOf | After
)


@dataclass(frozen=True, slots=True)
class Query:
    """Terms AND-ed together, and the order of the results."""

    terms: tuple[Term, ...] = ()
    sort: Sort = field(default_factory=Sort)

    def where(self, *more: Term | None) -> Query:
        """This query with more terms AND-ed (None entries are skipped)."""
        return Query(self.terms + tuple(t for t in more if t is not None), self.sort)


def after_document(sort: Sort, document: Mapping[str, Any]) -> After:
    """The keyset term of the documents that come after `document` in `sort`."""
    return After(sort, document.get(sort.field), document["created_at"], document["job_id"])


def map_terms(query: Query, change: Callable[[Term], Term]) -> Query:
    """`query` with `change` applied to every leaf (through Not/AllOf/AnyOf)."""
    return Query(tuple(_map(t, change) for t in query.terms), query.sort)


def _map(term: Term, change: Callable[[Term], Term]) -> Term:
    if isinstance(term, Not):
        return Not(_map(term.term, change))
    if isinstance(term, AllOf | AnyOf):
        return type(term)(tuple(_map(t, change) for t in term.terms))
    return change(term)


def leaves(query: Query) -> Iterator[Term]:
    """Every leaf term of `query`, left to right."""
    for term in query.terms:
        yield from _leaves(term)


def _leaves(term: Term) -> Iterator[Term]:
    if isinstance(term, Not):
        yield from _leaves(term.term)
    elif isinstance(term, AllOf | AnyOf):
        for inner in term.terms:
            yield from _leaves(inner)
    else:
        yield term


@dataclass(frozen=True, slots=True)
class Measure:
    """One value per group of `SearchIndex.aggregate`: `Measure("sum", "cost_usd")`, read back
    from each row under `name` (`sum_cost_usd`). sum/avg take numeric fields; min/max also any
    sortable scalar field (`Measure("max", "created_at")`: when the group was last seen)."""

    op: MeasureOp
    field: str

    def __post_init__(self) -> None:
        if self.op not in {"sum", "avg", "min", "max"}:
            raise InvalidInput(f"measure {self.op!r}", "is not one of sum, avg, min, max")
        spec = FIELD_BY_NAME.get(self.field)
        ordered = spec is not None and spec.sortable and not spec.is_collection
        if self.op in {"min", "max"} and ordered:
            return  # the first/last time, job ID, ... of a group (`created_at` sorts as text)
        if spec is None or spec.type not in _NUMERIC:
            raise InvalidInput(
                f"measure {self.op} of {self.field!r}",
                "is not a numeric field of the search document",
            )

    @property
    def name(self) -> str:
        return f"{self.op}_{self.field}"


def check_group_fields(fields: Sequence[str]) -> None:
    """`InvalidInput` unless every field can be faceted and grouped by (a facetable field)."""
    for name in fields:
        spec = FIELD_BY_NAME.get(name)
        if spec is None or not spec.facetable:
            raise InvalidInput(f"field {name!r}", "is not a facetable field of the search document")


def check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """`fields` as a tuple; `InvalidInput` unless each is a field of the search document."""
    for name in fields:
        if name not in FIELD_BY_NAME:
            raise InvalidInput(f"field {name!r}", "is not a field of the search document")
    return tuple(fields)


def matching_tag_texts(key: str, texts: Iterable[str]) -> tuple[str, ...]:
    """The indexed `tags` texts (`key=value`) whose key is `key`."""
    return tuple(sorted({t for t in texts if t.partition("=")[0] == key}))
