"""Settings from the environment: the variables of the contract, named as the Function App's.

Every variable is `ASCEND_*`. Defaults give the local stack: Azurite on 127.0.0.1:10000 and the
embedded SQLite index in the user's data folder (the same file from any working folder). The
defaults and checks are plain Python in `shared.plain_settings`, whose quick reader the CLI tries
first (it starts without pydantic when every value is plain text).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from shared.errors import InvalidInput
from shared.jobid import is_valid_name
from shared.plain_settings import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    DEFAULT_NODE_PRICES,
    DEFAULT_STORAGE_API_VERSION,
    DEFAULT_TIER_PRICES,
    azurite_connection_string,
    check_account_url,
    check_connection_string,
    connection_string_of,
    default_index_path,
    login_name,
    split_roles,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "DEFAULT_NODE_PRICES",
    "DEFAULT_TIER_PRICES",
    "Settings",
    "azurite_connection_string",
    "default_index_path",
    "load_settings",
]


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
    user: str = Field(default_factory=login_name)
    roles: Annotated[tuple[str, ...], NoDecode] = ()
    node_prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_NODE_PRICES))
    tier_prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TIER_PRICES))
    max_metadata_bytes: int = 1 << 20
    storage_api_version: str | None = DEFAULT_STORAGE_API_VERSION
    pipeline_workers: int = Field(default=8, ge=1, le=64)
    pipeline_processes: int = Field(default=1, ge=1, le=64)

    @field_validator("storage_connection_string")
    @classmethod
    def _check_connection_string(cls, value: str | None) -> str | None:
        return check_connection_string(value)

    @field_validator("storage_account_url")
    @classmethod
    def _check_account_url(cls, value: str | None) -> str | None:
        return check_account_url(value)

    # Who calls the API (web/auth.py): the identity provider App Service must report, the claim
    # that names the user, the e-mail domain the rule accepts, and explicit identity -> user maps.
    auth_provider: str = "aad"
    user_claim: str = "preferred_username"
    user_domain: str | None = None
    user_map: dict[str, str] = Field(default_factory=dict)
    partition_budget_seconds: float = Field(default=420.0, gt=0)
    reconcile_lookback_days: int = Field(default=3, ge=0, le=366)
    # The retention sweep: jobs in flight, and its budget of storage requests a second (a
    # standard account's target is 20,000 for everything; `lifecycle.pacing`).
    sweep_concurrency: int = Field(default=8, ge=1, le=64)
    sweep_requests_per_second: int = Field(default=1000, ge=1, le=20_000)

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: object) -> object:
        return split_roles(value)

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
        return connection_string_of(self.storage_connection_string, self.storage_account_url)


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
