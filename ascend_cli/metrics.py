"""`ascend jobs metrics JOB_ID`: a job's metrics records as a table, JSON Lines, or a PNG plot.

The metrics records are the log records with a `metrics` object (a stdout line that was one JSON
object, or a record logged with `metrics`). The log is streamed; only the metrics are kept.

- default: a table, newest first (`--limit` rows), and in a terminal one sparkline per numeric
  series, oldest to newest;
- `--json`: the metrics records as stored, in log order, one per line;
- `--plot FILE.png`: every numeric series against the X axis `producer.metrics.choose_x_axis`
  picks (`progress`, then `epoch`, then a monotonically increasing key, then any numeric one, else
  time), one panel per series, axes labelled, with a legend.

`register(jobs_app)` adds the command to the `ascend jobs` group.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ascend_cli import tables
from ascend_cli.common import JobIdArg, fail, handle_errors, note, principal, print_jsonl, services
from shared.errors import InvalidInput

if TYPE_CHECKING:
    from producer.metrics import Series, XAxis

# The log readers and the series' rules are imported by the functions that use them: this
# module is loaded with every `ascend jobs ...` command (it registers `jobs metrics`).

SPARKS = "▁▂▃▄▅▆▇█"
MARKED_POINTS = 60  # a series this short is drawn with a marker on each point


def register(jobs_app: typer.Typer) -> None:
    """Add `metrics` to the `ascend jobs` group."""
    jobs_app.command("metrics")(metrics)


@handle_errors
def metrics(
    job_id: JobIdArg,
    json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The metrics records as stored, one JSON per line, oldest first (log "
            "order; the table is newest first).",
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw the series into FILE.png.", metavar="FILE.png"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Table rows (newest first).")] = 20,
) -> None:
    """A job's metrics: a table newest first, `--json` records oldest first (log order), or a
    `--plot` PNG."""
    if plot is not None and plot.suffix.lower() != ".png":
        raise InvalidInput(f"--plot {str(plot)!r}", "must name a .png file")
    from query.jobs import job_log

    root = services()
    records = metrics_records(job_log(root.blobs, root.settings, principal(), job_id))
    if json:
        print_jsonl(records)
        return
    collected = collect(records, limit)
    if plot is not None:
        _plot(job_id, collected, plot)
        return
    _show(job_id, collected)


def metrics_records(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The records of a streamed log that carry a non-empty `metrics` object."""
    from shared.logrecords import iter_log_lines

    for record in iter_log_lines(chunks):
        if (
            isinstance(record, dict)
            and isinstance(record.get("metrics"), dict)
            and record["metrics"]
        ):
            yield record


@dataclass
class Collected:
    """What the table and the plot need: the newest rows whole, every point's numbers."""

    newest: deque[dict[str, Any]]
    points: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    keys: dict[str, None] = field(default_factory=dict)  # every key, in first-seen order

    @property
    def count(self) -> int:
        return len(self.points)


def collect(records: Iterable[dict[str, Any]], limit: int) -> Collected:
    """One pass: the last `limit` records, and per record only what a plot uses (numbers kept,
    other values as None so the X-axis ladder still sees them)."""
    from producer.metrics import is_number

    collected = Collected(newest=deque(maxlen=limit))
    for record in records:
        values = record["metrics"]
        collected.newest.append(record)
        collected.keys.update(dict.fromkeys(values))
        collected.points.append(
            (
                _time(record.get("timestamp")),
                {k: v if is_number(v) else None for k, v in values.items()},
            )
        )
    return collected


def _time(text: object) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


# ---- the terminal ----------------------------------------------------------------------------


def _show(job_id: str, collected: Collected) -> None:
    from producer.metrics import choose_x_axis, numeric_series

    if not collected.count:
        note(f"job {job_id} has no metrics records")
        return
    console = tables.console()
    tables.print_table(metrics_table(collected), console)
    if collected.count > len(collected.newest):
        note(
            f"showing the newest {len(collected.newest)} of {collected.count} metrics records "
            "(--limit)"
        )
    if console.is_terminal:
        axis = choose_x_axis(row for _, row in collected.points)
        for series in numeric_series(collected.points, axis):
            values = [y for _, y in series.points]
            console.print(
                Text.assemble(
                    (f"{series.name:>16} ", "bold"),
                    sparkline(values),
                    (f"  {values[-1]:g}", "cyan"),
                )
            )


def metrics_table(collected: Collected) -> Table:
    """The rich table: time and every metric key, newest record first."""
    table = tables.new_table("TIME", *collected.keys, right=collected.keys)
    for record in reversed(collected.newest):
        values = record["metrics"]
        table.add_row(
            str(record.get("timestamp", ""))[:23].replace("T", " "),
            *(_cell(values.get(key)) for key in collected.keys),
        )
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """The values as one line of block characters, resampled to at most `width`."""
    if not values:
        return ""
    step = max(len(values) / width, 1.0)
    sampled = [values[int(i * step)] for i in range(min(width, len(values)))]
    low, high = min(sampled), max(sampled)
    span = (high - low) or 1.0
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1))] for v in sampled)


# ---- the plot --------------------------------------------------------------------------------


def _plot(job_id: str, collected: Collected, path: Path) -> None:
    from producer.metrics import choose_x_axis, numeric_series

    axis = choose_x_axis(row for _, row in collected.points)
    series = numeric_series(collected.points, axis)
    if not series:
        raise fail(f"job {job_id} has no numeric metrics to plot")
    try:
        draw_plot(series, axis, path, title=f"{job_id}")
    except OSError as exc:
        raise fail(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    note(f"wrote {path}: {len(series)} series against {axis.label} ({axis.reason})")


def draw_plot(series: Sequence[Series], axis: XAxis, path: Path, *, title: str) -> None:
    """One panel per series, against the X axis, into a PNG (matplotlib's Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 1.2 + 2.4 * len(series)), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(series), 1, squeeze=False)[:, 0]
    colours = [f"C{i % 10}" for i in range(len(series))]
    x_label = "time (UTC)" if axis.key is None else axis.key
    for panel, one, colour in zip(panels, series, colours, strict=True):
        xs = [x for x, _ in one.points]
        ys = [y for _, y in one.points]
        panel.plot(
            xs,
            ys,
            color=colour,
            marker="o" if len(xs) <= MARKED_POINTS else None,
            markersize=3,
            linewidth=1.5,
            label=one.name,
        )
        panel.set_xlabel(x_label)
        panel.set_ylabel(one.name)
        panel.grid(alpha=0.3)
        panel.legend(loc="best")
        if axis.key is None:
            locator = AutoDateLocator()  # type: ignore[no-untyped-call]
            panel.xaxis.set_major_locator(locator)
            formatter = ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
            panel.xaxis.set_major_formatter(formatter)
    figure.suptitle(f"{title}\nmetrics by {x_label}", fontsize=11)
    figure.savefig(path, format="png", dpi=100)
