"""The `ascend` root as a newcomer meets it: help, version, usage errors, query hints."""

from __future__ import annotations

import re

import pytest

from ascend_cli.main import ORDER, version
from shared.settings import Settings
from tests.support.cli import invoke_cli, point_cli_at


def test_version_prints_the_installed_version() -> None:
    """`ascend --version` prints `ascend X.Y.Z` and exits 0."""
    code, out, _ = invoke_cli("--version")
    assert (code, out) == (0, f"ascend {version()}\n")
    assert version()[0].isdigit()


@pytest.mark.parametrize(
    "args",
    [["jobs", "list", "--bogus"], ["jobs", "list", "--limit", "x"], ["nope"], ["jobs", "status"]],
)
def test_a_usage_error_is_one_line_and_exit_status_2(args: list[str]) -> None:
    """Bad options, commands and missing arguments: one `error:` line on stderr, status 2."""
    code, out, err = invoke_cli(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "--help" in err


def test_help_lists_commands_users_reach_for_first_and_jobs_mentions_metrics() -> None:
    """`ascend --help` lists jobs and search first; `jobs --help` names every jobs command."""
    _, out, _ = invoke_cli("--help")
    listed = re.findall(r"^  (\S+)  ", out.split("Commands:")[1], re.MULTILINE)
    assert listed == [name for name in ORDER if name in listed]
    assert listed[:2] == ["jobs", "search"]
    assert "--install-completion" in out
    _, jobs_help, _ = invoke_cli("jobs", "--help")
    for command in ("list", "status", "logs", "metrics", "cancel"):
        assert f"  {command} " in jobs_help


def test_a_negated_first_term_is_a_query_not_an_option(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ascend search '-status:failed'` runs the query instead of failing as an unknown option."""
    point_cli_at(settings, monkeypatch)
    code, _, err = invoke_cli("search", "-status:failed")
    assert code == 0
    assert "No such option" not in err


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("status:failed OR status:cancelled", "status:failed,cancelled"),
        ("NOT status:failed", "-status:failed"),
        ('"status:failed"', 'KEY:"VALUE"'),
    ],
)
def test_words_from_other_query_languages_get_a_hint(
    settings: Settings, query: str, hint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OR, NOT and a misplaced quote are usage errors that say what to write instead."""
    point_cli_at(settings, monkeypatch)
    code, _, err = invoke_cli("search", query)
    assert code == 2
    assert hint in err
