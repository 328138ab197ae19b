"""Logger modes and `/LOGCOMMAND` lines: what of a job's output is kept.

Modes: `enabled` keeps all output, `metadata` keeps only extracted metrics, `disabled` keeps only
logger commands. The starting mode comes from the job's logging configuration, a small YAML
document (`mode: metadata`); an empty document means `mode: enabled`. A line on stdout or stderr
that starts with `/LOGCOMMAND` is a command: `/LOGCOMMAND` + one space + a JSON object such as
`{"mode":"metadata"}`. A valid command switches the mode for the rest of the job; a malformed one
changes nothing and is reported with its reason.

Commands, the reports about them and the capture's own notices are kept in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import InvalidInput

PREFIX = "/LOGCOMMAND"
MAX_COMMAND_CHARS = 4096
_SHORT_REPR = 60  # characters of a value quoted in a message


class Mode(StrEnum):
    ENABLED = "enabled"
    METADATA = "metadata"
    DISABLED = "disabled"


class Kind(StrEnum):
    """What a stored record is, for the mode filter."""

    OUTPUT = "output"  # console lines, log records, repetition notices
    METRICS = "metrics"  # lines that are one JSON object
    COMMAND = "command"  # logger commands and the capture's own notices


_KEPT = {
    Mode.ENABLED: frozenset(Kind),
    Mode.METADATA: frozenset({Kind.METRICS, Kind.COMMAND}),
    Mode.DISABLED: frozenset({Kind.COMMAND}),
}


def keeps(mode: Mode, kind: Kind) -> bool:
    """Does `mode` keep a record of `kind`?"""
    return kind in _KEPT[mode]


class LoggingConfig(BaseModel):
    """The job's logging configuration (YAML). Unknown options are refused: a typo such as
    `mdoe: disabled` must not silently log everything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = Mode.ENABLED


class LogCommand(BaseModel):
    """The JSON object of a `/LOGCOMMAND` line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode


def parse_logging_config(text: str | None) -> LoggingConfig:
    """The configuration in `text`; empty or None is the default. `InvalidInput` says why not."""
    if text is None or not text.strip():
        return LoggingConfig()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = f"is not valid YAML ({_yaml_reason(exc)})"
        raise InvalidInput("logging configuration", reason) from None
    if data is None:
        return LoggingConfig()
    if not isinstance(data, dict):
        raise InvalidInput("logging configuration", "must be a mapping such as 'mode: enabled'")
    try:
        return LoggingConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("logging configuration", _pydantic_reason(exc)) from None


@dataclass(frozen=True, slots=True)
class Command:
    """A valid command: what it asks for."""

    mode: Mode


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that starts with `/LOGCOMMAND` but is not a valid command, and why."""

    reason: str


def is_command(line: str) -> bool:
    """Is this console line meant for the logger?"""
    return line.startswith(PREFIX)


def parse_command(line: str) -> Command | Malformed:
    """The command on a line that starts with `/LOGCOMMAND`, or why it is malformed."""
    if len(line) > MAX_COMMAND_CHARS:
        return Malformed(f"longer than {MAX_COMMAND_CHARS} characters")
    rest = line[len(PREFIX) :]
    if not rest[:1].isspace() or rest[1:2].isspace() or not rest[1:]:
        return Malformed(f"{PREFIX} must be followed by one space and a JSON object")
    try:
        data: Any = orjson.loads(rest[1:])
    except orjson.JSONDecodeError as exc:
        return Malformed(f"not valid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return Malformed('the message must be a JSON object such as {"mode":"metadata"}')
    try:
        return Command(LogCommand.model_validate(data).mode)
    except ValidationError as exc:
        return Malformed(_pydantic_reason(exc))


def _pydantic_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    if first["type"] == "extra_forbidden":
        return f"unknown option {where!r} (known: mode)"
    if first["type"] == "enum":
        return f"{where} must be one of enabled, metadata, disabled (got {_short(first['input'])})"
    return f"{where}: {first['msg']}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHORT_REPR else text[: _SHORT_REPR - len("...")] + "..."


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
