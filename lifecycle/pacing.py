"""Keeping the sweep's storage requests under a budget: a `BlobStore` that takes a permit first.

Azure's published targets for a standard (GPv2) account: 20,000 requests a second for the whole
account and about 500 a second for one blob; Set Blob Tier and Delete Blob count like any other
request. Past a target storage answers `503 ServerBusy` (or `500 OperationTimedOut`), which the
adapter retries after the answer's Retry-After with bounded, jittered backoff. The sweep shares
the account with the live pipeline, so it keeps to a budget of its own
(`ASCEND_SWEEP_REQUESTS_PER_SECOND`, default 1,000, a twentieth of the account's target) with a
bounded number of jobs in flight (`ASCEND_SWEEP_CONCURRENCY`, default 8). Each action touches its
own blob (two or three requests at most), so no blob comes near its own target.

`paced(blobs, per_second)` wraps the port: every method call (one request, or one listing page
stream) first takes a permit from a pyrate-limiter sliding window, shared by the sweep's threads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from pyrate_limiter import Duration, Limiter, Rate

from shared.ports import BlobStore

WINDOWS_PER_SECOND = 10  # permits are spread over tenths of a second, not granted in one burst


class PacedBlobs:
    """`blobs` with at most `per_second` calls a second across every thread that uses it."""

    def __init__(self, blobs: BlobStore, per_second: int) -> None:
        self._blobs = blobs
        self.per_second = per_second
        window = max(1, per_second // WINDOWS_PER_SECOND)  # permits per interval
        interval_ms = max(1, int(Duration.SECOND) * window // per_second)
        self._limiter = Limiter(Rate(window, interval_ms), buffer_ms=1)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._blobs, name)
        if not callable(attribute):
            return attribute
        return self._paced(attribute)

    def _paced(self, call: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(call)
        def after_a_permit(*args: Any, **kwargs: Any) -> Any:
            self._limiter.try_acquire("storage")
            return call(*args, **kwargs)

        return after_a_permit


def paced(blobs: BlobStore, per_second: int | None) -> BlobStore:
    """`blobs` kept under `per_second` requests a second (None or 0: as it is)."""
    if not per_second:
        return blobs
    return cast(BlobStore, PacedBlobs(blobs, per_second))
