"""The CLI's config profile: settings from a TOML file, so nobody exports six variables each time.

The file is `$ASCEND_CONFIG`, or `$XDG_CONFIG_HOME/ascend/config.toml`
(`~/.config/ascend/config.toml`). Its top-level keys are the settings' names without the
`ASCEND_` prefix, in lower case; `[profiles.NAME]` tables override them when `ASCEND_PROFILE=NAME`.
An `ASCEND_*` variable always wins over the file.

    storage_account_url = "https://myaccount.blob.core.windows.net"
    roles = "admin:vision"

    [profiles.local]
    storage_connection_string = "UseDevelopmentStorage=true"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.errors import InvalidInput
from shared.plain_settings import FIELDS


def config_path() -> Path:
    """Where the profile file is looked for."""
    if os.environ.get("ASCEND_CONFIG"):
        return Path(os.environ["ASCEND_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ascend" / "config.toml"


def profile_settings(
    environ: Mapping[str, str] | None = None, path: Path | None = None
) -> dict[str, Any]:
    """The file's settings for the chosen profile, minus those the environment sets; {} when
    there is no file. A file that does not parse, an unknown key or profile: `InvalidInput`."""
    environ = os.environ if environ is None else environ
    path = path or config_path()
    if not path.is_file():
        if environ.get("ASCEND_CONFIG"):
            raise InvalidInput(f"ASCEND_CONFIG {str(path)!r}", "no such file")
        return {}
    import tomllib  # only when there is a file (~3 ms of every command's start-up otherwise)

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise InvalidInput(f"config file {path}", f"cannot be read: {exc}") from None
    profiles = document.pop("profiles", {})
    values = dict(document)
    name = environ.get("ASCEND_PROFILE")
    if name:
        if not isinstance(profiles, dict) or not isinstance(profiles.get(name), dict):
            known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
            raise InvalidInput(
                f"ASCEND_PROFILE {name!r}",
                f"no [profiles.{name}] in {path}" + (f" (there are: {known})" if known else ""),
            )
        values.update(profiles[name])
    _check_keys(values, path)
    return {key: value for key, value in values.items() if f"ASCEND_{key.upper()}" not in environ}


def _check_keys(values: Mapping[str, Any], path: Path) -> None:
    known = set(FIELDS)
    for key in values:
        if key not in known:
            raise InvalidInput(
                f"config file {path}",
                f"unknown setting {key!r} (known: " + ", ".join(sorted(known)) + ")",
            )
