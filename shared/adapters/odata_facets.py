"""Compile `SearchIndex.aggregate` to Azure AI Search facets, and read the answer back. Pure.

The groups are one *hierarchical facet* (`user,count:N > (status,count:N > (...))`, Search
Documents `2025-03-01-Preview` and later) and the numeric measures are *facet aggregations*
under its last level (`cost_usd,metric:sum`; `sum` since `2025-03-01-Preview`, `min`, `max` and
`avg` since `2025-11-01-Preview`, numeric fields only). The service answers a tree of buckets,
`{"value", "count", "@search.facets": {...}}`, with `{"sum": x}` (or `min`, ...) entries for the
metrics; `read_groups` walks it into the rows `SearchIndex.aggregate` returns.

What facets cannot say is returned as work for the adapter, never guessed:

- a facet has no bucket for a missing value: the jobs of a group whose field is null are the
  group's count minus its buckets' counts (`NullGroup`), asked again with `field eq null`;
- a level that fills its `count:N` may have left values out: `FacetsTruncated`;
- `min`/`max` of a field that is not numeric (`created_at`, `job_id`) is no facet metric:
  `searched_measures` names them, and the adapter asks one sorted search per group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.adapters.odata_query import literal
from shared.documents import FIELD_BY_NAME, FieldType
from shared.errors import SearchIndexError
from shared.querytree import Measure

PREVIEW_API_VERSION = "2025-11-01-Preview"  # facet hierarchies, and metrics beyond `sum`
_NUMERIC = frozenset({FieldType.INT, FieldType.FLOAT})
Row = dict[str, Any]


class FacetsTruncated(SearchIndexError):
    """A facet level returned as many values as it asked for: some may be missing."""


@dataclass(frozen=True, slots=True)
class NullGroup:
    """`jobs` jobs under `path` (group values so far) whose next group field is null."""

    path: tuple[tuple[str, Any], ...]
    field: str
    jobs: int


def is_metric(measure: Measure) -> bool:
    """Whether the service computes `measure` as a facet metric (numeric fields only)."""
    return FIELD_BY_NAME[measure.field].type in _NUMERIC


def searched_measures(measures: Sequence[Measure]) -> list[Measure]:
    """The measures no facet computes: `min`/`max` of a non-numeric (sortable) field."""
    return [m for m in measures if not is_metric(m)]


def facet_expressions(
    group_by: Sequence[str], measures: Sequence[Measure], count: int
) -> list[str]:
    """The request's `facets`: one hierarchy of the group fields, each level asking `count`
    values, with the metrics as siblings under the last level; without group fields, the
    metrics alone (their totals over every matching job)."""
    metrics = [f"{m.field},metric:{m.op}" for m in measures if is_metric(m)]
    if not group_by:
        return metrics
    inner = "(" + " ; ".join(metrics) + ")" if metrics else ""
    for name in reversed(group_by):
        level = f"{name},count:{count}"
        inner = f"({level} > {inner})" if inner else f"({level})"
    return [inner[1:-1]]


def read_groups(
    answer: Mapping[str, Any],
    group_by: Sequence[str],
    measures: Sequence[Measure],
    count: int,
) -> tuple[list[Row], list[NullGroup]]:
    """The rows of a facet answer (group values, `count`, each metric under `Measure.name`),
    and the null groups it leaves to ask again. `answer` must carry `@odata.count`."""
    reader = _Reader(measures, count)
    total = int(answer.get("@odata.count") or 0)
    reader.walk(answer.get("@search.facets") or {}, total, (), group_by)
    return reader.rows, reader.nulls


@dataclass
class _Reader:
    """Walks a facet answer level by level, collecting rows and null groups."""

    measures: Sequence[Measure]
    count: int
    rows: list[Row] = field(default_factory=list)
    nulls: list[NullGroup] = field(default_factory=list)

    def walk(
        self,
        facets: Mapping[str, Any],
        jobs: int,
        path: tuple[tuple[str, Any], ...],
        group_by: Sequence[str],
    ) -> None:
        if not group_by:
            if jobs or not path:
                self.rows.append(dict(path) | {"count": jobs} | _metrics(facets, self.measures))
            return
        name, rest = group_by[0], group_by[1:]
        buckets = [b for b in facets.get(name) or () if "value" in b]
        if len(buckets) >= self.count:
            raise FacetsTruncated(
                f"{name}: {self.count} or more values in one group, more than one facet "
                "request answers exactly; narrow the query (--since, project:, user:)"
            )
        for bucket in buckets:
            inner = bucket.get("@search.facets") or {}
            self.walk(inner, int(bucket["count"]), (*path, (name, bucket["value"])), rest)
        if not FIELD_BY_NAME[name].is_collection:
            missing = jobs - sum(int(b["count"]) for b in buckets)
            if missing > 0:
                self.nulls.append(NullGroup(path, name, missing))


def _metrics(facets: Mapping[str, Any], measures: Sequence[Measure]) -> Row:
    found: Row = {}
    for measure in measures:
        if not is_metric(measure):
            continue
        entries = facets.get(measure.field) or ()
        value = next((e[measure.op] for e in entries if measure.op in e), None)
        found[measure.name] = _number(measure, value)
    return found


def _number(measure: Measure, value: Any) -> Any:
    """A metric as the embedded index gives it: integers stay integers (sums of byte counts,
    min/max of an Edm.Int64), an average is a float, no value is None."""
    if value is None:
        return None
    integral = FIELD_BY_NAME[measure.field].type is FieldType.INT and measure.op != "avg"
    return int(value) if integral and float(value).is_integer() else float(value)


def group_filter(base: str | None, path: Sequence[tuple[str, Any]], *more: str) -> str | None:
    """`base` AND each group field equal to its value (`eq null` for None; `any` for a value of
    a collection field), AND `more` clauses: the filter of one group's jobs."""
    clauses = [f"({base})"] if base else []
    clauses += [_equal(name, value) for name, value in path]
    return " and ".join([*clauses, *more]) or None


def _equal(name: str, value: Any) -> str:
    spec = FIELD_BY_NAME[name]
    if spec.is_collection:
        return f"{name}/any(v: v eq {literal(value)})"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{name} eq {value}"
    return f"{name} eq {literal(value)}"
