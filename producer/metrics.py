"""Metrics in job output: which stdout lines are metrics, and which of their keys is the X axis.

A stdout line is a metrics line when it is exactly one JSON object: no other text, no leading or
trailing space (printing a Python `dict` does not count). `{}` carries nothing and stays a plain
line. The object is kept whole in the record's `metrics` field; its numeric values (numbers, not
booleans) are what plots and `metrics_last` use.

The X axis of a plot follows the cluster logger's ladder; the first rung any key reaches wins,
alphabetical order breaks ties:

1. the key `progress`, 2. the key `epoch` (each when it has numeric values),
3. monotonically increasing integers, 4. monotonically increasing numbers,
5. integers, 6. numbers (all of the key's values), 7. any numbers (some values numeric).

"Monotonically increasing" means never decreasing and not constant. JSON `1.0` is a number, not
an integer. When fewer than two keys have numeric values there is nothing to plot against another
key, and the X axis is the records' time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

RUNGS = (
    "the key 'progress'",
    "the key 'epoch'",
    "monotonically increasing integers",
    "monotonically increasing numbers",
    "integers",
    "numbers",
    "some numbers",
)
TIME = "time"


def parse_metrics_line(line: str) -> dict[str, Any] | None:
    """The metrics object of a stdout line, or None when the line is not exactly one object."""
    if len(line) <= len("{}") or line[0] != "{" or line[-1] != "}":
        return None
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and value else None


def is_number(value: object) -> bool:
    """A finite JSON number (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


@dataclass(frozen=True, slots=True)
class XAxis:
    """The chosen X axis: a metric key and the rung that chose it, or time (key None)."""

    key: str | None
    rung: int | None = None

    @property
    def label(self) -> str:
        return TIME if self.key is None else self.key

    @property
    def reason(self) -> str:
        if self.key is None or self.rung is None:
            return "no metric fits, so time"
        return f"{self.key!r}: {RUNGS[self.rung]}"


def choose_x_axis(rows: Iterable[Mapping[str, Any]]) -> XAxis:
    """The X axis for these metrics objects (in log order), by the ladder above."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    rungs = {
        key: rung for key, values in columns.items() if (rung := _rung(key, values)) is not None
    }
    if len(rungs) <= 1:  # an X axis needs another series to plot against it
        return XAxis(None)
    key = min(rungs, key=lambda k: (rungs[k], k))
    return XAxis(key, rungs[key])


def _rung(key: str, values: Sequence[Any]) -> int | None:
    numbers = [v for v in values if is_number(v)]
    if not numbers:
        return None
    if key in {"progress", "epoch"}:
        return 0 if key == "progress" else 1
    if len(numbers) < len(values):
        return 6
    integers = all(isinstance(v, int) for v in numbers)
    if _increasing(numbers):
        return 2 if integers else 3
    return 4 if integers else 5


def _increasing(numbers: Sequence[float]) -> bool:
    never_decreasing = all(a <= b for a, b in itertools.pairwise(numbers))
    return never_decreasing and (len(numbers) == 1 or numbers[0] < numbers[-1])


@dataclass(frozen=True, slots=True)
class Series:
    """One numeric metric against the X axis: (x, y) points in log order."""

    name: str
    points: tuple[tuple[float | datetime, float], ...]


def numeric_series(
    points: Sequence[tuple[datetime, Mapping[str, Any]]], axis: XAxis
) -> list[Series]:
    """Every numeric metric except the X key, as points where both x and y are numbers."""
    names = sorted({k for _, row in points for k, v in row.items() if is_number(v)} - {axis.key})
    series = []
    for name in names:
        pairs = tuple(
            (when if axis.key is None else float(row[axis.key]), float(row[name]))
            for when, row in points
            if is_number(row.get(name)) and (axis.key is None or is_number(row.get(axis.key)))
        )
        if pairs:
            series.append(Series(name, pairs))
    return series
