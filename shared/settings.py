"""Settings from the environment: the variables of the contract, named as the Function App's.

Every variable is `ASCEND_*`. Defaults give the local stack: Azurite on 127.0.0.1:10000 and the
embedded SQLite index in the user's data folder (the same file from any working folder).
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from shared.errors import InvalidInput
from shared.jobid import is_valid_name

# The well-known development account of Azurite (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_connection_string(host: str = "127.0.0.1", port: int = 10000) -> str:
    """The connection string of an Azurite blob service on host:port."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{AZURITE_ACCOUNT};"
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


def default_index_path() -> Path:
    """The embedded index's fixed home: `$XDG_DATA_HOME/ascend/index.sqlite3`
    (`~/.local/share/ascend/index.sqlite3`), whatever the current folder is."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ascend" / "index.sqlite3"


# USD per GB-month of each access tier (round list prices of Azure Blob storage); override with
# ASCEND_TIER_PRICES='{"Hot": 0.0184, "Cool": 0.01, "Archive": 0.00099}'.
DEFAULT_TIER_PRICES: dict[str, float] = {"Hot": 0.018, "Cool": 0.010, "Archive": 0.002}


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Settings(BaseSettings):
    """ascend-index configuration (environment variables `ASCEND_*`)."""

    model_config = SettingsConfigDict(env_prefix="ASCEND_", extra="ignore", frozen=True)

    storage_connection_string: str | None = None
    storage_account_url: str | None = None
    container: str = "ascend-data"
    search_endpoint: str | None = None
    search_index: str = "ascend-jobs"
    search_api_key: str | None = None
    index_path: Path = Field(default_factory=default_index_path)
    user: str = Field(default_factory=_login_name)
    roles: Annotated[tuple[str, ...], NoDecode] = ()
    node_prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_NODE_PRICES))
    tier_prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TIER_PRICES))
    max_metadata_bytes: int = 1 << 20
    storage_api_version: str | None = "2026-06-06"
    pipeline_workers: int = Field(default=8, ge=1, le=64)
    pipeline_processes: int = Field(default=1, ge=1, le=64)

    @field_validator("storage_connection_string")
    @classmethod
    def _check_connection_string(cls, value: str | None) -> str | None:
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

    @field_validator("storage_account_url")
    @classmethod
    def _check_account_url(cls, value: str | None) -> str | None:
        if not value:
            return value
        url = urlsplit(value.strip())
        if url.scheme not in {"https", "http"} or not url.hostname:
            raise ValueError("is not an account URL like https://ACCOUNT.blob.core.windows.net")
        return value.strip()

    # Who calls the API (web/auth.py): the identity provider App Service must report, the claim
    # that names the user, the e-mail domain the rule accepts, and explicit identity -> user maps.
    auth_provider: str = "aad"
    user_claim: str = "preferred_username"
    user_domain: str | None = None
    user_map: dict[str, str] = Field(default_factory=dict)
    partition_budget_seconds: float = Field(default=420.0, gt=0)
    reconcile_lookback_days: int = Field(default=3, ge=0, le=366)

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(r.strip() for r in value.split(",") if r.strip())
        return value

    @field_validator("user_map")
    @classmethod
    def _one_identity_per_user(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for identity, user in value.items():
            if not is_valid_name(user):
                raise ValueError(f"{user!r} (for {identity!r}) is not an Ascend user name")
            if user in seen:
                raise ValueError(f"{identity!r} and {seen[user]!r} both map to {user!r}")
            seen[user] = identity
        return value

    @property
    def connection_string(self) -> str | None:
        """The connection string to use: the configured one, or Azurite's when no URL is set."""
        if self.storage_connection_string:
            return self.storage_connection_string
        if self.storage_account_url:
            return None
        return azurite_connection_string()


def load_settings(**overrides: object) -> Settings:
    """`Settings()` from the environment, or `InvalidInput` naming the variable in one line
    (pydantic's own error spans several lines and names the field, not the variable)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        more = len(exc.errors()) - 1
        message = str(first["msg"]).removeprefix("Value error, ")
        reason = " ".join(message.split()) + (f" (and {more} more)" if more else "")
        raise InvalidInput(f"ASCEND_{field.upper()}", reason) from None
    except SettingsError as exc:  # a structured value (dict, list) that is not JSON
        named = re.search(r'field "(\w+)"', str(exc))
        field = named[1] if named else "settings"
        raise InvalidInput(f"ASCEND_{field.upper()}", "is not valid JSON") from None
