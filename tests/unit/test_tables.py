"""The jobs table read at the widths people's terminals have: nothing cut, status always there."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from ascend_cli.tables import age, jobs_table, wrap_job_id
from tests.support.builders import NOW, make_job_id

LONGEST_USER = "grace_hopper_abc"  # 16 characters: the longest a user name may be


def _document(user: str, project: str, status: str, hours_ago: float) -> dict[str, Any]:
    job = make_job_id(user=user, project=project, created_at=NOW - timedelta(hours=hours_ago))
    return {
        "job_id": str(job),
        "status": status,
        "created_at": job.created_at.isoformat(),
        "function_name": "batch_inference",
        "node_type": "memory_large",
        "duration_seconds": 5400.0,
        "cost_usd": 12.5,
        "log_errors": 3,
    }


DOCUMENTS = [
    _document("alice", "recsys", "running", 0.5),
    _document(LONGEST_USER, "fraud_detection1", "failed", 30),
    _document("dave", "vision_lab", "completed", 24 * 20),
]


def _render(width: int) -> list[str]:
    out = Console(width=width, record=True, file=io.StringIO())
    out.print(jobs_table(DOCUMENTS, width=width, now=NOW))
    return out.export_text().splitlines()


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_no_cell_is_cut_and_no_line_is_wider_than_the_terminal(width: int) -> None:
    """At every common width no cell ends in an ellipsis and no line overflows the terminal."""
    lines = _render(width)
    assert all(len(line.rstrip()) <= width for line in lines)
    assert not any("…" in line for line in lines)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_job_shows_its_status_age_and_whole_id(width: int) -> None:
    """Each row shows the status and the age, and its job ID can be read back whole."""
    text = "\n".join(_render(width))
    joined = "".join(line.split()[0] if line.split() else "" for line in text.splitlines())
    for doc, status, shown_age in zip(
        DOCUMENTS, ("running", "failed", "completed"), ("30m", "1d", "2w"), strict=True
    ):
        assert doc["job_id"] in joined
        assert status in text
        assert shown_age in text


def test_at_120_columns_the_function_duration_and_cost_show() -> None:
    """A 120-column terminal has room for the function, the duration and the cost as well."""
    header = _render(120)[0].split()
    assert header[:4] == ["JOB", "ID", "STATUS", "AGE"]
    assert {"FUNCTION", "DURATION", "COST"} <= set(header)


def test_a_column_nobody_has_a_value_for_is_left_out() -> None:
    """Queued jobs have no cost: the COST column is not drawn empty."""
    queued = [{**DOCUMENTS[0], "cost_usd": None, "duration_seconds": None}]
    out = Console(width=200, record=True, file=io.StringIO())
    out.print(jobs_table(queued, width=200, now=NOW))
    assert "COST" not in out.export_text()


@given(
    st.lists(st.text("abcdefgh_0123456789", min_size=1, max_size=16), min_size=2, max_size=6).map(
        "-".join
    ),
    st.integers(min_value=8, max_value=70),
)
def test_a_wrapped_job_id_reads_back_whole(job_id: str, width: int) -> None:
    """Wrapping breaks after a '-' and never loses or adds a character."""
    lines = wrap_job_id(job_id, width).split("\n")
    assert "".join(lines) == job_id
    assert all(len(line) <= width for line in lines)


def test_age_uses_the_largest_whole_unit() -> None:
    """Ages read like `kubectl get`: 45s, 12m, 5h, 3d, 3w."""
    shown = [
        age(NOW - delta, NOW)
        for delta in (
            timedelta(seconds=45),
            timedelta(minutes=12),
            timedelta(hours=5),
            timedelta(days=3),
            timedelta(days=21),
        )
    ]
    assert shown == ["45s", "12m", "5h", "3d", "3w"]
