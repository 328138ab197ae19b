"""The reports page (`/reports`): the four reports of `ascend report` as tables, for the jobs
the caller may see, with the query and `since` of the form. It only reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from dashboard.routes import ServicesFactory, render
from lifecycle.overrides import load_policy_book
from query import reports
from shared.errors import InvalidInput
from web.caller import Caller

ROWS = 50


def mount_reports(app: FastAPI, services: ServicesFactory) -> None:
    """Add `/reports`."""

    @app.get("/reports", response_class=HTMLResponse, include_in_schema=False)
    def reports_page(
        request: Request,
        caller: Caller,
        q: Annotated[str, Query(max_length=4000)] = "",
        since: Annotated[str, Query(max_length=40)] = "30d",
        by: Annotated[str, Query(max_length=100)] = "project",
    ) -> HTMLResponse:
        built = services()
        context: dict[str, Any] = {
            "caller": caller,
            "q": q,
            "since": since,
            "by": by,
            "error": None,
        }
        try:
            window = reports.parse_window(since or None, None, built.clock.now())
            asked = reports.ReportRequest(built.index, caller, q, window, built.clock)
            keys = [k.strip() for k in by.split(",") if k.strip()] or ["project"]
            storage_keys = [k for k in keys if k in {"project", "user"}] or ["project"]
            context.update(
                keys=keys,
                storage_keys=storage_keys,
                failures=reports.failures(asked, limit=ROWS),
                cost=reports.cost(asked, keys)[:ROWS],
                storage=reports.storage(
                    asked,
                    storage_keys,
                    prices=built.settings.tier_prices,
                    policies=load_policy_book(built.blobs),
                )[:ROWS],
                images=reports.images(asked)[:ROWS],
            )
        except InvalidInput as exc:
            context["error"] = exc
        return render(request, "reports.html", **context)
