"""`ascend admin delete|export QUERY`: bulk operations for admins, over the query language.

`delete` is a dry run unless `--yes`; both skip `retain=true` jobs unless `--include-retained`, act
only on projects the caller administers, run on a bounded pool with a progress bar on stderr, and
audit every blob. `--json` prints one object per job (`job_id`, `outcome`, `blobs`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from ascend_cli.common import handle_errors, note, principal, print_jsonl, say, services
from lifecycle.admin import (
    BulkRunner,
    JobOutcome,
    Selected,
    delete_job,
    export_job,
    select_jobs,
)
from lifecycle.audit import AuditLog
from lifecycle.outcome import WOULD_DELETE, Outcome, OutcomeKind

app = typer.Typer(help="Admin bulk operations over the jobs a query matches.", no_args_is_help=True)

QueryArg = Annotated[str, typer.Argument(help="A query, e.g. 'project:vision status:failed'.")]
RetainedOption = Annotated[
    bool, typer.Option("--include-retained", help="Also act on jobs tagged retain=true.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")]
WorkersOption = Annotated[int, typer.Option("--workers", min=1, max=32, help="Parallel jobs.")]


@app.command("delete")
@handle_errors
def delete_command(
    query: QueryArg,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete (default: dry run).")] = False,
    include_retained: RetainedOption = False,
    as_json: JsonOption = False,
    workers: WorkersOption = 8,
) -> None:
    """Delete every job the query matches (dry run unless --yes)."""
    chosen, skipped = _selection(query, include_retained)
    if not yes:
        _report([JobOutcome(j.job_id, WOULD_DELETE) for j in chosen] + skipped, as_json)
        note(
            f"dry run: {count_jobs(len(chosen))} would be deleted, {len(skipped)} skipped; "
            "add --yes to delete"
        )
        return
    svc = services()
    runner = BulkRunner(svc.blobs, AuditLog(svc.blobs), principal(), workers)
    outcomes = _with_progress(
        runner, chosen, "deleting", lambda j: delete_job(runner, svc.index, j, query=query)
    )
    _finish(outcomes, skipped, as_json, "deleted")


@app.command("export")
@handle_errors
def export_command(  # noqa: PLR0917 - one parameter per CLI option
    query: QueryArg,
    dest_dir: Annotated[
        Path, typer.Argument(help="Folder to write DEST_DIR/{job_id}/... into.", file_okay=False)
    ],
    include_retained: RetainedOption = False,
    as_json: JsonOption = False,
    workers: WorkersOption = 8,
    rehydrate: Annotated[
        bool,
        typer.Option(
            "--rehydrate",
            help="Start rehydrating archived blobs (Hot, Standard priority; "
            "hours in Azure), then export again.",
        ),
    ] = False,
) -> None:
    """Download every readable file of the jobs the query matches, verifying checksums; list
    the archived ones (--rehydrate starts their rehydration)."""
    chosen, skipped = _selection(query, include_retained)
    svc = services()
    runner = BulkRunner(svc.blobs, AuditLog(svc.blobs), principal(), workers)
    outcomes = _with_progress(
        runner,
        chosen,
        "exporting",
        lambda j: export_job(runner, j, dest_dir, query=query, rehydrate=rehydrate),
    )
    _finish(outcomes, skipped, as_json, "exported")


def count_jobs(count: int) -> str:
    """`1 job`, `2 jobs`."""
    return f"{count} job" if count == 1 else f"{count} jobs"


def _selection(query: str, include_retained: bool) -> tuple[list[Selected], list[JobOutcome]]:
    import query as query_module

    svc = services()
    docs = query_module.iter_all(svc.index, principal(), query, clock=svc.clock)
    chosen, skipped = [], []
    for job in select_jobs(docs, principal(), include_retained=include_retained):
        if job.skip_reason:
            skipped.append(JobOutcome(job.job_id, Outcome(OutcomeKind.SKIPPED, job.skip_reason)))
        else:
            chosen.append(job)
    return chosen, skipped


def _with_progress(
    runner: BulkRunner, jobs: list[Selected], verb: str, operation: Callable[[Selected], JobOutcome]
) -> list[JobOutcome]:
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"{verb} {len(jobs)} jobs", total=len(jobs))
        return runner.run(jobs, operation, lambda _: bar.advance(task))


def _report(outcomes: list[JobOutcome], as_json: bool) -> None:
    if as_json:
        print_jsonl(o.as_json() for o in outcomes)
        return
    for o in outcomes:
        say(f"{o.job_id}  {o.outcome}" + (f"  ({o.blobs} blobs)" if o.blobs else ""))


def _finish(
    outcomes: list[JobOutcome], skipped: list[JobOutcome], as_json: bool, verb: str
) -> None:
    _report(outcomes + skipped, as_json)
    failed = [o for o in outcomes if o.result.kind is OutcomeKind.FAILED]
    done = sum(o.result.kind is OutcomeKind.DONE for o in outcomes)
    note(f"{count_jobs(done)} {verb}, {len(failed)} failed, {len(skipped)} skipped")
    if failed:
        raise typer.Exit(1)
