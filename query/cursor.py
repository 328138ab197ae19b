"""Opaque, stable page cursors: base64 of the last row's (sort value, created_at, job_id).

A cursor turns into an `After` keyset term, never an offset, so jobs indexed between two pages
neither shift nor repeat results. Cursors come back from users: everything in one is checked
(type per field, times parse) before it reaches a compiler.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from query.ast import After, Sort
from shared.documents import FIELD_BY_NAME, FieldType, parse_datetime
from shared.errors import InvalidInput

if TYPE_CHECKING:
    from query._cursor_payload import Payload

MAX_CURSOR_CHARS = 4096
_NUMERIC = {FieldType.INT, FieldType.FLOAT}


def encode_cursor(sort: Sort, document: Mapping[str, Any]) -> str:
    """The cursor after `document` in `sort`."""
    payload = {
        "s": sort.field,
        "d": sort.descending,
        "v": document.get(sort.field),
        "c": document["created_at"],
        "j": document["job_id"],
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(text: str, sort: Sort) -> After:
    """The keyset term of a cursor made for `sort`, or `InvalidInput` naming the problem."""
    payload = _payload(text)
    if (payload.s, payload.d) != (sort.field, sort.descending):
        raise InvalidInput("cursor", "it belongs to a search with another sort order")
    _check_value(sort.field, payload.v)
    _check_time(payload.c)
    return After(sort, payload.v, payload.c, payload.j)


def _payload(text: str) -> Payload:
    from pydantic import ValidationError

    from query._cursor_payload import Payload

    if len(text) > MAX_CURSOR_CHARS:
        raise InvalidInput("cursor", "too long to be a cursor of this search")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return Payload.model_validate(orjson.loads(raw))
    except (binascii.Error, ValueError, ValidationError, orjson.JSONDecodeError):
        raise InvalidInput("cursor", "not a cursor printed by a search") from None


def _check_value(field: str, value: object) -> None:
    kind = FIELD_BY_NAME[field].type
    if value is None:
        return
    if kind in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise InvalidInput("cursor", f"its {field} value is out of range")
        return
    if kind is FieldType.DATETIME and isinstance(value, str):
        _check_time(value)
        return
    if kind is FieldType.STRING and isinstance(value, str):
        return
    raise InvalidInput("cursor", f"its {field} value has the wrong type")


def _check_time(text: str) -> None:
    try:
        parse_datetime(text)
    except ValueError:
        raise InvalidInput("cursor", f"{text[:40]!r} is not a time") from None
