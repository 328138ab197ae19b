"""Retries for both Azure adapters (Blob Storage, AI Search): one policy, one transient set.

Every SDK call an adapter makes goes through `AzureRetry.call`: the SDK's exception is translated
by the adapter's own function into the project's tree (`shared.errors`), and what is a
`TransientError` is retried with tenacity, within bounded attempts and time, with jittered
exponential backoff, or after the service's Retry-After when it sent one (`Throttled`). The
SDKs' own retries are turned off by the adapters, so nothing is retried twice over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from azure.core.exceptions import AzureError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from shared.errors import TransientError

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Throttled(TransientError):
    """A transient answer; `retry_after` is the service's Retry-After in seconds, if it sent one."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class AzureRetry:
    """Bounded retries: attempts and total time; Retry-After honoured up to `max_retry_after`."""

    attempts: int = 6
    max_seconds: float = 60.0
    base: float = 0.2
    cap: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def run(self, call: Callable[[], T]) -> T:
        """`call()`, again after each `TransientError` until the bounds are reached (not after
        one that says retrying at once cannot help, such as a refused connection)."""
        retrying = Retrying(
            retry=retry_if_exception(_worth_retrying),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(call)

    def call(
        self, what: str, call: Callable[[], T], translate: Callable[[str, AzureError], Exception]
    ) -> T:
        """`run` of an SDK call whose exceptions `translate` turns into the project's."""

        def once() -> T:
            try:
                return call()
            except AzureError as exc:
                raise translate(what, exc) from exc

        return self.run(once)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Throttled) and exc.retry_after is not None:
            return float(min(exc.retry_after, self.max_retry_after))
        return float(wait_random_exponential(multiplier=self.base, max=self.cap)(state))


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, TransientError) and exc.retry_at_once


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (seconds or
    an HTTP date), or None when the answer carries none that parses."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in lowered:
            try:
                return max(0.0, float(lowered[name]) / 1000)
            except ValueError:
                pass
    text = lowered.get("retry-after")
    if text is None:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def first_line(exc: Exception) -> str:
    """The SDK exception's message, one line, at most 300 characters (for one-line errors)."""
    text = str(getattr(exc, "message", None) or exc).strip().removeprefix("()").strip()
    return " ".join(text.splitlines()[0].split())[:300] if text else type(exc).__name__
