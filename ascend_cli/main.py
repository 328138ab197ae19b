"""The root of the `ascend` command: each group lives in its own module."""

from __future__ import annotations

import typer

from ascend_cli import demo, pipeline

app = typer.Typer(
    name="ascend",
    help="Ascend job logs and artifacts: list, inspect, search and tail jobs; run the pipeline; "
    "plan and apply retention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(demo.app, name="demo")
app.add_typer(pipeline.app, name="pipeline")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
