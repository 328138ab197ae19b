"""Every parser that takes outside input, fuzzed: whatever the text or bytes, the answer is a
value or one of the project's own errors, never another exception (a traceback, a 500)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from query import search
from query.ast import Sort
from query.cursor import decode_cursor
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import AscendError
from shared.jobid import parse_job_id
from shared.layout import parse_blob_name
from shared.logrecords import iter_log_lines
from shared.metadata import parse_metadata
from shared.principal import Principal
from web.auth import IdentityRules, resolve_principal

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
JOB_ID_LIKE = st.from_regex(
    r"[0-9]{8}-[0-9]{6}-[a-z0-9_]{1,5}-[a-z0-9_]{1,5}-[0-9a-f]{8}-[0-9a-f]{8}", fullmatch=True
)


def only_project_errors(parse: Callable[[], Any]) -> None:
    """`parse()` returns, or raises one of the project's errors with a one-line message."""
    message = ""
    try:
        parse()
    except AscendError as exc:
        message = str(exc)
    assert "\n" not in message


@given(st.text(max_size=80) | JOB_ID_LIKE)
def test_job_ids(text: str) -> None:
    """Any text: a job ID or InvalidJobId."""
    only_project_errors(lambda: parse_job_id(text))


@given(st.text(max_size=120) | JOB_ID_LIKE.map(lambda j: f"projects/p/users/u/jobs/{j}/x"))
def test_blob_names(name: str) -> None:
    """Any blob name: a BlobRef or InvalidBlobPath."""
    only_project_errors(lambda: parse_blob_name(name))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SqliteIndex:
    built = SqliteIndex(Path(tmp_path_factory.mktemp("fuzz")) / "i.sqlite3")
    built.ensure()
    return built


QUERY_WORDS = st.sampled_from(
    [
        "status:",
        "created:",
        "created:>=",
        "created:<=-",
        "cost:>",
        "duration:<",
        "tag:",
        "sort:",
        "-",
        ",",
        '"',
        "9999-12-31",
        "0001-01-01",
        "1e400",
        "999999999d",
        "metric.",
        "user:",
        "project:",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60) | st.lists(QUERY_WORDS | st.text(max_size=6), max_size=6).map("".join))
def test_queries(index: SqliteIndex, text: str) -> None:
    """Any query text runs or is a QueryError; never an OverflowError or a SQLite error."""
    clock = FixedClock(datetime(2026, 3, 14, tzinfo=UTC))
    only_project_errors(lambda: search(index, Principal.of("alice"), text, limit=5, clock=clock))


@given(
    st.text(max_size=80)
    | JSON.map(
        lambda v: base64.urlsafe_b64encode(orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)).decode()
    )
)
def test_cursors(text: str) -> None:
    """Any cursor text: a keyset term or InvalidInput."""
    only_project_errors(lambda: decode_cursor(text, Sort("created_at", descending=True)))


@given(st.binary(max_size=200) | JSON.map(orjson.dumps))
def test_metadata(raw: bytes) -> None:
    """Any bytes as metadata.json: a model or InvalidMetadata."""
    only_project_errors(lambda: parse_metadata(raw))


@given(st.lists(st.binary(max_size=80), max_size=6))
def test_log_lines(chunks: list[bytes]) -> None:
    """Any bytes as a log: records or BadLine values, never an exception."""
    list(iter_log_lines(chunks))


@given(
    st.text(max_size=80)
    | JSON.map(lambda v: base64.b64encode(orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)).decode())
)
def test_principal_headers(header: str) -> None:
    """Any header: a principal or NotAuthenticated."""
    only_project_errors(lambda: resolve_principal(header, IdentityRules(), {}))
