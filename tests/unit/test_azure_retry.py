"""The adapters' retry policy: transient failures are retried within bounds, a refused
connection is not (nothing listens: retrying at once cannot change it)."""

from __future__ import annotations

import pytest

from shared.adapters.azure_retry import AzureRetry
from shared.errors import StorageAbsent, StorageUnreachable, TransientError


def _failing(error: Exception, calls: list[int]) -> object:
    def call() -> None:
        calls.append(1)
        raise error

    return call


@pytest.mark.parametrize(
    ("error", "attempts"),
    [
        (StorageAbsent("nothing listens at 127.0.0.1:10000"), 1),
        (StorageUnreachable("no answer from the host"), 4),
        (TransientError("HTTP 503"), 4),
    ],
)
def test_a_refused_connection_fails_at_once_other_transient_errors_are_retried(
    error: Exception, attempts: int
) -> None:
    """StorageAbsent is raised after one call; the others after every allowed attempt."""
    calls: list[int] = []
    policy = AzureRetry(attempts=4, sleep=lambda _: None)
    with pytest.raises(type(error)):
        policy.run(_failing(error, calls))  # type: ignore[arg-type]
    assert len(calls) == attempts
