"""Page cursors and the principal's scope: pure pieces of the search use case."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from query.ast import After, AnyOf, Equals, Sort
from query.cursor import decode_cursor, encode_cursor
from query.scope import scope_term
from shared.errors import InvalidInput
from shared.principal import Principal

DOC: dict[str, Any] = {
    "job_id": "20260314-120000-alice-fraud-a3f5d2c8-00000001",
    "created_at": "2026-03-14T12:00:00.000Z",
    "cost_usd": 2.5,
    "user": "alice",
}


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


@pytest.mark.parametrize("sort", [Sort(), Sort("cost_usd", True), Sort("user", False)])
def test_a_cursor_decodes_to_the_row_it_was_made_after(sort: Sort) -> None:
    """encode then decode gives the keyset term of that document in that sort."""
    after = decode_cursor(encode_cursor(sort, DOC), sort)
    assert after == After(sort, DOC[sort.field], DOC["created_at"], DOC["job_id"])


def test_a_cursor_is_url_safe_text() -> None:
    """Cursors travel in URLs and shells: only base64url characters, no padding."""
    cursor = encode_cursor(Sort("cost_usd", True), DOC)
    assert cursor.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize(
    ("cursor", "reason"),
    [
        ("not a cursor!", "not a cursor printed by a search"),
        (forged({"s": "created_at"}), "not a cursor printed by a search"),
        (
            forged(
                {"s": "cost_usd", "d": True, "v": 1.0, "c": "2026-03-14T12:00:00.000Z", "j": "x"}
            ),
            "another sort order",
        ),
        (
            forged(
                {"s": "created_at", "d": True, "v": 5, "c": "2026-03-14T12:00:00.000Z", "j": "x"}
            ),
            "created_at value has the wrong type",
        ),
        (
            forged({"s": "created_at", "d": True, "v": None, "c": "1 or 1 eq 1", "j": "x"}),
            "is not a time",
        ),
        (
            forged(
                {
                    "s": "created_at",
                    "d": True,
                    "v": None,
                    "c": "2026-03-14T12:00:00Z",
                    "j": "x",
                    "extra": 1,
                }
            ),
            "not a cursor printed by a search",
        ),
        ("A" * 5000, "too long"),
    ],
)
def test_a_forged_or_foreign_cursor_is_refused_with_a_reason(cursor: str, reason: str) -> None:
    """Anything but a cursor printed by a search with the same sort is an InvalidInput."""
    with pytest.raises(InvalidInput, match=reason):
        decode_cursor(cursor, Sort())


@given(st.text(max_size=200))
def test_arbitrary_cursor_text_is_refused_or_checked(text: str) -> None:
    """Random text never crashes decoding: it is refused, or a keyset term of this sort whose
    time is a real time, so the search it continues can be compiled and run."""
    try:
        after = decode_cursor(text, Sort())
    except InvalidInput:
        return
    assert after.sort == Sort()
    assert datetime.fromisoformat(after.created_at.replace("Z", "+00:00")).tzinfo is not None
    assert (
        decode_cursor(
            encode_cursor(Sort(), {"created_at": after.created_at, "job_id": after.job_id}), Sort()
        ).created_at
        == after.created_at
    )


def test_a_user_is_scoped_to_their_own_jobs() -> None:
    """No roles: only `user = me`."""
    assert scope_term(Principal.of("alice")) == Equals("user", ("alice",))


def test_a_project_admin_sees_their_projects_or_their_own_jobs() -> None:
    """`admin:P` roles: project in P, or the principal's own jobs."""
    scope = scope_term(Principal.of("alice", "admin:vision,admin:fraud"))
    assert scope == AnyOf((Equals("project", ("fraud", "vision")), Equals("user", ("alice",))))


def test_a_global_admin_is_not_restricted() -> None:
    """`admin`: no scope term at all."""
    assert scope_term(Principal.of("root", "admin,admin:vision")) is None
