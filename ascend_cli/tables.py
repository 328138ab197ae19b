"""How jobs look in a terminal: the one jobs table (`jobs list`, `search`) and its cell formats."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {"queued": "dim", "running": "cyan", "completed": "green", "failed": "red",
                 "cancelled": "yellow"}
# The job ID already shows the creation time, user and project; these columns add the rest.
COLUMNS = ("JOB ID", "STATUS", "FUNCTION", "NODE", "DURATION", "COST", "ERRORS")
_RIGHT = frozenset({"DURATION", "COST", "ERRORS"})
PIPE_WIDTH = 200


def console() -> Console:
    """stdout for humans: the terminal's width, or wide enough for whole rows when piped."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out.width = max(out.width, PIPE_WIDTH)
    return out


def jobs_table(documents: Iterable[Mapping[str, Any]]) -> Table:
    """One row per search document."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in COLUMNS:
        table.add_column(column, no_wrap=column == "JOB ID",
                         justify="right" if column in _RIGHT else "left")
    for doc in documents:
        status = doc.get("status") or "unknown"
        cells = (doc["job_id"], status, doc.get("function_name"), doc.get("node_type"),
                 duration(doc.get("duration_seconds")), money(doc.get("cost_usd")),
                 doc.get("log_errors"))
        # Text, not markup: values come from job metadata and may contain '[' or ']'.
        row = [Text("" if c is None else str(c)) for c in cells]
        row[1].stylize(STATUS_STYLES.get(status, ""))
        table.add_row(*row)
    return table


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def money(value: float | None) -> str:
    return "" if value is None else f"${value:,.2f}"
