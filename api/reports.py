"""`/api/reports/...`: the reports of `ascend report` over HTTP, as `{"rows": [...]}` (one
object per group: the group key(s), `count` of jobs, the measures), scoped to the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import FastAPI, Query
from pydantic import StringConstraints

from lifecycle.overrides import load_policy_book
from query import reports
from query.report_rows import COST_KEYS, STORAGE_KEYS
from shared.principal import Principal
from shared.services import Services
from web.caller import Caller

QueryText = Annotated[str, Query(max_length=4000, description="query text (query language)")]
Since = Annotated[str | None, Query(max_length=40, description="7d, 12h, 2w or ISO time")]


def _keys_pattern(keys: Iterable[str]) -> str:
    """A `by` value: known keys, comma-separated (spaces around them allowed), none empty."""
    key = f" *(?:{'|'.join(keys)}) *"
    return f"^{key}(?:,{key})*$"


def _by_description(keys: Iterable[str]) -> str:
    return f"group keys ({', '.join(keys)}); repeat or comma-separate"


# What the schema says is what the API checks: an unknown or empty key is refused with 400.
CostKeys = Annotated[
    list[Annotated[str, StringConstraints(pattern=_keys_pattern(COST_KEYS))]] | None,
    Query(description=_by_description(COST_KEYS)),
]
StorageKeys = Annotated[
    list[Annotated[str, StringConstraints(pattern=_keys_pattern(STORAGE_KEYS))]] | None,
    Query(description=_by_description(STORAGE_KEYS)),
]


def register(api: FastAPI, services: Callable[[], Services]) -> None:
    """Add the report routes to `api`, each scoped to the app's caller."""

    def request(
        who: Principal, q: str, since: str | None, until: str | None
    ) -> reports.ReportRequest:
        built = services()
        window = reports.parse_window(since, until, built.clock.now())
        return reports.ReportRequest(built.index, who, q, window, built.clock)

    @api.get("/api/reports/failures", summary="Failed jobs by error signature, most first")
    def failures(
        who: Caller,
        q: QueryText = "",
        since: Since = None,
        until: Since = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        return {"rows": reports.failures(request(who, q, since, until), limit=limit)}

    @api.get("/api/reports/cost", summary="Jobs, GPU/CPU hours, cost, failures per group")
    def cost(
        who: Caller,
        q: QueryText = "",
        by: CostKeys = None,
        since: Since = None,
        until: Since = None,
    ) -> dict[str, Any]:
        return {"rows": reports.cost(request(who, q, since, until), _keys(by))}

    @api.get("/api/reports/storage", summary="Bytes and monthly cost per group and tier")
    def storage(
        who: Caller,
        q: QueryText = "",
        by: StorageKeys = None,
        since: Since = None,
        until: Since = None,
    ) -> dict[str, Any]:
        built = services()
        rows = reports.storage(
            request(who, q, since, until),
            _keys(by),
            prices=built.settings.tier_prices,
            policies=load_policy_book(built.blobs),
        )
        return {"rows": rows}

    @api.get("/api/reports/images", summary="Dependency images: jobs, last use, failures")
    def images(
        who: Caller,
        q: QueryText = "",
        since: Since = None,
        until: Since = None,
        unused_days: Annotated[int, Query(ge=0, le=100_000)] = 30,
    ) -> dict[str, Any]:
        return {"rows": reports.images(request(who, q, since, until), unused_days=unused_days)}

    @api.get("/api/reports/packages", summary="Pinned packages by distinct images carrying them")
    def packages(
        who: Caller, q: QueryText = "", since: Since = None, until: Since = None
    ) -> dict[str, Any]:
        return {"rows": reports.packages(request(who, q, since, until))}


def _keys(by: list[str] | None) -> list[str]:
    """The group keys of `by` values (each already checked against the pattern)."""
    return [k.strip(" ") for v in (by or ["project"]) for k in v.split(",")]
