"""Metrics for the dashboard: records out of a streamed log, chart data against the X axis
`producer.metrics.choose_x_axis` picks (the CLI's rule: `progress`, then `epoch`, then a
monotonically increasing key, then any numeric one, else time), downsampled for drawing, and CSV.

Charts draw at most a few thousand points: a long series is cut into X buckets (one per pixel
column or so) and each bucket keeps its first and last X with every series' minimum and maximum,
in the order they occurred, so spikes survive. The downloads keep every raw record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from producer.metrics import TIME, XAxis, choose_x_axis, is_number
from shared.logrecords import MAX_LINE_BYTES

Record = dict[str, Any]
Row = tuple[float, dict[str, float]]
TABLE_ROWS = 500
BUCKETS = 1000
_MARK = b'"metrics":{'
_FORMULA = ("=", "+", "-", "@")


def metrics_records(chunks: Iterable[bytes]) -> Iterator[Record]:
    """The log's records that carry a non-empty `metrics` object, in log order. Each chunk is
    searched for the `"metrics":{` bytes; only the lines holding them are cut out and parsed."""
    for line in _marked_lines(chunks):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if (
            isinstance(record, dict)
            and isinstance(record.get("metrics"), dict)
            and record["metrics"]
        ):
            yield record


def _marked_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The complete lines (and a last unterminated one) that contain `_MARK`, in order."""
    pending, oversized = b"", False
    for chunk in chunks:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if not oversized:
                pending += chunk
            if len(pending) > MAX_LINE_BYTES:  # never a metrics line: drop it, memory stays flat
                pending, oversized = b"", True
            continue
        # after a dropped line, its rest ends at this chunk's first newline
        start = chunk.find(b"\n") + 1 if oversized else 0
        block = chunk[start : cut + 1] if oversized else pending + chunk[: cut + 1]
        pending, oversized = chunk[cut + 1 :], False
        yield from _lines_with_mark(block)
    if pending and not oversized:
        yield from _lines_with_mark(pending + b"\n")


def _lines_with_mark(block: bytes) -> Iterator[bytes]:
    """Lines of `block` (which ends with a newline) that hold `_MARK`."""
    at = block.find(_MARK)
    while at >= 0:
        start = block.rfind(b"\n", 0, at) + 1
        end = block.find(b"\n", at)
        yield block[start:end]
        at = block.find(_MARK, end)


def epoch_seconds(text: object) -> float | None:
    """An ISO timestamp as Unix seconds (what the charts' time axis takes), None if invalid."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Chart:
    """Aligned columns for one chart: `xs` ascending and one Y column per series (None: gap)."""

    x: str
    series: tuple[str, ...]
    xs: list[float]
    ys: list[list[float | None]]

    def as_json(self) -> dict[str, Any]:
        return {"x": self.x, "series": list(self.series), "data": [self.xs, *self.ys]}


def numeric_keys(records: Sequence[Record]) -> list[str]:
    """Every key with at least one numeric value, sorted."""
    return sorted({k for r in records for k, v in r["metrics"].items() if is_number(v)})


def x_axis(records: Sequence[Record], chosen: str | None, keys: Sequence[str]) -> XAxis:
    """The X axis `choose_x_axis` picks, or the one the reader chose (`time` or one of the
    numeric `keys`)."""
    if chosen == TIME:
        return XAxis(None)
    if chosen and chosen in keys:
        return XAxis(chosen)
    return choose_x_axis(r["metrics"] for r in records)


def rows_against(records: Sequence[Record], axis: XAxis) -> list[Row]:
    """(x, numeric values) per record with a numeric x, sorted by x (stable)."""
    rows: list[Row] = []
    for record in records:
        values = record["metrics"]
        x = epoch_seconds(record.get("timestamp")) if axis.key is None else values.get(axis.key)
        if x is None or not is_number(x):
            continue
        rows.append(
            (float(x), {k: float(v) for k, v in values.items() if k != axis.key and is_number(v)})
        )
    rows.sort(key=lambda row: row[0])
    return rows


def chart(records: Sequence[Record], axis: XAxis, *, buckets: int = BUCKETS) -> Chart:
    """Every numeric series of `records` against `axis`, downsampled to about 2×`buckets`."""
    rows = rows_against(records, axis)
    names = tuple(sorted({k for _, values in rows for k in values}))
    return columns(downsample(rows, names, buckets), axis.label, names)


def columns(rows: Sequence[Row], x: str, names: Sequence[str]) -> Chart:
    """Rows as uPlot's aligned columns."""
    return Chart(
        x, tuple(names), [r[0] for r in rows], [[r[1].get(name) for r in rows] for name in names]
    )


def downsample(rows: Sequence[Row], names: Sequence[str], buckets: int) -> list[Row]:
    """At most 2 rows per X bucket: the bucket's first and last X, each series' min and max
    in the order they came (rows already sorted by x). Short inputs come back unchanged."""
    if len(rows) <= 2 * buckets:
        return list(rows)
    low, high = rows[0][0], rows[-1][0]
    width = (high - low) / buckets or 1.0
    groups: dict[int, list[Row]] = {}
    for row in rows:
        groups.setdefault(min(int((row[0] - low) / width), buckets - 1), []).append(row)
    out: list[Row] = []
    for group in groups.values():
        out.extend(_envelope(group, names))
    return out


def _envelope(group: Sequence[Row], names: Sequence[str]) -> list[Row]:
    if len(group) <= len(("first", "last")):  # already only its ends
        return list(group)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for name in names:
        seen = [(i, values[name]) for i, (_, values) in enumerate(group) if name in values]
        if not seen:
            continue
        low = min(seen, key=lambda p: p[1])
        high = max(seen, key=lambda p: p[1])
        early, late = sorted((low, high))
        first[name], last[name] = early[1], late[1]
    return [(group[0][0], first), (group[-1][0], last)]


def table(records: Sequence[Record], limit: int = TABLE_ROWS) -> dict[str, Any]:
    """The newest `limit` records, newest first, as columns and rows of values."""
    keys = list(dict.fromkeys(k for r in records for k in r["metrics"]))
    newest = list(reversed(records[-limit:]))
    return {
        "columns": keys,
        "total": len(records),
        "rows": [
            {"timestamp": r.get("timestamp"), "values": [r["metrics"].get(k) for k in keys]}
            for r in newest
        ],
    }


def payload(records: Sequence[Record], chosen: str | None = None) -> dict[str, Any]:
    """What the job page's metrics section draws: the chart, the X choices, the table."""
    keys = numeric_keys(records)
    axis = x_axis(records, chosen, keys)
    return {
        "x": axis.label,
        "x_reason": axis.reason,
        "x_choices": [TIME, *keys],
        "points": len(records),
        "chart": chart(records, axis).as_json(),
        "table": table(records),
    }


def csv_text(records: Iterable[Mapping[str, Any]]) -> str:
    """Every record as one CSV row: timestamp, then every key seen (first-seen order)."""
    records = list(records)
    keys = list(dict.fromkeys(k for r in records for k in r["metrics"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", *keys])
    for record in records:
        values = record["metrics"]
        writer.writerow([record.get("timestamp", ""), *(_csv_cell(values.get(k)) for k in keys)])
    return out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if is_number(value):
        return str(value)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    # A spreadsheet runs a cell starting with = + - @ as a formula: keep it text.
    return "'" + text if text[:1] in _FORMULA else text


# ---- compare -----------------------------------------------------------------------------


def compare(per_job: Mapping[str, Sequence[Record]], *, buckets: int = 300) -> dict[str, Any]:
    """One chart per metric, one series per job. The X is the key every job's own rule picks
    when they agree; otherwise time, as seconds since each job's first metrics record."""
    keys = {
        choose_x_axis(r["metrics"] for r in records).key for records in per_job.values() if records
    }
    axis = XAxis(keys.pop() if len(keys) == 1 else None)
    rows = {job: _rows_for_compare(records, axis, buckets) for job, records in per_job.items()}
    names = sorted({k for job_rows in rows.values() for _, values in job_rows for k in values})
    charts = [_overlay(name, rows, axis) for name in names]
    return {
        "x": axis.label,
        "charts": [c.as_json() | {"metric": n} for n, c in zip(names, charts, strict=True)],
    }


def _rows_for_compare(records: Sequence[Record], axis: XAxis, buckets: int) -> list[Row]:
    rows = rows_against(records, axis)
    if axis.key is None and rows:
        start = rows[0][0]
        rows = [(x - start, values) for x, values in rows]
    names = sorted({k for _, values in rows for k in values})
    return downsample(rows, names, buckets)


def _overlay(name: str, rows: Mapping[str, Sequence[Row]], axis: XAxis) -> Chart:
    jobs = list(rows)
    at: dict[float, list[float | None]] = {}
    for i, job in enumerate(jobs):
        for x, values in rows[job]:
            if name in values:
                at.setdefault(x, [None] * len(jobs))[i] = values[name]
    xs = sorted(at)
    return Chart(axis.label, tuple(jobs), xs, [[at[x][i] for x in xs] for i in range(len(jobs))])
