"""Settings: the contract's environment variables, their defaults, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import InvalidInput
from shared.settings import (
    AZURITE_ACCOUNT,
    DEFAULT_NODE_PRICES,
    Settings,
    azurite_connection_string,
    load_settings,
)

VARIABLES = (
    "STORAGE_CONNECTION_STRING",
    "STORAGE_ACCOUNT_URL",
    "CONTAINER",
    "SEARCH_ENDPOINT",
    "SEARCH_INDEX",
    "SEARCH_API_KEY",
    "INDEX_PATH",
    "USER",
    "ROLES",
    "NODE_PRICES",
    "PIPELINE_WORKERS",
    "PIPELINE_PROCESSES",
    "STORAGE_API_VERSION",
    "CONFIG",
    "PROFILE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASCEND_* variable of the machine leaks into these tests."""
    for name in VARIABLES:
        monkeypatch.delenv(f"ASCEND_{name}", raising=False)


def test_the_defaults_are_the_contracts_local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without variables: Azurite on 127.0.0.1:10000, container ascend-data, the index in the
    user's data folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings = Settings()
    assert settings.container == "ascend-data"
    assert settings.search_index == "ascend-jobs"
    assert settings.index_path == tmp_path / "data" / "ascend" / "index.sqlite3"
    assert settings.connection_string == azurite_connection_string()
    assert f"BlobEndpoint=http://127.0.0.1:10000/{AZURITE_ACCOUNT};" in settings.connection_string
    assert settings.roles == ()
    assert settings.node_prices == DEFAULT_NODE_PRICES
    assert settings.search_endpoint is None


def test_every_contract_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ASCEND_* variable of the contract lands in its setting."""
    monkeypatch.setenv("ASCEND_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")
    monkeypatch.setenv("ASCEND_CONTAINER", "other")
    monkeypatch.setenv("ASCEND_SEARCH_ENDPOINT", "https://s.search.windows.net")
    monkeypatch.setenv("ASCEND_SEARCH_INDEX", "jobs2")
    monkeypatch.setenv("ASCEND_SEARCH_API_KEY", "key")
    monkeypatch.setenv("ASCEND_INDEX_PATH", "/tmp/x.sqlite3")
    monkeypatch.setenv("ASCEND_USER", "bob")
    monkeypatch.setenv("ASCEND_ROLES", "admin:frauddetect, admin")
    monkeypatch.setenv("ASCEND_NODE_PRICES", '{"gpu_small": 1.5}')
    settings = Settings()
    assert settings.connection_string == "UseDevelopmentStorage=true"
    assert (settings.container, settings.search_index, settings.search_api_key) == (
        "other",
        "jobs2",
        "key",
    )
    assert settings.search_endpoint == "https://s.search.windows.net"
    assert settings.index_path == Path("/tmp/x.sqlite3")
    assert settings.user == "bob"
    assert settings.roles == ("admin:frauddetect", "admin")
    assert settings.node_prices == {"gpu_small": 1.5}


def test_an_account_url_means_no_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only ASCEND_STORAGE_ACCOUNT_URL, the adapter uses DefaultAzureCredential."""
    monkeypatch.setenv("ASCEND_STORAGE_ACCOUNT_URL", "https://acct.blob.core.windows.net")
    assert Settings().connection_string is None


def test_the_default_index_is_the_same_file_from_any_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two working folders, one index: the default does not depend on the current folder."""
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    here = Settings().index_path
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert Settings().index_path == here
    assert here.is_absolute()
    assert here == Path.home() / ".local" / "share" / "ascend" / "index.sqlite3"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PIPELINE_WORKERS", "0", "ASCEND_PIPELINE_WORKERS: Input should be greater than or equal"),
        (
            "PIPELINE_WORKERS",
            "-3",
            "ASCEND_PIPELINE_WORKERS: Input should be greater than or equal",
        ),
        ("PIPELINE_PROCESSES", "-1", "ASCEND_PIPELINE_PROCESSES: Input should be greater than or"),
        (
            "STORAGE_CONNECTION_STRING",
            "garbage",
            "ASCEND_STORAGE_CONNECTION_STRING: is not a connection string",
        ),
        (
            "STORAGE_CONNECTION_STRING",
            "AccountKey=abc",
            "ASCEND_STORAGE_CONNECTION_STRING: names no",
        ),
        ("STORAGE_ACCOUNT_URL", "myaccount", "ASCEND_STORAGE_ACCOUNT_URL: is not an account URL"),
        (
            "PIPELINE_WORKERS",
            "abc",
            "ASCEND_PIPELINE_WORKERS: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        ("NODE_PRICES", "not json", "ASCEND_NODE_PRICES: "),
        ("NODE_PRICES", '{"gpu_small": "cheap"}', "ASCEND_NODE_PRICES: "),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    """load_settings turns pydantic's multi-line error into one line naming the variable."""
    monkeypatch.setenv(f"ASCEND_{name}", value)
    with pytest.raises(InvalidInput) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
