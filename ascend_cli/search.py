"""`ascend search QUERY`: the query language from the command line (a skin over `query.search`).

Prints a rich table, or with `--json` one search document per line; the cursor of the next page,
when there is one, goes to stderr so stdout stays clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ascend_cli.common import handle_errors, note, principal, print_jsonl, services

COLUMNS = ("JOB ID", "CREATED", "STATUS", "USER", "PROJECT", "FUNCTION", "NODE", "COST",
           "DURATION")
STATUS_STYLES = {"queued": "dim", "running": "cyan", "completed": "green", "failed": "red",
                 "cancelled": "yellow"}


@handle_errors
def search(
    query: Annotated[list[str], typer.Argument(
        help='The query, e.g. \'status:failed created:>=-7d\' or \'package:"torch>=2.0.0"\'; '
             "several words are joined by spaces. Put -- before a query starting with '-'.",
        show_default=False)],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Jobs per page.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Continue after a previous page.")] = None,
    json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")]
    = False,
) -> None:
    """Search the jobs you may see with the query language (see the README)."""
    from query import search as run_search

    built = services()
    page = run_search(built.index, principal(), " ".join(query), limit=limit, cursor=cursor,
                      clock=built.clock)
    if json:
        print_jsonl(page.documents)
    elif page.documents:
        Console(highlight=False, soft_wrap=True).print(results_table(page.documents))
    else:
        note("no jobs match")
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


def results_table(documents: Iterable[Mapping[str, Any]]) -> Table:
    """One row per job: the columns an admin scans first."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in COLUMNS:
        table.add_column(column, no_wrap=column == "JOB ID",
                         justify="right" if column in {"COST", "DURATION"} else "left")
    for doc in documents:
        status = doc.get("status") or ""
        cells = (doc["job_id"], (doc.get("created_at") or "")[:19].replace("T", " "), status,
                 doc.get("user"), doc.get("project"), doc.get("function_name"),
                 doc.get("node_type"), _money(doc.get("cost_usd")),
                 _duration(doc.get("duration_seconds")))
        # Text, not markup: values come from job metadata and may contain '[' or ']'.
        row = [Text(str(c or "")) for c in cells]
        row[2].stylize(STATUS_STYLES.get(status, ""))
        table.add_row(*row)
    return table


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
