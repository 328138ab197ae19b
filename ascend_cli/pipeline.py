"""`ascend pipeline ...`: the local event worker, reconcile, rejected inputs."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.text import Text

from ascend_cli.common import (
    fail,
    handle_errors,
    note,
    principal,
    print_jsonl,
    require_admin,
    services,
)
from ascend_cli.lock import worker_lock
from ascend_cli.passes import PassReporter
from ascend_cli.tables import new_table, print_table

app = typer.Typer(
    help="The indexing pipeline: run it locally, reconcile, list rejected inputs.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")]


@app.command("run")
@handle_errors
def run(
    once: Annotated[bool, typer.Option("--once", help="Drain what is pending, then exit.")] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="Threads handling events.")
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="Processes (of --workers threads each) for a large pass.",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Watch the container and hand each new, changed or deleted blob to the indexer."""
    from indexer.worker import run_once, watch

    require_admin("pipeline run")
    built = services()
    if not once:
        with worker_lock(built.settings.index_path):
            note(f"pipeline: watching container {built.settings.container!r}; Ctrl-C to stop")
            report = PassReporter()
            watch(
                built.blobs,
                built.index,
                built.clock,
                built.settings,
                threading.Event(),
                on_pass=report.on_pass,
                on_idle=report.on_idle,
            )
        return
    result = run_once(
        built.blobs, built.index, built.clock, built.settings, workers=workers, processes=processes
    )
    summary = result.as_dict()
    if json:
        print_jsonl([summary])
    else:
        note("pipeline: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if result.listing_error:
        raise fail(
            f"listing incomplete ({result.listing_error}); what was listed was "
            "handled, run again for the rest"
        )
    if summary["failed"]:
        raise fail(f"{summary['failed']} events failed transiently; run again to retry them")


@app.command("reconcile")
@handle_errors
def reconcile(
    json: JsonOption = False,
    since_days: Annotated[
        int | None,
        typer.Option(
            "--since-days",
            min=0,
            max=3660,
            help="only jobs created in the last N days, found by their `created` tag "
            "(what the daily reconcile in Azure checks); default: every job",
        ),
    ] = None,
) -> None:
    """Re-derive the index from storage: index missing or stale jobs, drop vanished ones."""
    from indexer.reconcile import reconcile as reconcile_index
    from indexer.reconcile_partition import reconcile_recent

    require_admin("pipeline reconcile")
    root = services()
    summary = (
        reconcile_index(root.blobs, root.index, root.clock, root.settings)
        if since_days is None
        else reconcile_recent(root.blobs, root.index, root.clock, root.settings, since_days)
    )
    failed = summary.pop("failed", 0)
    if json:
        print_jsonl([summary])
    else:
        note("reconcile: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if failed:
        raise fail(f"{failed} jobs failed transiently; run reconcile again")


@app.command("rejected")
@handle_errors
def rejected(json: JsonOption = False) -> None:
    """Inputs the pipeline refused: blob, reason, event id, when (your own unless an admin)."""
    from indexer.rejected import list_rejections, visible_to

    who = principal()
    rows = [
        r.model_dump(include={"blob", "reason", "event_id", "at"})
        for r in list_rejections(services().blobs)
        if visible_to(who, r)
    ]
    if json:
        print_jsonl(rows)
        return
    if not rows:
        note("no rejected inputs")
        return
    table = new_table("AT", "BLOB", "REASON", fold=("BLOB", "REASON"))
    for row in rows:
        table.add_row(Text(str(row["at"])), Text(row["blob"]), Text(row["reason"]))
    print_table(table)
