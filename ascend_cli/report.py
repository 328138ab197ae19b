"""`ascend report failures|cost|storage|images`: the reports as tables, JSON Lines, CSV or a
chart (a skin over `query.reports`, scoped to the caller like every query).

`--json` prints one object per group (the group key(s), `count` of jobs and the measures);
`--csv` the same rows as CSV (lists joined by `;`); `--plot FILE.png` draws a report that is a
series over time (`cost --by week|month`).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ascend_cli.common import handle_errors, note, principal, print_jsonl, services
from ascend_cli.tables import print_rows
from shared.units import human_bytes

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Reports for the people who run the platform: why jobs fail, what they cost, what storage "
        "holds, which images are used. Scoped like every query: your jobs, admin:P project P's."
    ),
)

Row = dict[str, Any]
QueryArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[QUERY]",
        help="Which jobs, in the query language (default: all you may see).",
        show_default=False,
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", help="Jobs created since: 7d, 12h, 2w back from now, or an ISO date/time."
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until", help="Jobs created before: 7d, 12h, 2w back from now, or an ISO date/time."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout: one row per group.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on stdout: one row per group.")]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot", metavar="FILE.png", help="Draw the series over time into a PNG (--by week|month)."
    ),
]


def _request(query: list[str] | None, since: str | None, until: str | None) -> Any:
    from query.reports import ReportRequest, parse_window

    built = services()
    window = parse_window(since, until, built.clock.now())
    return ReportRequest(built.index, principal(), " ".join(query or []), window, built.clock)


def _by(values: list[str] | None, default: str) -> list[str]:
    """`--by a,b` or `--by a --by b` as a list of keys."""
    return [k.strip() for v in (values or [default]) for k in v.split(",") if k.strip()]


def _emit(rows: list[Row], *, json: bool, as_csv: bool, table: Callable[[list[Row]], None]) -> None:
    if json and as_csv:
        raise typer.BadParameter("--json and --csv: choose one")
    if json:
        print_jsonl(rows)
    elif as_csv:
        write_csv(rows)
    elif rows:
        table(rows)
    else:
        note("no jobs match")


def write_csv(rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows as CSV with a header (the first row's keys); lists joined by `;`."""
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
        )


@app.command("failures")
@handle_errors
def failures(
    query: QueryArg = None,
    *,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many signatures.")] = 50,
    json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Failed jobs grouped by error signature, most first; NEW marks a signature seen this
    week and not the week before. `ascend search signature:HASH` lists a signature's jobs."""
    from query import reports

    rows = reports.failures(_request(query, since, until), limit=limit)
    _emit(rows, json=json, as_csv=as_csv, table=_failures_table)


def _failures_table(rows: list[Row]) -> None:
    headers = ("SIGNATURE", "JOBS", "ERROR", "USERS", "PROJECTS", "IMAGES", "LAST SEEN", "EXAMPLE")
    cells = [
        (
            f"{row['signature'] or '-'}{' NEW' if row['new'] else ''}",
            str(row["count"]),
            row["pattern"] or "",
            _few(row["users"]),
            _few(row["projects"]),
            str(len(row["images"])),
            (row["last_seen"] or "")[:16].replace("T", " "),
            row["example"] or "",
        )
        for row in rows
    ]
    print_rows(
        headers,
        cells,
        right=("JOBS", "IMAGES"),
        fold=("ERROR",),
        priority=("SIGNATURE", "JOBS", "ERROR", "LAST SEEN", "USERS", "PROJECTS"),
    )


def _few(values: Sequence[str], shown: int = 3) -> str:
    more = f" +{len(values) - shown}" if len(values) > shown else ""
    return ", ".join(values[:shown]) + more


@app.command("cost")
@handle_errors
def cost(
    query: QueryArg = None,
    *,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="project, user, node, function, image, week or month; several "
            "(--by project,user) nest.",
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json: JsonOpt = False,
    as_csv: CsvOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Jobs, GPU and CPU node-hours, cost (the node price table), failure rate and the cost of
    failed jobs per group."""
    from query import reports

    keys = _by(by, "project")
    rows = reports.cost(_request(query, since, until), keys)
    if plot is not None:
        plot_series(rows, keys, "cost_usd", plot, title="cost (USD)")
    _emit(rows, json=json, as_csv=as_csv, table=lambda r: _cost_table(r, keys))


def _cost_table(rows: list[Row], keys: list[str]) -> None:
    measures = ("JOBS", "GPU H", "CPU H", "COST", "FAILED", "FAIL %", "FAILED COST")
    groups = [k.upper() for k in keys]
    cells = [
        (
            *(str(row[k]) for k in keys),
            str(row["count"]),
            f"{row['gpu_hours']:,.1f}",
            f"{row['cpu_hours']:,.1f}",
            f"${row['cost_usd']:,.2f}",
            str(row["failed"]),
            f"{row['failure_rate']:.1%}",
            f"${row['failed_cost_usd']:,.2f}",
        )
        for row in rows
    ]
    print_rows(
        (*groups, *measures),
        cells,
        right=measures,
        priority=(*groups, "JOBS", "COST", "FAIL %", "FAILED COST", "GPU H", "CPU H"),
    )


@app.command("storage")
@handle_errors
def storage(
    query: QueryArg = None,
    *,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="project, user or tier; several (--by project,tier) nest."),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Bytes of logs, by-date copies and artifacts per group and tier, the monthly cost at the
    tier prices (ASCEND_TIER_PRICES), retained jobs, and what the next retention sweep changes
    (each project's retention policy: `ascend retention policy show P`)."""
    from lifecycle.overrides import load_policy_book
    from query import reports

    keys = _by(by, "project")
    built = services()
    rows = reports.storage(
        _request(query, since, until),
        keys,
        prices=built.settings.tier_prices,
        policies=load_policy_book(built.blobs),
    )
    _emit(rows, json=json, as_csv=as_csv, table=lambda r: _storage_table(r, keys))


def _storage_table(rows: list[Row], keys: list[str]) -> None:
    measures = (
        "JOBS",
        "LOGS",
        "COPIES",
        "ARTIFACTS",
        "HOT",
        "COOL",
        "ARCHIVE",
        "$/MONTH",
        "RETAINED",
        "SWEEP MOVES",
        "SWEEP DELETES",
        "$/MONTH AFTER",
    )
    groups = [k.upper() for k in keys]
    cells = [
        (
            *(str(row[k]) for k in keys),
            str(row["count"]),
            *(
                size(row[f])
                for f in (
                    "log_bytes",
                    "copy_bytes",
                    "artifact_bytes",
                    "hot_bytes",
                    "cool_bytes",
                    "archive_bytes",
                )
            ),
            f"${row['monthly_usd']:,.2f}",
            f"{row['retained']} ({size(row['retained_bytes'])})",
            str(row["sweep_moves"]),
            f"{row['sweep_deletes']} (-{size(row['sweep_freed_bytes'])})",
            f"${row['monthly_usd_after_sweep']:,.2f}",
        )
        for row in rows
    ]
    print_rows(
        (*groups, *measures),
        cells,
        right=measures,
        priority=(
            *groups,
            "JOBS",
            "$/MONTH",
            "$/MONTH AFTER",
            "SWEEP DELETES",
            "LOGS",
            "ARTIFACTS",
            "RETAINED",
        ),
    )


def size(value: float) -> str:
    """Bytes for a human: 1.2 GiB."""
    return human_bytes(value)


@app.command("images")
@handle_errors
def images(
    query: QueryArg = None,
    *,
    unused_days: Annotated[
        int,
        typer.Option(
            "--unused-days",
            min=0,
            help="Mark images not used for this many days (prune candidates).",
        ),
    ] = 30,
    packages: Annotated[
        bool,
        typer.Option(
            "--packages",
            help="Instead: each pinned package by how many distinct images "
            "carry it (the deduplication, measured).",
        ),
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Each dependency image (user-hash12): jobs, last use, failure rate, packages; UNUSED
    marks images idle for --unused-days."""
    from query import reports

    request = _request(query, since, until)
    if packages:
        _emit(reports.packages(request), json=json, as_csv=as_csv, table=_packages_table)
        return
    rows = reports.images(request, unused_days=unused_days)
    _emit(rows, json=json, as_csv=as_csv, table=_images_table)


def _images_table(rows: list[Row]) -> None:
    cells = [
        (
            f"{row['image']}{' UNUSED' if row['unused'] else ''}",
            str(row["count"]),
            f"{row['failure_rate']:.1%}",
            (row["last_used"] or "")[:10],
            _few(row["packages"], 4),
        )
        for row in rows
    ]
    print_rows(
        ("IMAGE", "JOBS", "FAIL %", "LAST USED", "PACKAGES"),
        cells,
        right=("JOBS", "FAIL %"),
        fold=("PACKAGES",),
    )


def _packages_table(rows: list[Row]) -> None:
    cells = [(row["package"], str(row["images"]), str(row["count"])) for row in rows]
    print_rows(("PACKAGE", "IMAGES", "JOBS"), cells, right=("IMAGES", "JOBS"))


def plot_series(rows: list[Row], keys: list[str], measure: str, path: Path, *, title: str) -> None:
    """A line per group of the keys after the first, over the first key (a week or month)."""
    if not keys or keys[0] not in {"week", "month"}:
        raise typer.BadParameter(
            "--plot draws a series over time: use --by week or --by month (first)"
        )
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    periods = sorted({str(r[keys[0]]) for r in rows})
    series: dict[str, dict[str, float]] = {}
    for row in rows:
        name = " / ".join(str(row[k]) for k in keys[1:]) or measure
        series.setdefault(name, {})[str(row[keys[0]])] = float(row[measure])
    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.add_subplot()
    for name, values in sorted(series.items()):
        axes.plot(periods, [values.get(p, 0.0) for p in periods], marker="o", label=name)
    axes.set_title(f"{title} by {keys[0]}")
    axes.set_ylabel(title)
    axes.tick_params(axis="x", labelrotation=45)
    if len(series) > 1:
        axes.legend(fontsize="small")
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100)
    note(f"plot written to {path}")
