"""`ascend demo ...`: write realistic jobs into storage, the way Ascend jobs do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from ascend_cli.common import fail, handle_errors, note, print_jsonl, services
from producer.demo import SeedSummary, seed_demo
from shared.errors import InvalidInput

app = typer.Typer(help="Demo data for the local stack.", no_args_is_help=True)


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC datetime (a time without a zone is taken as UTC)."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"--now {text!r}",
            "is not an ISO 8601 date or time (e.g. 2026-03-14 or 2026-03-14T12:00:00Z)",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command("seed")
@handle_errors
def seed(
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, max=100_000, help="How many jobs to write.")
    ] = 100,
    seed_: Annotated[int, typer.Option("--seed", help="Same seed, same jobs.")] = 0,
    now: Annotated[
        str | None, typer.Option("--now", help="Seed as of this ISO time (default: now).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Parallel writers.")] = 8,
    json: Annotated[bool, typer.Option("--json", help="The summary as one JSON line.")] = False,
) -> None:
    """Write N realistic jobs (metadata, logs, artifacts, results) through the producer."""
    moment = parse_now(now)
    built = services()
    ensure = getattr(built.blobs, "ensure_container", None)
    if ensure is not None:
        ensure()
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("seeding", total=jobs)
        summary = seed_demo(
            built.blobs,
            jobs=jobs,
            seed=seed_,
            now=moment,
            workers=workers,
            progress=lambda done: bar.update(task, completed=done),
        )
    _report(summary, built.settings.container)
    if json:
        print_jsonl(
            [
                {
                    "jobs": summary.jobs,
                    "skipped": summary.skipped,
                    "failed": len(summary.failures),
                    "blobs_written": summary.blobs_written,
                    "seconds": round(summary.seconds, 2),
                    "by_status": dict(summary.by_status),
                    "by_project": dict(summary.by_project),
                }
            ]
        )
    if summary.failures:
        raise fail(f"{len(summary.failures)} of {jobs} jobs failed; first: {summary.failures[0]}")


def _report(summary: SeedSummary, container: str) -> None:
    note(
        f"seeded {summary.jobs} jobs ({summary.blobs_written} job blobs) into container "
        f"{container!r} in {summary.seconds:.1f} s"
        + (f"; {summary.skipped} already there, skipped" if summary.skipped else "")
    )
    if summary.jobs:
        note("  by status:  " + ", ".join(f"{k} {v}" for k, v in summary.by_status.most_common()))
        note("  by project: " + ", ".join(f"{k} {v}" for k, v in summary.by_project.most_common()))
