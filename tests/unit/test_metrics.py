"""Metrics lines, and the X axis ladder: one test per rung."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producer.metrics import XAxis, choose_x_axis, is_number, numeric_series, parse_metrics_line

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def test_a_line_that_is_one_json_object_is_a_metrics_line() -> None:
    """A JSON object line of numbers and strings (a training step) is metrics, every key kept."""
    line = '{"step": 151100, "lr": 0.07938926, "size": "big", "time": 16520}'
    assert parse_metrics_line(line) == {
        "step": 151100,
        "lr": 0.07938926,
        "size": "big",
        "time": 16520,
    }


@pytest.mark.parametrize(
    "line",
    [
        ' {"loss": 1}',
        '{"loss": 1} ',
        "loss: {'loss': 1}",
        "{'loss': 1}",  # a printed Python dict
        '{"loss": 1} {"acc": 2}',
        '[{"loss": 1}]',
        "{}",
        '{"loss": NaN}',
        "",
    ],
)
def test_anything_but_exactly_one_non_empty_object_is_not_metrics(line: str) -> None:
    """Surrounding space, other text, Python reprs, arrays and `{}` are plain lines."""
    assert parse_metrics_line(line) is None


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)


@given(st.dictionaries(st.text(max_size=8), json_scalars, min_size=1, max_size=6))
def test_any_printed_json_object_comes_back_whole(obj: dict[str, object]) -> None:
    """`print(json.dumps(d))` is a metrics line carrying exactly `d`."""
    assert parse_metrics_line(json.dumps(obj)) == obj


@given(st.text(max_size=60))
def test_any_text_is_metrics_or_not_without_failing(text: str) -> None:
    """Arbitrary output never makes metrics parsing fail."""
    result = parse_metrics_line(text)
    assert result is None or (isinstance(result, dict) and result)


def test_booleans_and_huge_numbers_are_not_numeric() -> None:
    """True is not 1 on a plot, and a number beyond float range cannot be drawn."""
    assert not is_number(True)
    assert not is_number(10**400)
    assert is_number(3)
    assert is_number(0.5)


def axis(*rows: Mapping[str, object]) -> str | None:
    return choose_x_axis(rows).key


def test_rung_1_progress_wins_over_everything() -> None:
    """A numeric `progress` is the X axis even when `epoch` and steps exist."""
    assert (
        axis(
            {"progress": 0.5, "epoch": 1, "a": 1, "loss": 2.0},
            {"progress": 0.2, "epoch": 2, "a": 2, "loss": 1.0},
        )
        == "progress"
    )


def test_rung_2_epoch_comes_next() -> None:
    """Without `progress`, `epoch` is the X axis even if another key increases."""
    assert axis({"epoch": 1, "a": 1, "loss": 2.0}, {"epoch": 1, "a": 2, "loss": 1.0}) == "epoch"


def test_rung_3_monotonically_increasing_integers() -> None:
    """An increasing integer key beats an increasing float key and an alphabetically earlier one."""
    rows = [
        {"step": 10, "t": 0.5, "b": 3, "loss": 2.0},
        {"step": 20, "t": 0.7, "b": 1, "loss": 1.5},
        {"step": 20, "t": 0.9, "b": 2, "loss": 1.0},
    ]
    assert axis(*rows) == "step"


def test_rung_4_monotonically_increasing_numbers() -> None:
    """With no increasing integers, an increasing float key is the X axis."""
    rows = [{"t": 0.5, "b": 3, "loss": 2.0}, {"t": 0.7, "b": 1, "loss": 1.5}]
    assert axis(*rows) == "t"


def test_rung_5_integers_of_any_monotonicity() -> None:
    """Integers that go up and down still beat floats."""
    rows = [{"b": 3, "loss": 2.0}, {"b": 1, "loss": 2.5}, {"b": 2, "loss": 0.1}]
    assert axis(*rows) == "b"


def test_rung_6_numbers_of_any_monotonicity() -> None:
    """Among floats that rise and fall, the first key alphabetically is chosen."""
    rows = [{"zeta": 3.5, "acc": 0.2}, {"zeta": 1.5, "acc": 0.1}]
    assert axis(*rows) == "acc"


def test_rung_7_any_numbers_when_some_values_are_not_numbers() -> None:
    """Keys whose values are only sometimes numbers come last, alphabetically among themselves."""
    rows: list[dict[str, object]] = [{"m": 1.0, "n": "warmup"}, {"m": None, "n": 2.0}]
    assert axis(*rows) == "m"
    assert choose_x_axis(rows).reason == "'m': some numbers"


def test_constant_integers_are_not_increasing() -> None:
    """A key that never changes (a batch size) does not beat a real step counter."""
    rows = [{"batch": 32, "step": 1, "loss": 2.0}, {"batch": 32, "step": 2, "loss": 1.0}]
    assert axis(*rows) == "step"


def test_time_when_nothing_fits() -> None:
    """No numbers, or a single numeric key, leaves time as the X axis."""
    assert axis({"phase": "train"}) is None
    assert axis({"loss": 2.0}, {"loss": 1.0}) is None
    assert axis() is None


def test_series_are_every_other_numeric_key_against_the_axis() -> None:
    """Each numeric metric except the X key becomes a series of points where both are numbers."""
    rows: list[tuple[datetime, dict[str, object]]] = [
        (T0, {"epoch": 1, "loss": 2.0, "acc": "n/a"}),
        (T0 + timedelta(seconds=1), {"epoch": 2, "loss": 1.0, "acc": 0.5}),
    ]
    series = numeric_series(rows, XAxis("epoch", 1))
    assert [(s.name, s.points) for s in series] == [
        ("acc", ((2.0, 0.5),)),
        ("loss", ((1.0, 2.0), (2.0, 1.0))),
    ]


def test_series_against_time_use_the_record_times() -> None:
    """With the time axis, x is each record's timestamp."""
    series = numeric_series([(T0, {"loss": 2.0})], XAxis(None))
    assert series[0].points == ((T0, 2.0),)


rows_strategy = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "epoch", "c"]), json_scalars, max_size=4), max_size=8
)


@given(rows_strategy)
def test_the_chosen_axis_always_leaves_something_to_plot(rows: list[dict[str, object]]) -> None:
    """Whatever the metrics, the X key is numeric somewhere and another numeric key exists."""
    chosen = choose_x_axis(rows).key
    numeric_keys = {k for row in rows for k, v in row.items() if is_number(v)}
    if chosen is None:
        assert len(numeric_keys) < 2
    else:
        assert chosen in numeric_keys
        assert len(numeric_keys) >= 2
