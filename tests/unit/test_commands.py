"""Logger modes from the YAML configuration, and `/LOGCOMMAND` lines that switch them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producer.commands import (
    Command,
    Kind,
    Malformed,
    Mode,
    is_command,
    keeps,
    parse_command,
    parse_logging_config,
)
from shared.errors import InvalidInput


@pytest.mark.parametrize("text", [None, "", "   \n", "# only a comment\n", "---\n"])
def test_empty_configuration_means_mode_enabled(text: str | None) -> None:
    """An empty `.logoptin`-style document is the default: everything is logged."""
    assert parse_logging_config(text).mode is Mode.ENABLED


@pytest.mark.parametrize("mode", list(Mode))
def test_configuration_sets_the_starting_mode(mode: Mode) -> None:
    """`mode: X` in the YAML sets the mode the job starts in."""
    assert parse_logging_config(f"mode: {mode.value}\n").mode is mode


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mode: loud", "mode must be one of enabled, metadata, disabled (got 'loud')"),
        ("mdoe: disabled", "unknown option 'mdoe' (known: mode)"),
        ("- mode", "must be a mapping such as 'mode: enabled'"),
        ("mode: [unclosed", "is not valid YAML"),
    ],
)
def test_bad_configuration_is_refused_with_a_one_line_reason(text: str, reason: str) -> None:
    """A configuration that is not what it should be names itself and the reason."""
    with pytest.raises(InvalidInput) as caught:
        parse_logging_config(text)
    assert str(caught.value).startswith("logging configuration: ")
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("mode", list(Mode))
def test_valid_command_asks_for_a_mode(mode: Mode) -> None:
    """`/LOGCOMMAND {"mode":"..."}` is a command for that mode."""
    assert parse_command(f'/LOGCOMMAND {{"mode":"{mode.value}"}}') == Command(mode)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("/LOGCOMMAND", "must be followed by one space and a JSON object"),
        ('/LOGCOMMAND{"mode":"metadata"}', "must be followed by one space"),
        ('/LOGCOMMAND  {"mode":"metadata"}', "must be followed by one space"),
        ("/LOGCOMMAND {mode: metadata}", "not valid JSON"),
        ('/LOGCOMMAND ["mode"]', "must be a JSON object"),
        ('/LOGCOMMAND {"mode":"loud"}', "mode must be one of enabled, metadata, disabled"),
        ('/LOGCOMMAND {"mode":"metadata","colour":1}', "unknown option 'colour'"),
        ("/LOGCOMMAND {}", "mode: Field required"),
    ],
)
def test_malformed_command_says_why(line: str, reason: str) -> None:
    """A line for the logger that is not a valid command is reported with its reason."""
    outcome = parse_command(line)
    assert isinstance(outcome, Malformed)
    assert reason in outcome.reason


def test_only_lines_starting_with_the_prefix_are_commands() -> None:
    """Leading text or space makes a line ordinary output."""
    assert is_command('/LOGCOMMAND {"mode":"disabled"}')
    assert not is_command(' /LOGCOMMAND {"mode":"disabled"}')
    assert not is_command('echo /LOGCOMMAND {"mode":"disabled"}')


def test_each_mode_keeps_what_the_seed_says() -> None:
    """enabled keeps all, metadata keeps metrics and commands, disabled keeps commands only."""
    table = {mode: {kind for kind in Kind if keeps(mode, kind)} for mode in Mode}
    assert table == {
        Mode.ENABLED: {Kind.OUTPUT, Kind.METRICS, Kind.COMMAND},
        Mode.METADATA: {Kind.METRICS, Kind.COMMAND},
        Mode.DISABLED: {Kind.COMMAND},
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(payload=json_values)
def test_any_json_payload_is_a_command_or_a_reason_never_an_error(payload: object) -> None:
    """Whatever JSON follows the prefix, parsing answers with a command or a one-line reason."""
    outcome = parse_command("/LOGCOMMAND " + json.dumps(payload))
    assert isinstance(outcome, Command | Malformed)
    if isinstance(outcome, Malformed):
        assert "\n" not in outcome.reason


@given(text=st.text(max_size=80))
def test_any_text_after_the_prefix_is_handled(text: str) -> None:
    """Arbitrary text after `/LOGCOMMAND` never raises."""
    assert isinstance(parse_command("/LOGCOMMAND" + text), Command | Malformed)


@given(text=st.text(max_size=200))
def test_any_configuration_text_parses_or_is_refused_cleanly(text: str) -> None:
    """Arbitrary YAML text gives a configuration or an `InvalidInput`, nothing else."""
    try:
        parse_logging_config(text)
    except InvalidInput as exc:
        message = str(exc)
    else:
        message = "logging configuration: ok"
    assert message.startswith("logging configuration: ")
