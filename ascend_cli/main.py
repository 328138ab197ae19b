"""The root of the `ascend` command: the groups (each in its own module); one-line usage errors."""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any, cast

import typer
from typer._click.exceptions import (  # typer vendors click: its exceptions are these
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)
from typer.core import TyperGroup

from ascend_cli.common import timed_import

DISTRIBUTION = "ascend-index"
# The commands in the order `ascend --help` lists them (what a user reaches for first,
# operators' tools last): (module, attribute, one-line help). Each module is imported only when
# its command runs, so `ascend --help` and every command start without loading the others.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "jobs": (
        "ascend_cli.jobs",
        "app",
        "Your jobs: list, status, logs, metrics, artifacts, cancel.",
    ),
    "search": (
        "ascend_cli.search",
        "search",
        "Search the jobs you may see with the query language.",
    ),
    "report": ("ascend_cli.report", "app", "Reports: failures, cost, storage, images."),
    "serve": ("ascend_cli.serve", "serve", "The HTTP API and the web dashboard on 127.0.0.1."),
    "demo": ("ascend_cli.demo", "app", "Demo data for the local stack."),
    "pipeline": (
        "ascend_cli.pipeline",
        "app",
        "The indexing pipeline: run, reconcile, rejected inputs.",
    ),
    "index": ("ascend_cli.index", "app", "The search index: load jobs in bulk."),
    "retention": ("ascend_cli.retention", "app", "Retention: plan, apply, and the policies."),
    "admin": ("ascend_cli.admin", "app", "Admin bulk operations over the jobs a query matches."),
}
ORDER = tuple(COMMANDS)
# Options of these commands take words starting with '-' as arguments (`search -status:x`).
_LOOSE = {"search": {"ignore_unknown_options": True}}


class OneLineErrors(TyperGroup):
    """The root group: a usage error is one line on stderr (`error: ...`) and exit status 2, as
    the contract says, instead of click's usage block or typer's boxed panel."""

    def list_commands(self, ctx: Any) -> list[str]:
        """In the order of COMMANDS, not typer's commands-before-groups."""
        return list(ORDER) + sorted(name for name in self.commands if name not in COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A command, its module imported now (and only now)."""
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.commands[cmd_name] = _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from COMMANDS' help lines, without importing every module."""
        rows = [(name, COMMANDS[name][2]) for name in ORDER]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
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
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Ascend job logs and artifacts: list, inspect, search and tail jobs; fetch artifacts; run
    the pipeline; plan and apply retention. Settings come from ASCEND_* variables (see the
    README)."""


def _plain_help(group: typer.Typer) -> None:
    """Help as plain click text, as the root's (no boxes): for the group and its subgroups."""
    group.rich_markup_mode = None
    group.info.rich_markup_mode = None  # type: ignore[attr-defined]
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _plain_help(sub.typer_instance)


class CommandsWhenAsked(TyperGroup):
    """A group whose commands are built from their functions when first looked up: typer reads
    every parameter of every command of a group to build it (~25 ms for `jobs`), while a run
    needs only the one it runs (`--help` of the group still lists them all)."""

    pending: dict[str, Any]
    short_exceptions = True

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands in the order they were registered, then the subgroups."""
        return [*self.pending, *(name for name in self.commands if name not in self.pending)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, built now if it was not yet."""
        if cmd_name in self.pending and cmd_name not in self.commands:
            self.commands[cmd_name] = typer.main.get_command_from_info(
                self.pending[cmd_name],
                pretty_exceptions_short=self.short_exceptions,
                rich_markup_mode=None,
            )
        return super().get_command(ctx, cmd_name)


def _group_when_asked(app: typer.Typer) -> TyperGroup:
    """`typer.main.get_group(app)`, its commands (not its subgroups) built when looked up."""
    skeleton = copy.copy(app)
    skeleton.registered_commands = []
    skeleton.info = copy.copy(app.info)
    skeleton.info.cls = CommandsWhenAsked
    group = cast("CommandsWhenAsked", typer.main.get_group(skeleton))
    group.short_exceptions = app.pretty_exceptions_short
    group.pending = {
        info.name or typer.main.get_command_name(info.callback.__name__): info
        for info in app.registered_commands
        if info.callback is not None
    }
    return group


def _load(name: str) -> Any:
    """The click command of `name`: its module's typer app, or its function as one command."""
    module_name, attribute, _ = COMMANDS[name]
    module = timed_import(module_name)
    if name == "jobs":  # `ascend jobs metrics` lives in ascend_cli/metrics.py
        timed_import("ascend_cli.metrics").register(module.app)
    target = getattr(module, attribute)
    command: Any
    if isinstance(target, typer.Typer):
        _plain_help(target)
        command = _group_when_asked(target)  # a group even with one command (demo seed)
    else:
        single = typer.Typer(rich_markup_mode=None)
        single.command(name, context_settings=_LOOSE.get(name))(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
