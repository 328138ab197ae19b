"""The local worker as the indexer's tests drive it: one `run_once` pass, a whole reconcile or a
fast-polling `watch`, over the adapters of a `Services` (the jobs they index come from
`tests.support.builders`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from indexer.reconcile import reconcile
from indexer.worker import RunSummary, run_once, watch
from shared.services import Services


def run_pass(
    services: Services,
    *,
    checkpoint: Path | None = None,
    workers: int | None = None,
    processes: int | None = None,
) -> RunSummary:
    """One `pipeline run --once` pass over the storage and index of `services`."""
    return run_once(
        services.blobs,
        services.index,
        services.clock,
        services.settings,
        workers=workers,
        processes=processes,
        checkpoint=checkpoint,
    )


def reconcile_all(services: Services) -> dict[str, int]:
    """One whole `pipeline reconcile` over the storage and index of `services`: its counts."""
    return reconcile(services.blobs, services.index, services.clock, services.settings)


def watch_until_stopped(
    services: Services,
    stop: threading.Event,
    *,
    on_pass: Callable[[str], None],
    on_idle: Callable[[], None] | None = None,
) -> None:
    """`watch` over `services`, polling every 10 ms until `stop` is set (by the callbacks)."""
    watch(
        services.blobs,
        services.index,
        services.clock,
        services.settings,
        stop,
        poll_seconds=0.01,
        on_pass=on_pass,
        on_idle=on_idle,
    )
