"""Partition messages and the time budget: pure, no storage."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.partitions import Budget, Partition, created_on, parse_partition, run_id, run_time
from shared.querytree import Compare


def test_a_partition_message_round_trips() -> None:
    """The message a timer queues names the same partition the worker parses."""
    part = Partition("sweep", "20261201T023000", "vision", date(2026, 11, 2))
    assert parse_partition(part.message()) == part
    assert part.marker == "_ascend/progress/sweep/20261201T023000/vision/20261102.json"


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_message_is_a_partition_or_a_one_line_refusal(text: str | bytes) -> None:
    """Whatever lands on the queue, the worker gets a partition or `InvalidInput`."""
    try:
        parse_partition(text)
    except InvalidInput as exc:
        refusal = str(exc)
    else:
        return
    assert "\n" not in refusal


@pytest.mark.parametrize(
    ("field", "value"),
    [("task", "delete"), ("project", "../x"), ("run", "a/b"), ("day", "2026-13-01")],
)
def test_a_message_with_a_bad_field_is_refused_naming_it(field: str, value: str) -> None:
    """A partition outside the layout (or an unknown task) is refused, never worked."""
    raw = {
        "task": "reconcile",
        "run": "20261201T013000",
        "project": "vision",
        "day": "2026-11-02",
        field: value,
    }
    with pytest.raises(InvalidInput):
        parse_partition(str(raw).replace("'", '"'))


def test_the_run_name_records_its_start_time() -> None:
    """The sweep's partitions all plan as of the timer's time, read back from the run name."""
    now = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    assert run_time(run_id(now)) == now


def test_a_day_is_a_utc_range_of_creation_times() -> None:
    """A partition's day is [midnight UTC, next midnight) of `created_at`."""
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    assert created_on(date(2026, 3, 1)) == (
        Compare("created_at", ">=", start),
        Compare("created_at", "<", end),
    )


def test_a_budget_is_spent_after_its_seconds() -> None:
    """The budget reads its clock; it is spent once the seconds have passed."""
    now = [100.0]
    budget = Budget.start(5, clock=lambda: now[0])
    assert not budget.spent
    now[0] = 105.0
    assert budget.spent
