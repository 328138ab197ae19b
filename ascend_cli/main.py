"""The root of the `ascend` command: the groups (each in its own module); one-line usage errors."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import (  # typer vendors click: its exceptions are these
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)
from typer.core import TyperGroup

from ascend_cli import admin as admin_cli
from ascend_cli import demo, pipeline
from ascend_cli import index as index_cli
from ascend_cli import jobs as jobs_cli
from ascend_cli import metrics as metrics_cli
from ascend_cli import report as report_cli
from ascend_cli import retention as retention_cli
from ascend_cli.search import search as search_command
from ascend_cli.serve import serve

DISTRIBUTION = "ascend-index"
# The order `ascend --help` lists commands in: what a user reaches for first, operators' last.
ORDER = ("jobs", "search", "report", "serve", "demo", "pipeline", "index", "retention", "admin")


class OneLineErrors(TyperGroup):
    """The root group: a usage error is one line on stderr (`error: ...`) and exit status 2, as
    the contract says, instead of click's usage block or typer's boxed panel."""

    def list_commands(self, ctx: Any) -> list[str]:
        """In the order registered below, not typer's commands-before-groups."""
        return [name for name in ORDER if name in self.commands] + sorted(
            name for name in self.commands if name not in ORDER)

    def main(self, args: Any = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # `ascend` or `ascend jobs` alone: the help
            sys.stdout.write(exc.format_message() + "\n")
            sys.exit(0)
        except UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            sys.stderr.write(f"error: {exc.format_message()}{hint}\n")
            sys.exit(exc.exit_code)
        except ClickException as exc:
            sys.stderr.write(f"error: {exc.format_message()}\n")
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="ascend",
    cls=OneLineErrors,
    help="Ascend job logs and artifacts: list, inspect, search and tail jobs; run the pipeline; "
    "plan and apply retention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def version() -> str:
    """The installed distribution's version (the source tree's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ascend {version()}")
        raise typer.Exit


@app.callback()
def root(
    _version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Print the version and exit.")]
    = False,
) -> None:
    """Ascend job logs and artifacts: list, inspect, search and tail jobs; fetch artifacts; run
    the pipeline; plan and apply retention. Settings come from ASCEND_* variables (see the
    README)."""


app.add_typer(jobs_cli.app, name="jobs")
metrics_cli.register(jobs_cli.app)  # `ascend jobs metrics`, from ascend_cli/metrics.py
app.command("search", context_settings={"ignore_unknown_options": True})(search_command)
app.command("serve")(serve)
app.add_typer(demo.app, name="demo")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(index_cli.app, name="index")
app.add_typer(retention_cli.app, name="retention")
app.add_typer(admin_cli.app, name="admin")
app.add_typer(report_cli.app, name="report")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
