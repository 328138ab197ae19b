"""`ascend search QUERY`: the query language from the command line (a skin over `query.search`).

Prints a rich table, or with `--json` one search document per line; the cursor of the next page,
when there is one, goes to stderr so stdout stays clean.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ascend_cli.common import handle_errors, note, principal, print_jsonl, services
from ascend_cli.tables import print_jobs


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
        print_jobs(page.documents)
    else:
        note("no jobs match")
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")
