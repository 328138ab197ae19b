"""How things look in a terminal: one table style for every command, the jobs table (`jobs list`,
`search`) laid out for the terminal's width, and the cell formats.

Every table goes through `new_table` and is printed by `print_table`, the one rendering path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from ascend_cli.visible import safe_console, visible_cell, visible_line

STATUS_STYLES = {
    "queued": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
}
PIPE_WIDTH = 200
GAP = 2  # spaces between two columns (rich's padding (0, 1) on each side)
JOB_ID_MIN = 24  # narrower than this, a job ID wraps into too many lines to read
FOLD_MIN = 24  # a wrapping column (an error message, a path) gets at least this much room


@dataclass(frozen=True)
class Column:
    """A column of the jobs table: its header, how to fill a cell, and its alignment."""

    header: str
    right: bool = False


# The job ID already shows the creation time, user and project. STATUS and AGE always show;
# the others join, in this order, while the row fits the terminal without cutting anything.
REQUIRED = (Column("JOB ID"), Column("STATUS"), Column("AGE", right=True))
OPTIONAL = (
    Column("FUNCTION"),
    Column("DURATION", right=True),
    Column("COST", right=True),
    Column("NODE"),
    Column("ERRORS", right=True),
)


def console(*, stderr: bool = False) -> Console:
    """A console for humans: the terminal's width, or wide enough for whole rows when piped."""
    out = Console(highlight=False, soft_wrap=True, stderr=stderr)
    if not out.is_terminal:
        out.width = max(out.width, PIPE_WIDTH)
    return safe_console(out)  # what jobs write never reaches the terminal as control codes


def new_table(*headers: str, right: Iterable[str] = (), fold: Iterable[str] = ()) -> Table:
    """The one table style: bold headers, no box. Columns in `fold` wrap inside a word
    (blob paths) rather than being cut with an ellipsis; every other column is never cut."""
    right, fold = set(right), set(fold)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(
            header,
            justify="right" if header in right else "left",
            overflow="fold" if header in fold else "ellipsis",
            no_wrap=header not in fold,
        )
    return table


def print_table(table: RenderableType, out: Console | None = None) -> None:
    """Print a table (or any renderable): the one place terminal output of tables goes through
    (`console()` makes its text visible: control characters never reach the terminal raw)."""
    (out or console()).print(table)


def print_rows(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    priority: Sequence[str] = (),
    right: Iterable[str] = (),
    fold: Iterable[str] = (),
    out: Console | None = None,
) -> None:
    """A table of text cells that fits the terminal: the columns are taken in `priority` order
    (the rest after, in their own order) while the rows still fit without cutting a cell; a
    `fold` column wraps and counts as `FOLD_MIN` wide. The columns keep their order on screen,
    and a note on stderr names the ones left out (`--json`/`--csv` have them all)."""
    out = out or console()
    # made visible before measuring: the escapes are what the terminal shows, and what fits
    rows, fold = [[visible_cell(cell) for cell in row] for row in rows], set(fold)
    shown = fit_columns(headers, rows, out.width, priority=priority, fold=fold)
    table = new_table(*(headers[i] for i in shown), right=right, fold=fold)
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    print_table(table, out)
    hidden = [h for i, h in enumerate(headers) if i not in shown]
    if hidden:
        console(stderr=True).print(
            f"not shown at this width: {', '.join(hidden)} "
            "(a wider terminal, --csv or --json has them)"
        )


def fit_columns(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    *,
    priority: Sequence[str] = (),
    fold: Iterable[str] = (),
) -> list[int]:
    """The indexes of the columns that fit `width`, in screen order: the first column of
    `priority` always, then each next one while the row still fits."""
    fold = set(fold)
    order = [headers.index(h) for h in priority]
    order += [i for i in range(len(headers)) if i not in order]

    def need(i: int) -> int:
        lines = (line for r in rows for line in r[i].split("\n"))
        natural = max([cell_len(headers[i]), *(cell_len(line) for line in lines)])
        return min(natural, FOLD_MIN) if headers[i] in fold else natural

    shown, used = order[:1], need(order[0])
    for i in order[1:]:
        if used + GAP + need(i) <= width:
            shown.append(i)
            used += GAP + need(i)
    return sorted(shown)


def print_jobs(documents: Iterable[Mapping[str, Any]], now: datetime | None = None) -> None:
    """The jobs table at the terminal's width."""
    out = console()
    print_table(jobs_table(documents, width=out.width, now=now), out)


def jobs_table(
    documents: Iterable[Mapping[str, Any]], *, width: int, now: datetime | None = None
) -> Table:
    """One row per search document, with the columns that fit `width` characters."""
    moment = now or datetime.now(UTC)
    rows = [_cells(doc, moment) for doc in documents]
    columns, widths = choose_columns(rows, width)
    table = new_table(*(c.header for c in columns), right=(c.header for c in columns if c.right))
    for column, column_width in zip(table.columns, widths, strict=True):
        column.width = column_width  # measured already: rich need not measure every cell again
    id_width = widths[0]
    for row in rows:
        cells = [Text(row[c.header]) for c in columns]
        cells[0] = Text(wrap_job_id(row["JOB ID"], id_width))
        cells[1].stylize(STATUS_STYLES.get(row["STATUS"], ""))
        table.add_row(*cells)
    return table


def choose_columns(rows: Sequence[Mapping[str, str]], width: int) -> tuple[list[Column], list[int]]:
    """The columns to show and their widths: the required ones always; each optional one while
    the whole job ID still fits beside it; a job ID too long for the rest wraps at '-'."""
    natural = {
        c.header: max([len(c.header), *(cell_len(r[c.header]) for r in rows)])
        for c in (*REQUIRED, *OPTIONAL)
    }
    columns = list(REQUIRED)
    used = sum(natural[c.header] for c in columns) + GAP * (len(columns) - 1)
    if used <= width:
        for column in OPTIONAL:
            if not any(r[column.header] for r in rows):
                continue  # a column empty on every row says nothing
            extra = natural[column.header] + GAP
            if used + extra <= width:
                columns.append(column)
                used += extra
        return columns, [natural[c.header] for c in columns]
    rest = used - natural["JOB ID"]
    return columns, [max(JOB_ID_MIN, width - rest)] + [natural[c.header] for c in columns[1:]]


def wrap_job_id(job_id: str, width: int) -> str:
    """The job ID in lines of at most `width` characters, broken after a '-' (so each line is
    a whole part of it); a part longer than a line is folded."""
    parts = job_id.split("-")
    tokens = [part + "-" for part in parts[:-1]] + parts[-1:]
    lines: list[str] = []
    line = ""
    for token in tokens:
        if line and len(line) + len(token) > width:
            lines.append(line)
            line = ""
        line += token
    lines.append(line)
    return "\n".join(chunk[i : i + width] for chunk in lines for i in range(0, len(chunk), width))


def _cells(doc: Mapping[str, Any], now: datetime) -> dict[str, str]:
    values = {
        "JOB ID": doc["job_id"],
        "STATUS": doc.get("status") or "unknown",
        "AGE": age(doc.get("created_at"), now),
        "FUNCTION": doc.get("function_name"),
        "DURATION": duration(doc.get("duration_seconds")),
        "COST": money(doc.get("cost_usd")),
        "NODE": doc.get("node_type"),
        "ERRORS": doc.get("log_errors"),
    }
    # one line each, control characters written out: what is measured is what is shown
    return {key: "" if value is None else visible_line(str(value)) for key, value in values.items()}


def age(created: Any, now: datetime) -> str:
    """How long ago, in the largest whole unit: 45s, 12m, 5h, 3d, 8w."""
    moment = _as_time(created)
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit == "w" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.2f}"
