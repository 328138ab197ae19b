"""The Functions host's part in the partition queue, for tests: output bindings and delivery.

`Binding` is what the host hands a function for a `queue_output` (the library's own abstract
`azure.functions.Out`, as the Python worker implements it); `QueueHost` delivers messages to the
queue-triggered function one at a time as real `azure.functions.QueueMessage`s, puts what it
outputs back on the queue, retries a message whose invocation raised (up to `max_dequeue`, then
the poison queue), and counts invocations: the host's documented behaviour, minus the storage.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import azure.functions as func

T = TypeVar("T")


class Binding(func.Out[T]):
    """An output binding: the value a function set, if any."""

    def __init__(self) -> None:
        self.value: T | None = None

    def set(self, val: T) -> None:
        self.value = val

    def get(self) -> T:
        assert self.value is not None
        return self.value


@dataclass
class QueueHost:
    """A queue and the queue-triggered function it feeds."""

    function: Callable[..., Any]
    max_dequeue: int = 5
    queue: deque[tuple[str, int]] = field(default_factory=deque)
    poison: list[str] = field(default_factory=list)
    invocations: int = 0
    errors: list[BaseException] = field(default_factory=list)

    def put(self, messages: list[str] | str | None) -> None:
        if messages is None:
            return
        for message in [messages] if isinstance(messages, str) else messages:
            self.queue.append((message, 0))

    def drain(self, limit: int = 1000) -> int:
        """Deliver until the queue is empty; the number of invocations it took."""
        start = self.invocations
        while self.queue and self.invocations - start < limit:
            message, tries = self.queue.popleft()
            again: Binding[str] = Binding()
            self.invocations += 1
            try:
                self.function(func.QueueMessage(id=str(self.invocations), body=message), again)
            except Exception as exc:
                self.errors.append(exc)
                if tries + 1 >= self.max_dequeue:
                    self.poison.append(message)
                else:
                    self.queue.append((message, tries + 1))
                continue
            self.put(again.value)
        return self.invocations - start
