"""One pipeline worker per index: a lock file next to the index, held while the worker runs.

A second `make run` or `ascend pipeline run` on the same index (and so the same checkpoint) is
refused in one line instead of racing the first one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.errors import AscendError


class WorkerRunning(AscendError):
    """Another process already runs the pipeline worker on this index."""


def lock_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".worker.lock")


@contextmanager
def worker_lock(index_path: Path) -> Iterator[None]:
    """Hold the worker lock of `index_path` for the block, or raise `WorkerRunning` naming the
    process that holds it. The OS drops the lock when the holder exits, even on a crash."""
    path = lock_path(index_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkerRunning(
                f"a pipeline worker already runs on {index_path} (pid {holder}, "
                f"lock {path}): stop it first, or set ASCEND_INDEX_PATH"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
