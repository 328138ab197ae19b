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
# host.json's logLevel keys are the host's categories, not Python loggers: the SDK's per-request
# HTTP logging is quietened here (setting a level connects to nothing, so import stays safe).
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


@app.event_grid_trigger(arg_name="event")
def on_blob_event(event: func.EventGridEvent) -> None:
    """Index one BlobCreated/BlobDeleted event; a persistent TransientError raises (Event Grid
    retries, then dead-letters), every other outcome returns normally."""
    from indexer.events import event_from_function
    from indexer.handler import handle
    from shared.services import services

    root = services()
    outcome = handle(event_from_function(event), root.blobs, root.index, root.clock, root.settings)
    log.info("blob event handled", extra={"outcome": outcome.kind, "blob": outcome.blob})


# The long daily work is split into partitions (a project's jobs of one creation day): each
# timer puts the day's partitions on a storage queue, and `work_partition` works them, one
# message per invocation within a time budget, re-queuing a partition it did not finish. The
# queue is reached with the app's identity (`AscendQueue__queueServiceUri`).
PARTITIONS = "ascend-partitions"
QUEUE = "AscendQueue"


@app.timer_trigger(schedule="0 30 1 * * *", arg_name="timer", use_monitor=True)
@app.queue_output(arg_name="partitions", queue_name=PARTITIONS, connection=QUEUE)
def index_reconcile(timer: func.TimerRequest, partitions: func.Out[list[str]]) -> None:
    """Daily at 01:30 UTC, an hour before the sweep plans from the index: queue the partitions
    with jobs created since the last finished reconcile; `work_partition` re-derives them from
    storage (lost or dead-lettered events, stale `retain` tags). The full rebuild is the explicit
    `ascend pipeline reconcile`."""
    from indexer.reconcile_partition import schedule_reconcile
    from shared.services import services

    built = services()
    parts = schedule_reconcile(built.blobs, built.settings, built.clock.now())
    partitions.set([p.message() for p in parts])
    log.info("reconcile queued", extra={"partitions": len(parts), "past_due": timer.past_due})


@app.timer_trigger(schedule="0 30 2 * * *", arg_name="timer", use_monitor=True)
@app.queue_output(arg_name="partitions", queue_name=PARTITIONS, connection=QUEUE)
def retention_sweep(timer: func.TimerRequest, partitions: func.Out[list[str]]) -> None:
    """Daily at 02:30 UTC: queue the retention sweep's partitions (those holding jobs with
    something to do: tiers, log compression, deletions); `work_partition` applies them."""
    from lifecycle.sweep import sweep_partitions
    from shared.partitions import run_id
    from shared.services import services

    built = services()
    now = built.clock.now()
    parts = sweep_partitions(built.blobs, built.index, now, run_id(now))
    partitions.set([p.message() for p in parts])
    log.info("retention sweep queued", extra={"partitions": len(parts), "past_due": timer.past_due})


@app.queue_trigger(arg_name="message", queue_name=PARTITIONS, connection=QUEUE)
@app.queue_output(arg_name="again", queue_name=PARTITIONS, connection=QUEUE)
def work_partition(message: func.QueueMessage, again: func.Out[str]) -> None:
    """One partition of a reconcile or sweep run, until done or `ASCEND_PARTITION_BUDGET_SECONDS`
    is spent (then queued again; the marker says where to continue). A transient failure raises:
    the queue retries the message, and after five tries it goes to the poison queue. A message
    that names no partition is logged and dropped."""
    from indexer.reconcile_partition import reconcile_partition
    from lifecycle.sweep import sweep_partition
    from shared.errors import InvalidInput
    from shared.partitions import Budget, parse_partition, run_time
    from shared.services import services

    built = services()
    try:
        part = parse_partition(message.get_body())
        as_of = run_time(part.run)
    except InvalidInput as exc:
        log.error("partition message dropped: %s", exc)
        return
    budget = Budget.start(built.settings.partition_budget_seconds)
    progress = (
        reconcile_partition(
            built.blobs, built.index, built.clock, built.settings, part, budget=budget
        )
        if part.task == "reconcile"
        else sweep_partition(built.blobs, built.index, built.settings, as_of, part, budget=budget)
    )
    if not progress.done:
        again.set(part.message())
    log.info(
        "partition worked",
        extra={"partition": part.marker, "done": progress.done, "counts": dict(progress.counts)},
    )


@app.route(route="{*path}", auth_level=func.AuthLevel.ANONYMOUS)
async def http_api(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """The ASGI app for every request (host.json routePrefix ""): the API under /api/ and the
    dashboard's pages; App Service auth stands in front."""
    response: func.HttpResponse = await _query_api().handle_async(req, context)
    return response


@functools.cache
def _query_api() -> func.AsgiMiddleware:
    from api import app as api_app

    return func.AsgiMiddleware(api_app)  # type: ignore[no-untyped-call]  # untyped in the library
