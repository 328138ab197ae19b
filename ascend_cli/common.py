"""What every command shares: the composition root, the caller, output and exit codes.

Exit status (the contract): 0 success, 1 a failure, 2 a usage error (bad option, bad query), with
a one-line reason on stderr. `--json` output is one JSON object per line on stdout, nothing else.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ParamSpec, TypeVar

import orjson
import typer

from ascend_cli.visible import visible, visible_line
from shared.errors import AccessDenied, AscendError, InvalidInput
from shared.principal import Principal
from shared.services import Services, build_services
from shared.settings import load_settings

P = ParamSpec("P")
R = TypeVar("R")

JobIdArg = Annotated[str, typer.Argument(metavar="JOB_ID", help="The job's ID (from jobs list).",
                                         show_default=False)]

USAGE_ERROR = 2
FAILURE = 1

_services: Services | None = None


def services() -> Services:
    """The CLI's composition root, from the environment, built on first use."""
    global _services  # noqa: PLW0603 - one composition root per process
    if _services is None:
        _services = build_services(load_settings())
    return _services


def principal() -> Principal:
    """The caller: ASCEND_USER with ASCEND_ROLES."""
    settings = services().settings
    return Principal.of(settings.user, settings.roles)


def require_admin(command: str, project: str | None = None) -> Principal:
    """The caller, if it may run an admin `command` (on `project` when given), else AccessDenied."""
    who = principal()
    if who.is_admin or (project is not None and who.can_administer(project)):
        return who
    needed = f"admin or admin:{project}" if project else "admin"
    raise AccessDenied(f"{who.user} may not run {command}: needs role {needed}")


def fail(message: str, code: int = FAILURE) -> typer.Exit:
    """Print a one-line reason on stderr and return the Exit to raise."""
    sys.stderr.write(f"error: {visible_line(' '.join(str(message).split()))}\n")
    return typer.Exit(code)


def note(message: str) -> None:
    """A line for the human on stderr (keeps stdout clean for --json); control characters in it
    (from a job's name, a blob's name, an exception) are shown, not obeyed."""
    sys.stderr.write(f"{visible(message)}\n")


def say(message: str) -> None:
    """A line for the human on stdout, its control characters shown, not obeyed."""
    typer.echo(visible(message))


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's exceptions into the contract's exit codes and one-line messages."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (InvalidInput, typer.BadParameter) as exc:
            raise fail(str(exc), USAGE_ERROR) from None
        except AccessDenied as exc:
            raise fail(f"access denied: {exc}", FAILURE) from None
        except AscendError as exc:
            raise fail(str(exc), FAILURE) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper


def print_jsonl(objects: Iterable[Mapping[str, Any]]) -> int:
    """One JSON object per line on stdout; returns how many were printed."""
    out = sys.stdout.buffer
    count = 0
    for obj in objects:
        out.write(orjson.dumps(obj, default=str, option=orjson.OPT_APPEND_NEWLINE))
        count += 1
    out.flush()
    return count
