"""What every command shares: the composition root, the caller, output and exit codes.

Exit status (the contract): 0 success, 1 a failure, 2 a usage error (bad option, bad query), with
a one-line reason on stderr. `--json` output is one JSON object per line on stdout, nothing else.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar, cast

import orjson
import typer

from ascend_cli.visible import visible, visible_line
from shared.errors import AccessDenied, AscendError, InvalidInput

if TYPE_CHECKING:  # imported when first used: `ascend --help` needs none of them
    from shared.principal import Principal
    from shared.services import Services
    from shared.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

JobIdArg = Annotated[
    str, typer.Argument(metavar="JOB_ID", help="The job's ID (from jobs list).", show_default=False)
]

USAGE_ERROR = 2
FAILURE = 1


def timed_import(name: str) -> Any:
    """`importlib.import_module`: a command's module, loaded when the command runs."""
    import importlib

    return importlib.import_module(name)


def services() -> Services:
    """The process's composition root (`shared.services.services`), built on first use from
    the environment and the config profile."""
    from shared import services as composition

    return composition.services(_cli_settings)


def _cli_settings() -> Settings:
    """The environment over the config profile (one line naming the variable when wrong).
    Read without pydantic when every value is plain text (`shared.plain_settings`: the same
    result, a third of the start-up saved); else `load_settings` coerces or refuses them."""
    # azure.identity logs every credential it tried as a warning: the one-line error says it
    logging.getLogger("azure").setLevel(logging.ERROR)
    from ascend_cli.profile import profile_settings
    from shared.plain_settings import plain_settings

    overrides = profile_settings()
    settings = cast("Settings | None", plain_settings(overrides=overrides))
    if settings is None:
        from shared.settings import load_settings

        settings = load_settings(**overrides)
    _warn_if_new_index(settings)
    return settings


_missing_index: Path | None = None


def _warn_if_new_index(settings: Settings) -> None:
    """Remember a missing embedded index: if the command creates it (empty), say so and where,
    since an empty listing otherwise looks like 'no jobs' (a mistyped ASCEND_INDEX_PATH, say)."""
    global _missing_index  # noqa: PLW0603 - belongs to the one composition root above
    if not settings.search_endpoint and not settings.index_path.exists():
        _missing_index = settings.index_path


def announce_new_index() -> None:
    """The warning, once, after a command created the index it found missing."""
    global _missing_index  # noqa: PLW0603
    if _missing_index is not None and _missing_index.exists() and _still_empty():
        note(
            f"warning: there was no index at {_missing_index}: created an empty one; "
            "`ascend pipeline run --once` (or `make run`) fills it from storage"
        )
    _missing_index = None


def _still_empty() -> bool:
    """Whether the index the command created holds no job (`index load` fills it at once)."""
    try:
        return services().index.count() == 0
    except Exception:  # a warning must never turn into a failure
        return True


def principal() -> Principal:
    """The caller: ASCEND_USER with ASCEND_ROLES."""
    from shared.principal import Principal

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
        except ModuleNotFoundError as exc:  # an optional library (matplotlib for --plot)
            raise fail(
                f"this needs the Python package {exc.name!r}: pip install 'ascend-index[cli]'"
            ) from None
        finally:
            announce_new_index()

    return wrapper


def print_json_lines(lines: Iterable[bytes]) -> int:
    """JSON texts already encoded (one object each, no newline), one per line on stdout."""
    out = sys.stdout.buffer
    count = 0
    for line in lines:
        out.write(line)
        out.write(b"\n")
        count += 1
    out.flush()
    return count


def print_jsonl(objects: Iterable[Mapping[str, Any]]) -> int:
    """One JSON object per line on stdout; returns how many were printed."""
    out = sys.stdout.buffer
    count = 0
    for obj in objects:
        out.write(orjson.dumps(obj, default=str, option=orjson.OPT_APPEND_NEWLINE))
        count += 1
    out.flush()
    return count
