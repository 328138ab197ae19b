"""`ascend search QUERY`: the query language from the command line (a skin over `query.search`).

Prints a rich table, or with `--json` one search document per line; the cursor of the next page,
when there is one, goes to stderr so stdout stays clean.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ascend_cli.common import handle_errors, principal, services
from ascend_cli.listing import (
    AllOption,
    CursorOption,
    OutputOption,
    output_format,
    pages,
    print_json_pages,
    print_pages,
)


@handle_errors
def search(  # noqa: PLR0917 - one parameter per option
    query: Annotated[
        list[str],
        typer.Argument(
            help="The query: terms AND-ed, each KEY:VALUE, '-' before one negates it. Keys: "
            "status user project function node python dep image package tag gpu retain tier "
            "created duration cost metric sort; e.g. 'status:failed,cancelled created:>=-7d' "
            "or 'package:\"torch>=2.0.0\"'. Several words are joined by spaces.",
            show_default=False,
        ),
    ],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Jobs per page.")] = 20,
    cursor: CursorOption = None,
    every: AllOption = False,
    output: OutputOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")
    ] = False,
) -> None:
    """Search the jobs you may see with the query language."""
    from query import search as run_search
    from query import search_json

    mode = output_format(output, json)
    built, who, text = services(), principal(), " ".join(query)
    if mode == "json":  # the index's JSON texts, printed as they are

        def fetch_json(after: str | None) -> Any:
            return search_json(built.index, who, text, limit=limit, cursor=after, clock=built.clock)

        print_json_pages(pages(fetch_json, cursor, every))
        return

    def fetch(after: str | None) -> Any:
        return run_search(built.index, who, text, limit=limit, cursor=after, clock=built.clock)

    print_pages(pages(fetch, cursor, every), mode, empty="no jobs match")
