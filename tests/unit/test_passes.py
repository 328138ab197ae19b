"""The watching worker's lines: each busy pass with its time, then `caught up` once."""

from __future__ import annotations

from datetime import datetime

from ascend_cli.passes import PassReporter

AT = datetime(2026, 3, 14, 12, 30, 5)


def test_busy_passes_are_timed_and_caught_up_is_said_once_per_backlog() -> None:
    """Idle after work says `caught up` once; more idle passes stay quiet until new work."""
    lines: list[str] = []
    report = PassReporter(lines.append, clock=lambda: AT)
    report.on_pass("pipeline: indexed 200")
    report.on_idle()
    report.on_idle()
    report.on_pass("pipeline: indexed 1")
    report.on_idle()
    assert lines == [
        "12:30:05 pipeline: indexed 200",
        "12:30:05 pipeline: caught up, every event so far is indexed; watching for more",
        "12:30:05 pipeline: indexed 1",
        "12:30:05 pipeline: caught up, every event so far is indexed; watching for more",
    ]


def test_an_empty_container_is_caught_up_at_the_first_pass() -> None:
    """Started with nothing to do, the worker says so at once instead of staying silent."""
    lines: list[str] = []
    PassReporter(lines.append, clock=lambda: AT).on_idle()
    assert lines[0].endswith("caught up, every event so far is indexed; watching for more")
