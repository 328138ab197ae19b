"""`ascend index load FILE`: backfill the search index from JSON Lines of `metadata.json`.

A skin over `indexer.load`: bad lines are reported on stderr with their number and reason and
the good ones are loaded all the same (exit status 1 if any line was bad). Writing documents
straight into the index bypasses storage's per-user folders, so it is for admins only.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ascend_cli.common import fail, handle_errors, note, principal, print_jsonl, services
from shared.errors import AccessDenied

app = typer.Typer(help="The search index: load jobs in bulk.", no_args_is_help=True)


@app.command("load")
@handle_errors
def load(
    file: Annotated[
        str,
        typer.Argument(
            help="JSON Lines, one metadata.json document per line; '-' reads stdin.",
            show_default=False,
        ),
    ],
    json: Annotated[bool, typer.Option("--json", help="The summary as one JSON line.")] = False,
) -> None:
    """Load jobs from JSON Lines of metadata.json documents (a backfill; admins only)."""
    from indexer.load import BadLine, load_lines

    if not principal().is_admin:
        raise AccessDenied("ascend index load needs the admin role")
    built = services()

    def report(bad: BadLine) -> None:
        note(f"line {bad.number}: {bad.reason}")

    # The index is opened once the file is (a missing file is the one error line).
    with _opened(file) as stream, _deferred_indexes(built.index):
        summary = load_lines(
            _lines(stream),
            built.index,
            prices=built.settings.node_prices,
            max_bytes=built.settings.max_metadata_bytes,
            on_bad=report,
        )
    if json:
        print_jsonl([summary.as_dict()])
    else:
        note("load: " + ", ".join(f"{k} {v}" for k, v in summary.as_dict().items()))
    if summary.bad:
        raise fail(f"{len(summary.bad)} of {summary.lines} lines were not loaded (see above)")


def _deferred_indexes(index: object) -> contextlib.AbstractContextManager[bool]:
    """An empty embedded index makes its query indexes after the load (sorted: 1.8x less
    CPU per job); any other index loads as it is."""
    from shared.adapters.sqlite_index import SqliteIndex

    if isinstance(index, SqliteIndex):
        return index.deferred_indexes()
    return contextlib.nullcontext(False)


@contextlib.contextmanager
def _opened(name: str) -> Iterator[BinaryIO]:
    """The file, or stdin for '-'; a missing or unreadable file is a usage error."""
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = Path(name).open("rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise typer.BadParameter(f"{name}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    yield from stream
