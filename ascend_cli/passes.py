"""What the watching pipeline worker prints: each busy pass with its time, and `caught up` once
the events so far are all handled (so after `demo seed` one knows when indexing is done)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime


class PassReporter:
    """`on_pass`/`on_idle` for `indexer.worker.watch`, writing timed lines to a stream."""

    def __init__(
        self,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self._write = write or (lambda line: print(line, file=sys.stdout, flush=True))
        self._clock = clock
        self._busy = True  # the first idle pass says the backlog at start is done

    def on_pass(self, line: str) -> None:
        self._write(f"{self._clock():%H:%M:%S} {line}")
        self._busy = True

    def on_idle(self) -> None:
        if self._busy:
            self._write(
                f"{self._clock():%H:%M:%S} pipeline: caught up, every event so far is "
                "indexed; watching for more"
            )
            self._busy = False
