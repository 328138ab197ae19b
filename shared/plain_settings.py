"""The settings' defaults and checks in plain Python, and a quick reader for the common case.

`shared.settings.Settings` (pydantic-settings) is the one definition of the settings. Loading it
imports pydantic and pydantic-settings, about a third of the `ascend` command's start-up, so the
CLI first tries `plain_settings`: when every `ASCEND_*` variable and profile value it is given is
plain text for a text setting (the user, roles, index path, connection string, ...), it reads them
exactly as pydantic-settings would (variable names in any case, the same checks and defaults);
anything else (a number, JSON, a value a check refuses) returns None, and the caller loads
`Settings` itself, which reads, coerces or refuses it with its one-line error. A test holds the
two to the same result.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "ascend_"
# The well-known development account of Azurite (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# Pay-as-you-go list prices (USD per node-hour) of the VM sizes behind Ascend's node types,
# rounded; override with ASCEND_NODE_PRICES='{"gpu_small": 1.2, ...}'.
DEFAULT_NODE_PRICES: dict[str, float] = {
    "cpu_small": 0.096,  # D2s v5: 2 vCPU, 8 GiB
    "cpu_medium": 0.192,  # D4s v5
    "cpu_large": 0.768,  # D16s v5
    "memory_large": 1.008,  # E16s v5
    "gpu_small": 0.526,  # NC4as T4 v3
    "gpu_medium": 3.67,  # NC24ads A100 v4
    "gpu_large": 14.69,  # NC96ads A100 v4
}
# USD per GB-month of each access tier (round list prices of Azure Blob storage); override with
# ASCEND_TIER_PRICES='{"Hot": 0.0184, "Cool": 0.01, "Archive": 0.00099}'.
DEFAULT_TIER_PRICES: dict[str, float] = {"Hot": 0.018, "Cool": 0.010, "Archive": 0.002}
DEFAULT_STORAGE_API_VERSION = "2026-06-06"


def azurite_connection_string(host: str = "127.0.0.1", port: int = 10000) -> str:
    """The connection string of an Azurite blob service on host:port."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{AZURITE_ACCOUNT};"
    )


def default_index_path() -> Path:
    """The embedded index's fixed home: `$XDG_DATA_HOME/ascend/index.sqlite3`
    (`~/.local/share/ascend/index.sqlite3`), whatever the current folder is."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ascend" / "index.sqlite3"


def login_name() -> str:
    """The user's login name (`unknown` when the system has none for this process)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def check_connection_string(value: str | None) -> str | None:
    """The connection string as given, or ValueError saying why it is not one."""
    if not value:
        return value
    parts = [p for p in value.strip().split(";") if p.strip()]
    bad = [p for p in parts if "=" not in p or not p.split("=", 1)[0].strip()]
    if bad or not parts:
        raise ValueError(
            "is not a connection string: expected KEY=VALUE pairs separated by "
            "';' (e.g. AccountName=...;AccountKey=...;BlobEndpoint=...)"
        )
    keys = {p.split("=", 1)[0].strip().lower() for p in parts}
    if not keys & {"accountname", "blobendpoint", "usedevelopmentstorage"}:
        raise ValueError("names no account: it needs AccountName (or BlobEndpoint)")
    return value


def check_account_url(value: str | None) -> str | None:
    """The account URL, stripped, or ValueError when it is not an http(s) URL with a host."""
    if not value:
        return value
    url = urlsplit(value.strip())
    if url.scheme not in {"https", "http"} or not url.hostname:
        raise ValueError("is not an account URL like https://ACCOUNT.blob.core.windows.net")
    return value.strip()


def split_roles(value: object) -> object:
    """`admin, ops` as ("admin", "ops"); anything but text is left to validation."""
    if isinstance(value, str):
        return tuple(r.strip() for r in value.split(",") if r.strip())
    return value


def connection_string_of(connection_string: str | None, account_url: str | None) -> str | None:
    """The connection string to use: the configured one, or Azurite's when no URL is set."""
    if connection_string:
        return connection_string
    if account_url:
        return None
    return azurite_connection_string()


@dataclass(frozen=True, slots=True)
class PlainSettings:
    """The same fields, defaults and `connection_string` as `shared.settings.Settings`."""

    storage_connection_string: str | None = None
    storage_account_url: str | None = None
    container: str = "ascend-data"
    search_endpoint: str | None = None
    search_index: str = "ascend-jobs"
    search_api_key: str | None = None
    index_path: Path = field(default_factory=default_index_path)
    user: str = field(default_factory=login_name)
    roles: tuple[str, ...] = ()
    node_prices: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_NODE_PRICES))
    tier_prices: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_PRICES))
    max_metadata_bytes: int = 1 << 20
    storage_api_version: str | None = DEFAULT_STORAGE_API_VERSION
    pipeline_workers: int = 8
    pipeline_processes: int = 1
    auth_provider: str = "aad"
    user_claim: str = "preferred_username"
    user_domain: str | None = None
    user_map: dict[str, str] = field(default_factory=dict)
    partition_budget_seconds: float = 420.0
    reconcile_lookback_days: int = 3
    sweep_concurrency: int = 8
    sweep_requests_per_second: int = 1000

    @property
    def connection_string(self) -> str | None:
        """The connection string to use: the configured one, or Azurite's when no URL is set."""
        return connection_string_of(self.storage_connection_string, self.storage_account_url)


FIELDS = tuple(PlainSettings.__dataclass_fields__)
# The settings a quick read takes as they are written: text (checked where Settings checks it).
_TEXT = {
    "storage_connection_string": check_connection_string,
    "storage_account_url": check_account_url,
    "container": None,
    "search_endpoint": None,
    "search_index": None,
    "search_api_key": None,
    "user": None,
    "storage_api_version": None,
    "auth_provider": None,
    "user_claim": None,
    "user_domain": None,
}


def plain_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> PlainSettings | None:
    """The settings from `environ` (default: the process's) under `overrides`, when each value
    given is text for a text setting, the index path or the roles and passes its check; else
    None (load `Settings`: it coerces, or refuses in one line)."""
    environ = os.environ if environ is None else environ
    # pydantic-settings reads variable names in any case; of two spellings the later one wins
    given: dict[str, object] = {
        key.lower().removeprefix(PREFIX): value
        for key, value in environ.items()
        if key.lower().startswith(PREFIX) and key.lower().removeprefix(PREFIX) in FIELDS
    }
    given.update(overrides or {})
    values: dict[str, object] = {}
    for name, value in given.items():
        if not isinstance(value, str):
            return None
        try:
            values[name] = _plain(name, value)
        except ValueError:
            return None
    return PlainSettings(**values)  # type: ignore[arg-type]


def _plain(name: str, value: str) -> object:
    if name == "index_path" and value:
        return Path(value)
    if name == "roles":
        return split_roles(value)
    if name not in _TEXT:
        raise ValueError(f"{name} is not read as plain text")
    check = _TEXT[name]
    return check(value) if check else value
