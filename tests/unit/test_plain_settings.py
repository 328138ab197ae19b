"""The CLI's quick settings reader: the same settings as pydantic-settings' `Settings`, or None."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.plain_settings import FIELDS, PlainSettings, plain_settings
from shared.settings import Settings, load_settings

CONNECTION = "AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/acct"
TYPICAL = {
    "ASCEND_USER": "alice",
    "ASCEND_ROLES": "admin:vision, ops",
    "ASCEND_INDEX_PATH": "/srv/ascend/index.sqlite3",
    "ASCEND_STORAGE_CONNECTION_STRING": CONNECTION,
    "ASCEND_CONTAINER": "team-data",
    "ASCEND_CONFIG": "/nowhere/config.toml",
    "HOME": "/home/alice",
}


def _fields(settings: object) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in FIELDS}


def _both(environ: dict[str, str], overrides: dict[str, object]) -> tuple[Any, Any]:
    """The quick reader's and pydantic-settings' results for `environ` (alone) and `overrides`;
    pydantic's is the exception it raised, if it refused."""
    with patch.dict(os.environ, environ, clear=True):
        quick = plain_settings(overrides=overrides)
        try:
            full: Any = load_settings(**overrides)
        except Exception as exc:
            full = exc
    return quick, full


def test_the_fields_and_defaults_are_settings_own() -> None:
    """Same field names in the same order, and the same defaults, as the pydantic model."""
    assert tuple(Settings.model_fields) == FIELDS
    quick, full = _both({"HOME": "/home/alice", "USER": "alice"}, {})
    assert quick is not None
    assert _fields(quick) == _fields(full)
    assert quick.connection_string == full.connection_string


def test_the_everyday_variables_are_read_without_pydantic() -> None:
    """User, roles, index path, connection string, container: read quickly, equal to Settings."""
    quick, full = _both(TYPICAL, {})
    assert isinstance(quick, PlainSettings)
    assert _fields(quick) == _fields(full)
    assert quick.roles == ("admin:vision", "ops")
    assert quick.index_path == Path("/srv/ascend/index.sqlite3")


def test_a_variable_name_in_any_case_is_read_as_pydantic_settings_reads_it() -> None:
    """`ascend_user` counts like `ASCEND_USER`, as pydantic-settings (case-insensitive) has it."""
    quick, full = _both({"ascend_user": "bob", "Ascend_Container": "c"}, {})
    assert quick is not None
    assert (quick.user, quick.container) == (full.user, full.container) == ("bob", "c")


def test_what_needs_coercing_or_is_refused_goes_to_settings() -> None:
    """A number, JSON, a bad connection string or a non-text profile value: None (so
    `load_settings` coerces it or says what is wrong in one line)."""
    for environ in (
        {"ASCEND_PIPELINE_WORKERS": "4"},
        {"ASCEND_NODE_PRICES": '{"gpu_small": 1.0}'},
        {"ASCEND_STORAGE_CONNECTION_STRING": "not a connection string"},
        {"ASCEND_STORAGE_ACCOUNT_URL": "ftp://x"},
        {"ASCEND_INDEX_PATH": ""},
    ):
        assert plain_settings(environ) is None, environ
    assert plain_settings({}, {"roles": ["admin"]}) is None
    assert plain_settings({}, {"max_metadata_bytes": 10}) is None


def test_the_profile_wins_over_the_environment_as_in_settings() -> None:
    """Overrides (the profile's values) come before the variables, as init values do."""
    quick, full = _both({"ascend_user": "bob"}, {"user": "carol", "container": "x"})
    assert quick is not None
    assert _fields(quick) == _fields(full)
    assert quick.user == "carol"


_NAMES = st.sampled_from([*FIELDS, "config", "profile", "unknown_thing"]).flatmap(
    lambda name: st.sampled_from([f"ASCEND_{name.upper()}", f"ascend_{name}"])
)
_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [CONNECTION, "UseDevelopmentStorage=true", "https://acct.blob.core.windows.net", "4", ""]
    ),
    st.text(alphabet="ab,: ", max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    environ=st.dictionaries(_NAMES, _VALUES, max_size=6),
    overrides=st.dictionaries(
        st.sampled_from(["user", "roles", "container", "index_path", "search_endpoint"]),
        st.one_of(_VALUES, st.integers(), st.lists(st.text(max_size=5), max_size=2)),
        max_size=3,
    ),
)
def test_whatever_the_quick_reader_accepts_settings_reads_the_same(
    environ: dict[str, str], overrides: dict[str, object]
) -> None:
    """For any variables and profile values: the quick reader gives up (None), or gives exactly
    the fields pydantic-settings gives (which then does not refuse them)."""
    environ = {k: v.replace("\x00", "") for k, v in environ.items()}
    quick, full = _both({"HOME": "/home/alice", "USER": "alice", **environ}, overrides)
    if quick is not None:
        assert not isinstance(full, Exception), full
        assert _fields(quick) == _fields(full)
        assert quick.connection_string == full.connection_string
