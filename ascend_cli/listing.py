"""How `jobs list` and `search` print pages of jobs: a table, JSON Lines, CSV or TSV; one page
(with the next page's cursor on stderr) or, with `--all`, every page streamed as it arrives."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Protocol, TypeVar

import typer

from ascend_cli.common import note, print_json_lines, print_jsonl
from ascend_cli.tables import print_jobs
from shared.documents import FIELDS
from shared.errors import InvalidInput

FORMATS = ("table", "json", "csv", "tsv")
# The spreadsheet columns: the document's plain fields (metrics_last is a map; left out).
CSV_FIELDS = tuple(f.name for f in FIELDS if f.name != "metrics_last")

OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|csv|tsv",
        help="table (default), json (= --json), csv or tsv with a header row.",
    ),
]
AllOption = Annotated[
    bool,
    typer.Option("--all", help="Every page, streamed (no --limit cap; --limit is the page size)."),
]
CursorOption = Annotated[
    str | None, typer.Option(help="Continue after a previous page (printed on stderr).")
]


class Paged(Protocol):
    """Anything with the cursor of the next page."""

    @property
    def next_cursor(self) -> str | None: ...


class PageLike(Paged, Protocol):
    """A page of search documents (`query.Page`, `query.jobs.JobListing`)."""

    @property
    def documents(self) -> Any: ...


class JsonPageLike(Paged, Protocol):
    """A page of documents as JSON texts (`query.JsonPage`)."""

    @property
    def lines(self) -> list[bytes]: ...


P = TypeVar("P", bound=Paged)


def output_format(output: str | None, json: bool) -> str:
    """The chosen format, or `InvalidInput` for an unknown one or a contradiction."""
    mode = (output or ("json" if json else "table")).lower()
    if mode not in FORMATS:
        raise InvalidInput(f"--output {output!r}", "must be table, json, csv or tsv")
    if json and mode != "json":
        raise InvalidInput("--json", f"contradicts --output {mode}")
    return mode


def pages(fetch: Callable[[str | None], P], cursor: str | None, every: bool) -> Iterator[P]:
    """The page at `cursor` and, when `every`, each following page."""
    while True:
        page = fetch(cursor)
        yield page
        cursor = page.next_cursor
        if not every or cursor is None:
            return


def print_pages(all_pages: Iterator[PageLike], mode: str, *, empty: str) -> None:
    """Print the documents of every page in `mode`; the cursor of a page left out on stderr."""
    table: list[Mapping[str, Any]] = []
    writer = _writer(mode)
    cursor = None
    for page in all_pages:
        documents = list(page.documents)
        cursor = page.next_cursor
        if mode == "json":
            print_jsonl(documents)
        elif writer is not None:
            for doc in documents:
                writer(doc)
            sys.stdout.flush()
        else:
            table.extend(documents)
    if mode == "table":
        if table:
            print_jobs(table)
        else:
            note(empty)
    _note_cursor(cursor)


def print_json_pages(all_pages: Iterator[JsonPageLike]) -> None:
    """`print_pages` in JSON for pages whose documents are already JSON texts."""
    cursor = None
    for page in all_pages:
        print_json_lines(page.lines)
        cursor = page.next_cursor
    _note_cursor(cursor)


def _note_cursor(cursor: str | None) -> None:
    if cursor:
        # On a line of its own: a triple-click copies it whole, however the terminal wraps it.
        note("more jobs: --all for every page, or --cursor with this:")
        note(cursor)


def _writer(mode: str) -> Callable[[Mapping[str, Any]], None] | None:
    if mode not in {"csv", "tsv"}:
        return None
    out = csv.writer(sys.stdout, delimiter="," if mode == "csv" else "\t", lineterminator="\n")
    out.writerow(CSV_FIELDS)
    return lambda doc: out.writerow([_cell(doc.get(name)) for name in CSV_FIELDS])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
