"""The `SearchDocument` TypedDict and the field list `FIELDS` describe the same document."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from shared.documents import (
    FIELDS,
    FieldType,
    SearchDocument,
    empty_document,
    format_datetime,
    parse_datetime,
)

PYTHON_TYPES = {
    FieldType.STRING: str,
    FieldType.DATETIME: str,
    FieldType.BOOL: bool,
    FieldType.INT: int,
    FieldType.FLOAT: float,
    FieldType.STRINGS: list,
    FieldType.METRICS: dict,
}


def test_the_typed_dict_has_exactly_the_fields_of_the_field_list() -> None:
    """Same names, same order: a field added to one and not the other fails here."""
    assert list(typing.get_type_hints(SearchDocument)) == [f.name for f in FIELDS]


def test_each_field_has_the_python_type_of_its_field_type() -> None:
    """`use_gpu` is a bool (or None), `packages` a list, `metrics_last` a dict, and so on."""
    hints = typing.get_type_hints(SearchDocument)
    for spec in FIELDS:
        hint = hints[spec.name]
        kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        origins = {typing.get_origin(k) or k for k in kinds} - {type(None)}
        assert origins == {PYTHON_TYPES[spec.type]}, spec.name


def test_an_empty_document_has_every_field() -> None:
    """empty_document fills each field: lists empty, metrics {}, the rest None."""
    assert set(empty_document("x")) == {f.name for f in FIELDS}


@given(st.datetimes(timezones=st.timezones()))
def test_document_times_are_the_utc_isoformat_to_the_millisecond(moment: datetime) -> None:
    """`format_datetime` (%-formatting since ingest spends on it) writes what isoformat writes:
    the instant in UTC, milliseconds truncated, `Z`; and `parse_datetime` reads it back."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # a zone pushes year 1 or 9999 out of range: not a document time
        return
    text = format_datetime(moment)
    assert text == utc.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
    assert parse_datetime(text) == utc.replace(microsecond=utc.microsecond // 1000 * 1000)
