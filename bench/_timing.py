"""Timing shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed_runs(run: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of `repeat` calls of `run`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times
