"""Timing shared by the benchmarks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def check(condition: bool, problem: str) -> None:
    """Stop the benchmark, naming the problem, when what it measured went wrong."""
    if not condition:
        raise SystemExit(f"bench: {problem}")


def timed_runs(run: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls of `run`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux `/proc`): how much of the
    machine another process (Azurite) used during a measurement."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
