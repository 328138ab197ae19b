"""The Azure Functions app (Python v2 model): bindings and wiring only.

Nothing connects at import time: the host imports this file to discover the functions, and the
composition root builds the adapters on the first call.
"""

from __future__ import annotations

import functools
import logging

import azure.functions as func

app = func.FunctionApp()
log = logging.getLogger("ascend.functions")


@app.event_grid_trigger(arg_name="event")
def on_blob_event(event: func.EventGridEvent) -> None:
    """Index one BlobCreated/BlobDeleted event; a persistent TransientError raises (Event Grid
    retries, then dead-letters), every other outcome returns normally."""
    from indexer.events import event_from_function
    from indexer.handler import handle
    from shared.services import services

    outcome = handle(event_from_function(event), services())
    log.info("blob event handled", extra={"outcome": outcome.kind, "blob": outcome.blob})


@app.timer_trigger(schedule="0 30 1 * * *", arg_name="timer", use_monitor=True)
def index_reconcile(timer: func.TimerRequest) -> None:
    """Daily at 01:30 UTC, an hour before the sweep plans from the index: re-derive the index
    from storage (lost or dead-lettered events) and put stale `retain` tags back in step, which
    the events cannot always do and the native lifecycle policy deletes by. Jobs that failed
    transiently fail the invocation, so that it shows; the next night retries them."""
    from indexer.reconcile import reconcile
    from shared.services import services

    summary = reconcile(services())
    failed = summary.pop("failed", 0)
    log.info("reconcile done", extra={"summary": summary, "past_due": timer.past_due})
    if failed:
        raise RuntimeError(f"reconcile: {failed} jobs failed transiently; the next run retries")


@app.timer_trigger(schedule="0 30 2 * * *", arg_name="timer", use_monitor=True)
def retention_sweep(timer: func.TimerRequest) -> None:
    """Daily at 02:30 UTC: the retention sweep (tiers, log compression, deletions), audited."""
    from lifecycle.sweep import run_sweep
    from shared.services import services

    built = services()
    summary = run_sweep(built, built.clock.now())
    log.info("retention sweep done", extra={"summary": summary.line("did"),
                                            "past_due": timer.past_due})


@app.route(route="{*path}", auth_level=func.AuthLevel.ANONYMOUS)
async def http_api(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """The query API (`api`) for every /api/... request; App Service auth stands in front."""
    response: func.HttpResponse = await _query_api().handle_async(req, context)
    return response


@functools.cache
def _query_api() -> func.AsgiMiddleware:
    from api import app as api_app

    return func.AsgiMiddleware(api_app)  # type: ignore[no-untyped-call]  # untyped in the library
