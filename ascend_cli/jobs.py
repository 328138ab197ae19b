"""`ascend jobs ...`: list, inspect, cancel and read the logs of jobs (a thin skin over
`query.jobs` and `query.logs`, printing rich tables and panels or JSON Lines)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ascend_cli.common import (
    JobIdArg,
    fail,
    handle_errors,
    note,
    principal,
    print_jsonl,
    say,
    services,
)
from ascend_cli.listing import AllOption, CursorOption, output_format, pages, print_pages
from ascend_cli.listing import OutputOption as ListOutputOption
from ascend_cli.tables import STATUS_STYLES, console, new_table, print_table
from ascend_cli.visible import visible_line
from query import jobs as use_cases
from shared.errors import AscendError, InvalidInput
from shared.units import human_bytes

if TYPE_CHECKING:
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.progress import Progress, TaskID

    from query.logselect import Line
    from shared.logrecords import BadLine

# Panels, progress bars and the log readers are imported by the commands that use them:
# `ascend jobs list` starts without them.

app = typer.Typer(
    help="Your jobs: list, status, logs, metrics, artifacts, download, cancel.",
    no_args_is_help=True,
)

LEVEL_STYLES = {
    "DEBUG": "dim",
    "INFO": "cyan",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}
JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, nothing else.")]


@app.command("list")
@handle_errors
def list_jobs(  # noqa: PLR0917 - one parameter per option
    status: Annotated[
        str | None,
        typer.Option(
            help="queued|running|completed|failed|cancelled, or several: failed,cancelled"
        ),
    ] = None,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    user: Annotated[str | None, typer.Option(help="Only this user's jobs.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Created in the last 12h, 7d, 2w, or since an ISO date.")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(min=1, max=use_cases.MAX_LIMIT, help="How many (the page size with --all)."),
    ] = 20,
    cursor: CursorOption = None,
    every: AllOption = False,
    output: ListOutputOption = None,
    json: JsonOption = False,
) -> None:
    """Recent jobs, newest first."""
    mode = output_format(output, json)
    built, who = services(), principal()

    def fetch(after: str | None) -> use_cases.JobListing:
        listing = use_cases.list_jobs(
            built.index,
            lambda: built.blobs,
            built.clock,
            built.settings,
            who,
            status=status,
            project=project,
            user=user,
            limit=limit,
            cursor=after,
            since=since,
        )
        if listing.degraded:
            note(f"warning: {listing.degraded}")
        return listing

    print_pages(pages(fetch, cursor, every), mode, empty="no jobs found")


@app.command("status")
@handle_errors
def status(job_id: JobIdArg, json: JsonOption = False) -> None:
    """Full details of one job: metadata and the index's derived fields."""
    root = services()
    details = use_cases.job_details(root.blobs, root.index, root.settings, principal(), job_id)
    problems = [p for p in (details.metadata_problem, details.index_problem) if p]
    if json:
        for problem in problems:
            note(f"warning: {problem}")
        document = details.document or {"job_id": details.job_id}
        print_jsonl([{**document, "metadata": details.metadata, "problems": problems}])
        return
    print_table(status_panels(details))


def status_panels(details: use_cases.JobDetails) -> Group:
    """Rich panels: overview, config, dependencies, execution, resources, artifacts, tags, index."""
    from rich.console import Group
    from rich.panel import Panel

    meta = details.metadata or {}
    doc = details.document or {}
    keys = ("job_id", "status", "user", "project", "function_name", "created_at", "updated_at")
    overview = {key: meta.get(key, doc.get(key)) for key in keys}
    overview["job_id"] = details.job_id
    panels = [_panel("Job", overview)]
    for key in ("config", "dependencies", "execution", "resources"):
        if meta.get(key):
            panels.append(_panel(key.capitalize(), meta[key]))
    if meta.get("artifacts"):
        panels.append(
            Panel(_artifacts_table(meta["artifacts"]), title="Artifacts", title_align="left")
        )
    if meta.get("tags"):
        panels.append(_panel("Tags", meta["tags"]))
    derived = (
        "dep_hash",
        "image_hash",
        "package_names",
        "cost_usd",
        "artifact_bytes",
        "log_lines",
        "log_errors",
        "log_last_error",
        "tier",
        "retain",
    )
    if doc:
        panels.append(_panel("Index", {k: doc.get(k) for k in derived}))
    for problem in (details.metadata_problem, details.index_problem):
        if problem:
            panels.append(Panel(Text(problem, style="yellow"), title="Problem", title_align="left"))
    return Group(*panels)


def _panel(title: str, values: Mapping[str, Any]) -> Panel:
    from rich.panel import Panel

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in values.items():
        if value is None or value in ([], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        style = STATUS_STYLES.get(shown, "") if key == "status" else ""
        grid.add_row(key, Text(shown, style=style))
    return Panel(grid, title=title, title_align="left")


def _artifacts_table(artifacts: list[Mapping[str, Any]]) -> Table:
    table = new_table("NAME", "TYPE", "SIZE", "CREATED", right=("SIZE",), fold=("NAME",))
    for item in artifacts:
        table.add_row(
            Text(str(item.get("name"))),
            Text(str(item.get("type"))),
            _size(item.get("size_bytes")),
            str(item.get("created_at") or ""),
        )
    return table


@app.command("cancel")
@handle_errors
def cancel(job_id: JobIdArg) -> None:
    """Mark a queued or running job cancelled (a finished job cannot be)."""
    root = services()
    meta = use_cases.cancel_job(root.blobs, root.clock, principal(), job_id)
    say(f"job {meta.job_id}: {meta.status.value}")


OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="pretty|raw|json",
        help="pretty: colored lines (default); raw: the messages only; json: the stored lines.",
    ),
]


@app.command("logs")
@handle_errors
def logs(  # noqa: PLR0917 - one parameter per option, as logcli has them
    job_id: JobIdArg,
    level: Annotated[str | None, typer.Option(help="Minimum level: DEBUG..CRITICAL.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Tail until the job ends.")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option(
            "--tail", "-n", min=1, help="Only the last N lines (after the other filters)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Lines from this long ago (30s, 15m, 1h, 2d, 1w) or this ISO time on."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Lines at or after this ISO time.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Lines before this ISO time.")] = None,
    grep: Annotated[str | None, typer.Option(help="Lines whose message contains TEXT.")] = None,
    regex: Annotated[bool, typer.Option("--regex", help="--grep is a regular expression.")] = False,
    ignore_case: Annotated[
        bool, typer.Option("--ignore-case", "-i", help="--grep ignores case.")
    ] = False,
    stream: Annotated[
        str | None,
        typer.Option(metavar="stdout|stderr", help="Only what the job wrote to this stream."),
    ] = None,
    output: OutputOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="The stored lines, unchanged (-o json).")
    ] = False,
) -> None:
    """The job's log (stdout, stderr and logging, in order), streamed; `--follow` tails a running
    job until it finishes (with `--tail N`, from its last N lines). Filters combine like
    logcli's."""
    from query.logs import filter_raw, parse_level, read_ahead
    from query.logselect import select, select_following, selection

    mode = _output_mode(output, json)
    built = services()
    wanted = selection(
        minimum=parse_level(level),
        since=since,
        start=start,
        end=end,
        grep=grep,
        regex=regex,
        ignore_case=ignore_case,
        stream=stream,
        tail=tail,
        now=built.clock.now(),
    )
    held = 0
    if follow:
        _say_if_waiting(built, job_id)
        held = use_cases.log_size(built.blobs, principal(), job_id)  # before the tail reads
    chunks = read_ahead(
        use_cases.job_log(built.blobs, built.settings, principal(), job_id, follow=follow)
    )
    try:
        if follow and wanted.tail is not None:
            _print_selected(select_following(chunks, wanted, held), mode, flush_each=True)
        elif mode == "json" and not wanted.filters:
            _write_raw(filter_raw(chunks, wanted.minimum), flush_each=follow)
        elif not wanted.filters and mode == "pretty":
            out = console()
            for item in _records(chunks, wanted.minimum):
                out.print(render_record(item) if isinstance(item, dict) else _bad(item))
        else:
            _print_selected(select(chunks, wanted), mode, flush_each=follow)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as cat and grep do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _output_mode(output: str | None, json: bool) -> str:
    mode = (output or ("json" if json else "pretty")).lower()
    if mode not in {"pretty", "raw", "json"}:
        raise InvalidInput(f"--output {output!r}", "must be pretty, raw or json")
    if json and mode != "json":
        raise InvalidInput("--json", f"contradicts --output {mode}")
    return mode


def _say_if_waiting(built: Any, job_id: str) -> None:
    """`--follow` on a job that has not started says so instead of waiting silently."""
    try:
        job = use_cases.visible_job(principal(), job_id)
        status = use_cases.stored_metadata(built.blobs, built.settings, job)[0]
    except AscendError:
        return
    if status.status.value == "queued":
        note(f"job {status.job_id} is queued: waiting for it to start (Ctrl-C to stop)")


def _print_selected(lines: Iterator[Line], mode: str, *, flush_each: bool) -> None:
    if mode == "json":
        _write_raw((line.raw + b"\n" for line in lines), flush_each=flush_each)
    elif mode == "raw":
        # The messages as the job wrote them: control characters made visible on a terminal.
        shown = visible_line if sys.stdout.isatty() else str
        _write_raw(
            (
                shown(
                    str(line.record.get("message", ""))
                    if line.record
                    else line.raw.decode("utf-8", "replace")
                ).encode()
                + b"\n"
                for line in lines
            ),
            flush_each=flush_each,
        )
    else:
        out = console()
        for line in lines:
            out.print(
                render_record(line.record)
                if line.record
                else Text(line.raw.decode("utf-8", "replace"), style="dim yellow")
            )


def _write_raw(blocks: Iterator[bytes], *, flush_each: bool) -> None:
    out = sys.stdout.buffer
    for block in blocks:
        out.write(block)
        if flush_each:
            out.flush()
    out.flush()


def _records(chunks: Iterator[bytes], minimum: str | None) -> Iterator[dict[str, Any] | BadLine]:
    from query.logs import filter_records
    from shared.logrecords import iter_log_lines

    if minimum is None:
        return iter_log_lines(chunks)
    return filter_records(chunks, minimum)


def render_record(record: Mapping[str, Any]) -> Text:
    """One record as a colored line (and its exception's stack trace, dimmed, below)."""
    level = str(record.get("level"))
    text = Text.assemble(
        (str(record.get("timestamp", ""))[:23].replace("T", " "), "dim"),
        " ",
        (f"{level:<8}", LEVEL_STYLES.get(level, "")),
        " ",
        (str(record.get("logger", "")), "blue"),
        " ",
        str(record.get("message", "")),
    )
    exception = record.get("exception")
    if isinstance(exception, Mapping) and exception.get("stacktrace"):
        text.append("\n" + str(exception["stacktrace"]).rstrip(), style="dim")
    return text


def _bad(line: BadLine) -> Text:
    return Text(f"line {line.line_number}: not a log record ({line.reason})", style="dim yellow")


def _size(value: int | None) -> str:
    if value is None:
        return ""
    return human_bytes(value)


# ---- artifacts -------------------------------------------------------------------------------


@app.command("artifacts")
@handle_errors
def artifacts(job_id: JobIdArg, json: JsonOption = False) -> None:
    """A job's artifacts (owner and admins): name, size, tier, sha256."""
    from query.artifacts import list_artifacts

    files = list_artifacts(services().blobs, principal(), job_id)
    if json:
        print_jsonl(f.as_json() for f in files)
        return
    if not files:
        note(f"job {job_id} has no artifacts")
        return
    table = new_table("NAME", "SIZE", "TIER", "SHA256", right=("SIZE",), fold=("NAME",))
    for f in files:
        table.add_row(Text(f.name), _size(f.size), f.tier or "", (f.sha256 or "")[:12])
    print_table(table)


@app.command("download")
@handle_errors
def download(
    job_id: JobIdArg,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[NAME]...", help="Artifacts to fetch (default: all).", show_default=False
        ),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option("--dest", file_okay=False, help="Folder to write into (default: ./JOB_ID)."),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="One line per file: name, path, outcome.")
    ] = False,
) -> None:
    """Download a job's artifacts (owner and admins): streamed, resumable, checksum-verified."""
    from query.artifacts import choose, list_artifacts
    from query.artifacts import download as fetch

    blobs = services().blobs
    files = choose(list_artifacts(blobs, principal(), job_id), names or [])
    folder = dest or Path(job_id.strip())
    err = console(stderr=True)
    results, failures = [], []
    with _bytes_progress(err, sum(f.size for f in files)) as (bar, task):
        for f in files:
            try:
                outcome = fetch(blobs, f, folder, lambda n: bar.advance(task, n))
            except AscendError as exc:
                failures.append(str(exc))
                outcome = f"failed: {exc}"
            results.append({"name": f.name, "path": str(folder / f.name), "outcome": outcome})
    if json:
        print_jsonl(results)
    else:
        for row in results:
            note(f"{row['outcome']:<10} {row['path']}")
    if failures:
        raise fail(f"{len(failures)} of {len(files)} artifacts failed; first: {failures[0]}")


@contextmanager
def _bytes_progress(out: Console, total: int) -> Iterator[tuple[Progress, TaskID]]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("downloading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as bar:
        yield bar, bar.add_task("download", total=total)
