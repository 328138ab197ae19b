"""The README documents every `ascend` command and option (read from the typer app itself, so a
new command or option fails here until it is written down, as sqlite-utils does)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.core import TyperGroup, TyperOption

from ascend_cli.main import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SKIPPED_OPTIONS = {"--help", "--install-completion", "--show-completion"}


def commands(
    group: TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command of the CLI with its path (`("retention", "policy", "show")`),
    asked through the group's own listing (the root loads its commands lazily)."""
    context = typer.Context(group)
    for name in sorted(group.list_commands(context)):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        if isinstance(command, TyperGroup):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


CLI = typer.main.get_command(app)
COMMANDS = list(commands(CLI)) if isinstance(CLI, TyperGroup) else []


def documented(path: tuple[str, ...]) -> bool:
    """A README line `ascend A B ...` names the command, alternatives written `x|y` or `| y`."""
    *parents, leaf = path
    head = re.escape(" ".join(["ascend", *parents]))
    for line in README.splitlines():
        found = re.search(rf"(?<![\w-]){head}\b(.*)", line)
        if found and re.search(rf"(^|[\s|]){re.escape(leaf)}($|[\s|\[])", found.group(1)):
            return True
    return False


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    """`ascend <command>` appears in the README (one line may list `plan|apply`)."""
    assert documented(path), f"README does not show `ascend {' '.join(path)}`"


@pytest.mark.parametrize(
    ("path", "option"),
    [
        (path, name)
        for path, command in COMMANDS
        for param in command.params
        if isinstance(param, TyperOption) and not param.hidden
        for name in param.opts
        if name.startswith("--") and name not in SKIPPED_OPTIONS
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_every_option_is_in_the_readme(path: tuple[str, ...], option: str) -> None:
    """Each long option of each command is written somewhere in the README."""
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", README), (
        f"README does not mention {option} of `ascend {' '.join(path)}`"
    )


def test_the_cli_has_the_commands_the_contract_names() -> None:
    """The walk sees the CLI: jobs, search, pipeline, retention, admin, demo, serve at least."""
    tops = {path[0] for path, _ in COMMANDS}
    assert {"jobs", "search", "pipeline", "retention", "admin", "demo", "serve"} <= tops


def test_a_command_the_readme_does_not_show_is_caught() -> None:
    """The check can fail: an undocumented command path is reported as missing."""
    assert not documented(("jobs", "no-such-command"))
    assert documented(("retention", "policy", "show"))
