"""The reports as use cases: failures, cost, storage and images over the jobs a principal may
see, each a handful of `query.service.aggregate` calls (scoped there, like every query) folded
by `query.report_rows`.

A report takes query text in the query language and a window (`since`/`until`: `7d`, `12h`,
`2w` back from now, or an ISO date/time) on the jobs' creation time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from query import service
from query.parser import parse_query
from query.report_rows import (
    COST_KEYS,
    STORAGE_KEYS,
    Row,
    fold_cost,
    fold_failures,
    fold_images,
    fold_packages,
    fold_storage,
    group_fields,
    new_signatures,
    with_sweep,
)
from shared.clock import Clock, SystemClock
from shared.documents import SearchDocument, format_datetime
from shared.errors import InvalidInput
from shared.ports import SearchIndex
from shared.principal import Principal
from shared.querytree import (
    AllOf,
    AnyOf,
    Compare,
    Equals,
    IsTrue,
    Measure,
    Missing,
    Not,
    Query,
    Term,
)
from shared.settings import DEFAULT_TIER_PRICES

_AGO = re.compile(r"(\d{1,6})([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Window:
    """Creation times a report covers: [since, until), either side open when None."""

    since: datetime | None = None
    until: datetime | None = None

    def terms(self) -> tuple[Term, ...]:
        since = (Compare("created_at", ">=", self.since),) if self.since else ()
        return (*since, *((Compare("created_at", "<", self.until),) if self.until else ()))


def parse_window(since: str | None, until: str | None, now: datetime) -> Window:
    """`--since`/`--until` texts as a window; `InvalidInput` naming the option otherwise."""
    window = Window(_moment("--since", since, now), _moment("--until", until, now))
    if window.since and window.until and window.since >= window.until:
        raise InvalidInput(f"--since {since}", f"is not before --until {until}")
    return window


def _moment(option: str, text: str | None, now: datetime) -> datetime | None:
    if text is None or not text.strip():
        return None
    value = text.strip().lstrip("-")
    if match := _AGO.fullmatch(value):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{option} {text!r}", "is not 7d, 12h, 2w or an ISO date/time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Who asks, about which jobs: the caller, the query text, the window and the clock."""

    index: SearchIndex
    principal: Principal
    text: str = ""
    window: Window = Window()
    clock: Clock = field(default_factory=SystemClock)

    def aggregate(
        self,
        group_by: Sequence[str],
        measures: Sequence[Measure] = (),
        *more: Term,
        window: Window | None = None,
    ) -> list[Row]:
        """Scoped `aggregate` of the request's jobs, with `more` terms AND-ed."""
        query = parse_query(self.text)
        extra = Query((*(window or self.window).terms(), *more))
        return service.aggregate(
            self.index, self.principal, query, group_by, measures, clock=self.clock, extra=extra
        )

    @property
    def now(self) -> datetime:
        return self.clock.now()


def _keys(by: Sequence[str], allowed: Mapping[str, tuple[str, ...]]) -> list[str]:
    for key in by:
        if key not in allowed:
            raise InvalidInput(f"--by {key}", f"is not one of {', '.join(allowed)}")
    if len(set(by)) != len(by):
        raise InvalidInput(f"--by {','.join(by)}", "names a key twice")
    return list(by)


# ---- failures -----------------------------------------------------------------------------

FAILED = Equals("status", ("failed",))
_FAILURE_MEASURES = (
    Measure("min", "created_at"),
    Measure("max", "created_at"),
    Measure("max", "job_id"),
)


def failures(request: ReportRequest, *, limit: int = 50) -> list[Row]:
    """Failed jobs by error signature, most first: count, users, projects, images, first and
    last seen, the newest job as an example, the error pattern, and whether the signature is
    new (seen in the 7 days before `until`, not in the 7 days before those)."""
    rows = request.aggregate(
        ["error_signature", "user", "project", "image_hash"], _FAILURE_MEASURES, FAILED
    )
    report = fold_failures(rows)[:limit]
    end = request.window.until or request.now
    week, day = timedelta(days=7), timedelta()
    this, before = (
        request.aggregate(
            ["error_signature"], (), FAILED, window=Window(end - week - back, end - back)
        )
        for back in (day, week)
    )
    new = new_signatures(this, before)
    return [
        row | {"pattern": _pattern(request, row), "new": row["signature"] in new} for row in report
    ]


def _pattern(request: ReportRequest, row: Row) -> str | None:
    """The masked error of a signature, read from its example job (within the caller's scope:
    the example came from the scoped aggregate)."""
    if row["signature"] is None:
        return "(no error in the log)"
    doc = request.index.get(row["example"]) if row["example"] else None
    return doc.get("error_pattern") if doc else None


# ---- cost ---------------------------------------------------------------------------------

_COST_MEASURES = (Measure("sum", "duration_seconds"), Measure("sum", "cost_usd"))


def cost(request: ReportRequest, by: Sequence[str]) -> list[Row]:
    """Jobs, GPU and CPU node-hours, cost, failure rate and the cost of failed jobs per group
    of the `--by` keys (nested in their order)."""
    keys = _keys(by, COST_KEYS)
    rows = request.aggregate([*group_fields(keys, COST_KEYS), "status", "use_gpu"], _COST_MEASURES)
    return fold_cost(rows, keys)


# ---- storage ------------------------------------------------------------------------------

_STORAGE_MEASURES = (Measure("sum", "log_bytes"), Measure("sum", "artifact_bytes"))


class StagePolicy(Protocol):
    """The ages (days after creation, None: never) at which the sweep moves a job to Cool and
    to Archive, and deletes it; `lifecycle.policy.RetentionPolicy` is one."""

    @property
    def cool_after(self) -> int | None: ...
    @property
    def archive_after(self) -> int | None: ...
    @property
    def delete_after(self) -> int | None: ...


class SweepPolicies(Protocol):
    """The default policy and the projects with their own; `lifecycle.policy.PolicyBook` is one."""

    @property
    def default(self) -> StagePolicy: ...
    @property
    def overridden(self) -> tuple[str, ...]: ...
    def for_project(self, project: str) -> StagePolicy: ...


@dataclass(frozen=True, slots=True)
class StageAges:
    """A `StagePolicy` by value (the default one: Cool at 30 days, Archive at 90, deletion at
    365)."""

    cool_after: int | None = 30
    archive_after: int | None = 90
    delete_after: int | None = 365


@dataclass(frozen=True, slots=True)
class Policies:
    """A `SweepPolicies` by value: the default and per-project `StagePolicy`s."""

    default: StagePolicy = StageAges()
    overrides: tuple[tuple[str, StagePolicy], ...] = ()

    @property
    def overridden(self) -> tuple[str, ...]:
        return tuple(project for project, _ in self.overrides)

    def for_project(self, project: str) -> StagePolicy:
        return dict(self.overrides).get(project, self.default)


def storage(
    request: ReportRequest,
    by: Sequence[str],
    *,
    prices: Mapping[str, float] = DEFAULT_TIER_PRICES,
    policies: SweepPolicies = Policies(),
) -> list[Row]:
    """Bytes of logs, by-date copies and artifacts per group, per tier, their monthly cost at
    `prices`, the retained jobs and their bytes, and what the next sweep changes (each
    project's jobs at its own policy of `policies`)."""
    keys = _keys(by, STORAGE_KEYS)
    fields = [*group_fields(keys, STORAGE_KEYS), "status", "tier", "retain"]
    fields = list(dict.fromkeys(fields))
    report = fold_storage(request.aggregate(fields, _STORAGE_MEASURES), keys, prices)
    moves = [
        (row, stage)
        for policy, projects in _policy_scopes(policies)
        for stage, terms in _sweep_terms(request.now, policy)
        for row in request.aggregate(fields, _STORAGE_MEASURES, *projects, *terms)
    ]
    return with_sweep(report, moves, keys, prices)


def _policy_scopes(policies: SweepPolicies) -> list[tuple[StagePolicy, tuple[Term, ...]]]:
    """(policy, the terms of the jobs it governs): each overridden project's own, the default
    for every other project."""
    overridden = tuple(policies.overridden)
    others = (Not(Equals("project", overridden)),) if overridden else ()
    return [
        (policies.default, others),
        *((policies.for_project(p), (Equals("project", (p,)),)) for p in overridden),
    ]


_NOT_ARCHIVED = AnyOf((Equals("tier", ("Hot", "Cool")), Missing("tier")))


def _sweep_terms(now: datetime, policy: StagePolicy) -> list[tuple[str | None, tuple[Term, ...]]]:
    """(stage, the terms of the jobs the next sweep takes there; None: deletes) per stage.

    Each stage names its jobs by a value and a time range (not retained: `retain` false or
    none; not yet archived: tier Hot, Cool or none), so that the index reads only those jobs,
    through (retain, created_at) and (tier, created_at), instead of every job's row."""

    def older(days: int) -> Compare:
        return Compare("created_at", "<", now - timedelta(days=days))

    stages: list[tuple[str | None, tuple[Term, ...]]] = []
    deleted: tuple[Term, ...] = ()
    if policy.delete_after is not None:
        kept = AnyOf((IsTrue("retain", False), Missing("retain")))
        deleted = (older(policy.delete_after), kept)
        stages.append((None, deleted))
    spared = (Not(AllOf(deleted)),) if deleted else ()
    if policy.archive_after is not None:
        stages.append(("Archive", (older(policy.archive_after), _NOT_ARCHIVED, *spared)))
    if policy.cool_after is not None:
        younger = (Not(older(policy.archive_after)),) if policy.archive_after is not None else ()
        stages.append(
            ("Cool", (older(policy.cool_after), Equals("tier", ("Hot",)), *younger, *spared))
        )
    return stages


# ---- images -------------------------------------------------------------------------------


def images(request: ReportRequest, *, unused_days: int = 30) -> list[Row]:
    """Each dependency image (`user-hash12`): jobs, failures, last use, packages, and whether
    it went unused for `unused_days` (a candidate to prune)."""
    if unused_days < 0:
        raise InvalidInput(f"--unused-days {unused_days}", "must not be negative")
    rows = _image_rows(request)
    cutoff = format_datetime(request.now - timedelta(days=unused_days))
    return fold_images(rows, _image_packages(request, rows), unused_before=cutoff)


def packages(request: ReportRequest) -> list[Row]:
    """Each pinned package (`name==version`) by how many distinct images carry it."""
    rows = request.aggregate(["user", "image_hash"], (Measure("max", "job_id"),))
    jobs = {(row["user"], row["image_hash"]): row["count"] for row in rows}
    return fold_packages(
        {**p, "count": jobs[(p["user"], p["image_hash"])]} for p in _image_packages(request, rows)
    )


def _image_rows(request: ReportRequest) -> list[Row]:
    return request.aggregate(
        ["user", "image_hash", "status"], (Measure("max", "created_at"), Measure("max", "job_id"))
    )


def _image_packages(request: ReportRequest, rows: list[Row]) -> list[Row]:
    """(user, image_hash, packages) rows, one per package of each image: an image is one
    dependency set, so one job of it (the newest of the scoped rows) says its packages."""
    examples: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["user"], row["image_hash"])
        if row.get("image_hash") and row.get("max_job_id"):
            examples[key] = max(examples.get(key, ""), row["max_job_id"])
    documents = _documents(request.index, sorted(examples.values()))
    return [
        {"user": user, "image_hash": image_hash, "packages": text, "count": 1}
        for (user, image_hash), job_id in examples.items()
        for text in documents.get(job_id, {}).get("packages") or ()
    ]


def _documents(
    index: SearchIndex, job_ids: list[str], chunk: int = 500
) -> dict[str, SearchDocument]:
    """The documents of `job_ids` (already within the caller's scope), a few queries in all."""
    found: dict[str, SearchDocument] = {}
    for start in range(0, len(job_ids), chunk):
        ids = tuple(job_ids[start : start + chunk])
        for doc in index.find(Query((Equals("job_id", ids),)), limit=len(ids)):
            found[doc["job_id"]] = doc
    return found


def describe(rows: Sequence[Mapping[str, Any]]) -> str:
    """A one-line summary of a report (for logs and empty results)."""
    return f"{len(rows)} groups, {sum(int(r.get('count', 0)) for r in rows)} jobs"
