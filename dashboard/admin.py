"""The admin page: inputs the pipeline rejected (each caller sees only what the CLI shows them)
and a read-only preview of what the next retention sweep would do in the projects the caller
administers. It only reads: the sweep is planned, never applied."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from dashboard.routes import ServicesFactory, render
from shared.ports import BlobStore, SearchIndex
from shared.principal import Principal
from shared.settings import Settings
from web.caller import Caller

MAX_ROWS = 500


def mount_admin(app: FastAPI, services: ServicesFactory) -> None:
    """Add `/admin`."""

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request, caller: Caller) -> HTMLResponse:
        built = services()
        actions, more = sweep_preview(
            built.blobs, built.index, built.settings, built.clock.now(), caller
        )
        rejected = rejections(built.blobs, caller)
        return render(
            request,
            "admin.html",
            caller=caller,
            rejected=rejected[:MAX_ROWS],
            rejected_total=len(rejected),
            actions=actions,
            more_actions=more,
            is_admin=bool(caller.is_admin or caller.admin_projects),
            now=built.clock.now(),
        )


def rejections(blobs: BlobStore, caller: Principal) -> list[dict[str, Any]]:
    """Rejected inputs the caller may see, newest first."""
    from indexer.rejected import list_rejections, visible_to

    rows = [
        r.model_dump(include={"blob", "reason", "event_id", "at"})
        for r in list_rejections(blobs)
        if visible_to(caller, r)
    ]
    return sorted(rows, key=lambda r: str(r["at"]), reverse=True)


def sweep_preview(
    blobs: BlobStore, index: SearchIndex, settings: Settings, now: datetime, caller: Principal
) -> tuple[list[dict[str, Any]], bool]:
    """The first `MAX_ROWS` actions the sweep would take now in the caller's projects (all for
    an admin), and whether there are more; nothing for a caller who administers nothing."""
    from lifecycle.sweep import plan_sweep

    scopes: list[str | None] = [None] if caller.is_admin else [*sorted(caller.admin_projects)]
    planned = (
        action.as_json()
        for project in scopes
        for plan, _ in plan_sweep(blobs, index, settings, now, project=project)
        for action in plan.actions
    )
    actions = list(itertools.islice(planned, MAX_ROWS + 1))
    return actions[:MAX_ROWS], len(actions) > MAX_ROWS
