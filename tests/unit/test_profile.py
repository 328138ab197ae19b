"""The CLI's config profile file: settings without exporting variables; the environment wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from ascend_cli.profile import config_path, profile_settings
from shared.errors import InvalidInput
from shared.settings import load_settings

FILE = """
container = "team-data"
user = "alice"
roles = "admin:vision"
index_path = "/srv/ascend/index.sqlite3"

[profiles.prod]
storage_account_url = "https://acct.blob.core.windows.net"
container = "prod-data"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FILE, encoding="utf-8")
    return path


def test_the_files_settings_are_used_when_no_variable_is_set(config: Path) -> None:
    """Top-level keys become settings: container, user, roles, index path."""
    values = profile_settings({}, config)
    settings = load_settings(**values)
    assert (settings.container, settings.user, settings.roles) == (
        "team-data",
        "alice",
        ("admin:vision",),
    )
    assert settings.index_path == Path("/srv/ascend/index.sqlite3")


def test_a_named_profile_overrides_the_top_level(config: Path) -> None:
    """ASCEND_PROFILE=prod takes [profiles.prod] over the top-level keys."""
    values = profile_settings({"ASCEND_PROFILE": "prod"}, config)
    assert values["container"] == "prod-data"
    assert values["storage_account_url"] == "https://acct.blob.core.windows.net"
    assert values["user"] == "alice"


def test_the_environment_wins_over_the_file(config: Path) -> None:
    """A setting also given as ASCEND_* is left to the environment."""
    values = profile_settings({"ASCEND_CONTAINER": "mine"}, config)
    assert "container" not in values
    assert values["user"] == "alice"


@pytest.mark.parametrize(
    ("text", "environ", "reason"),
    [
        ("colour = 'red'", {}, "unknown setting 'colour'"),
        ("container = ", {}, "cannot be read"),
        ("user = 'x'", {"ASCEND_PROFILE": "nope"}, "no [profiles.nope]"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, text: str, environ: dict[str, str], reason: str
) -> None:
    """An unknown key, bad TOML or a missing profile: InvalidInput naming the file or profile."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        profile_settings(environ, path)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_no_file_means_no_settings_and_the_path_follows_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a file nothing changes; the file is looked for under XDG_CONFIG_HOME."""
    monkeypatch.delenv("ASCEND_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "ascend" / "config.toml"
    assert profile_settings({}) == {}
