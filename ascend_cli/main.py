"""The root of the `ascend` command: each group lives in its own module."""

from __future__ import annotations

import typer

from ascend_cli import admin as admin_cli
from ascend_cli import demo, pipeline
from ascend_cli import jobs as jobs_cli
from ascend_cli import metrics as metrics_cli
from ascend_cli import retention as retention_cli
from ascend_cli.search import search as search_command
from ascend_cli.serve import serve

app = typer.Typer(
    name="ascend",
    help="Ascend job logs and artifacts: list, inspect, search and tail jobs; run the pipeline; "
    "plan and apply retention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(demo.app, name="demo")
app.add_typer(retention_cli.app, name="retention")
app.add_typer(admin_cli.app, name="admin")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(jobs_cli.app, name="jobs")
metrics_cli.register(jobs_cli.app)  # `ascend jobs metrics`, from ascend_cli/metrics.py
app.command("serve")(serve)
app.command("search")(search_command)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
