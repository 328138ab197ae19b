"""Tailing a running job's log over HTTP without taking the server down.

A follow stream lives as long as its job runs. Served as a plain sync generator, each one holds
one of the server's worker threads for its whole life (sleeping between polls) and keeps polling
after its client has left: 45 of them froze `ascend serve` for everyone. Here:

- `FollowGate` bounds open streams per caller and in total; one over the bound is refused (429)
  at once, before anything is read;
- the stream is async: each poll step (and its wait) runs on a thread of the follow streams'
  own pool, bounded like the streams, never on the pool that answers other requests;
- when the client disconnects the response is cancelled: the stop flag ends the poll loop within
  one poll, and the gate's slot is released.

`follow_body` is what the API's logs route (and any other tail, e.g. the dashboard's) returns.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.to_thread

from shared.errors import AscendError

MAX_PER_CALLER = 4
MAX_TOTAL = 32


class TooManyStreams(AscendError):
    """A caller (or the server) has as many follow streams open as allowed."""


class FollowGate:
    """Counts open follow streams, per caller and in all; thread-safe."""

    def __init__(self, per_caller: int = MAX_PER_CALLER, total: int = MAX_TOTAL) -> None:
        self.per_caller, self.total = per_caller, total
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.threads = anyio.CapacityLimiter(total)

    def enter(self, caller: str) -> None:
        """Take a slot for `caller`, or `TooManyStreams` saying which bound was reached."""
        with self._lock:
            if self._open[caller] >= self.per_caller:
                raise TooManyStreams(
                    f"{caller} already follows {self.per_caller} logs: close "
                    "one or read without follow"
                )
            if self._open.total() >= self.total:
                raise TooManyStreams(
                    f"the server already serves {self.total} follow streams: "
                    "try again later or read without follow"
                )
            self._open[caller] += 1

    def leave(self, caller: str) -> None:
        with self._lock:
            self._open[caller] -= 1
            if self._open[caller] <= 0:
                del self._open[caller]

    def open_streams(self) -> int:
        with self._lock:
            return self._open.total()


_DONE = object()


async def follow_body(
    gate: FollowGate, caller: str, source: Iterator[bytes], stop: threading.Event
) -> AsyncIterator[bytes]:
    """The body of one follow response: `source` (a poll loop that ends soon once `stop` is set)
    stepped on the gate's threads until it ends or the client leaves (the response is
    cancelled); the slot (taken by the caller with `gate.enter`) is always given back."""
    try:
        while True:
            item = await anyio.to_thread.run_sync(
                next, source, _DONE, limiter=gate.threads, abandon_on_cancel=True
            )
            if not isinstance(item, bytes):  # _DONE: the source is exhausted
                return
            yield item
    finally:
        stop.set()  # the poll loop, if a thread is still in it, ends within one poll
        gate.leave(caller)
