"""The JSON Lines log of a demo job, as pure data: what a real Ascend run logs, in order.

Start-up and dependency installation, then training epochs with `metrics` records
(`{"epoch": 3, "loss": 0.41, ...}`) among DEBUG chatter and occasional warnings and retried
errors, then the end the job's status implies (a crash with its `exception` for failed jobs: CUDA
out of memory, a missing module, a timeout, a shape mismatch or a network error, with the
varying parts real ones have, so that `ascend report failures` groups them into five
signatures).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.jobid import DependencySet, JobId
from shared.logrecords import JobContext, make_record
from shared.metadata import JobStatus

_MIB_PER_GIB = 1024
# A training log's lines, drawn one at a time: the band of a uniform draw picks the kind.
_TRAINING_LINES = ("epoch", "batch", "warning", "error")
_TRAINING_BANDS = (0.25, 0.9, 0.97)  # upper bounds: 25% epochs, 65% batches, 7% warnings
_CRASH_BANDS = (0.35, 0.55, 0.7, 0.85)  # upper bounds of the failures in `_CRASHES`, in order


def band(draw: float, bounds: Sequence[float]) -> int:
    """Which of the bands split at the rising `bounds` a draw in [0, 1) falls in (0 to
    len(bounds)): the weighted choice of the demo data, one draw each."""
    return bisect.bisect_right(bounds, draw)


def chance(rng: random.Random, probability: float) -> bool:
    """True with `probability` (one draw of `rng`)."""
    return rng.random() < probability


Entry = tuple[str, str, str, dict[str, Any]]  # level, logger, message, optional fields

MODULES = ("transformers", "torchvision", "xgboost", "peft", "flash_attn", "sentencepiece")
HOSTS = ("huggingface.co", "files.pythonhosted.org", "mlflow.internal", "storage.googleapis.com")


def _crash(rng: random.Random, job: JobId) -> tuple[str, str]:
    """(exception type, message) of a failed job: the handful of failures a platform sees
    most, each with the varying parts real ones have (sizes, names, shapes, addresses)."""
    crash = _CRASHES[band(rng.random(), _CRASH_BANDS)]
    return crash(rng, job)


def _out_of_memory(rng: random.Random, job: JobId) -> tuple[str, str]:
    asked, total = rng.choice((20, 128, 512, 2048, 4096)), rng.choice((15.78, 39.39, 79.15))
    in_gib = asked >= _MIB_PER_GIB
    unit, size = ("GiB", f"{asked / _MIB_PER_GIB:.2f}") if in_gib else ("MiB", f"{asked:.2f}")
    return "torch.cuda.OutOfMemoryError", (
        f"CUDA out of memory. Tried to allocate {size} {unit}. GPU {rng.randint(0, 3)} has a "
        f"total capacity of {total} GiB of which {rng.uniform(0.01, 0.9):.2f} GiB is free."
    )


def _missing_module(rng: random.Random, job: JobId) -> tuple[str, str]:
    return "ModuleNotFoundError", f"No module named '{rng.choice(MODULES)}'"


def _timeout(rng: random.Random, job: JobId) -> tuple[str, str]:
    return "TimeoutError", f"job {job} exceeded its timeout of {rng.choice((1800, 3600, 7200))} s"


def _shapes(rng: random.Random, job: JobId) -> tuple[str, str]:
    batch, width = rng.choice((16, 32, 64)), rng.choice((512, 768))
    other, out = rng.choice((256, 1024)), rng.choice((2, 10, 1000))
    return "RuntimeError", (
        f"mat1 and mat2 shapes cannot be multiplied ({batch}x{width} and {other}x{out})"
    )


def _connection_refused(rng: random.Random, job: JobId) -> tuple[str, str]:
    return "requests.exceptions.ConnectionError", (
        f"HTTPSConnectionPool(host='{rng.choice(HOSTS)}', port=443): Max retries exceeded with "
        f"url: /api/v{rng.randint(1, 3)}/{rng.getrandbits(32):08x} (Caused by NewConnectionError("
        f"'<urllib3.connection.HTTPSConnection object at 0x{rng.getrandbits(48):x}>: Failed to "
        f"establish a new connection: [Errno 111] Connection refused'))"
    )


# The failures a platform sees most, each with the varying parts real ones have.
_CRASHES: tuple[Callable[[random.Random, JobId], tuple[str, str]], ...] = (
    _out_of_memory,
    _missing_module,
    _timeout,
    _shapes,
    _connection_refused,
)


WARNINGS = (
    "Package not found in cache, using fallback index",
    "GPU memory usage at 91%",
    "Learning rate scheduler step called before optimizer step",
    "Dataset has 12 duplicate rows; keeping the first",
)


def plan_log(
    rng: random.Random,
    job: JobId,
    *,
    function_name: str,
    deps: DependencySet,
    node_type: str,
    status: JobStatus,
    start: datetime,
    end: datetime,
) -> tuple[dict[str, Any], ...]:
    """10-200 records between `start` and `end`, ending as `status` implies."""
    total = rng.randint(10, 200)
    head = _startup(job, function_name, deps, node_type)
    tail = _ending(rng, status, job)
    body = _training(rng, max(total - len(head) - len(tail), 1))
    entries = (head + body + tail)[:total] if status is JobStatus.RUNNING else head + body + tail
    context = JobContext(job_id=str(job), user=job.user, project=job.project)
    step = (end - start) / max(len(entries), 1)
    return tuple(
        make_record(
            context, level=level, logger=logger, message=message, when=start + step * i, **optional
        )
        for i, (level, logger, message, optional) in enumerate(entries)
    )


def _startup(job: JobId, function_name: str, deps: DependencySet, node_type: str) -> list[Entry]:
    names = [p.split("==")[0].split("[")[0] for p in deps.packages]
    entries: list[Entry] = [
        (
            "INFO",
            "ascend.runner",
            "Job started",
            {
                "context": {
                    "function_name": function_name,
                    "node_type": node_type,
                    "namespace": f"ascend-users-{job.user}",
                }
            },
        ),
        (
            "INFO",
            "ascend.runner.deps",
            f"Installing {len(names)} dependencies",
            {"context": {"packages": names}},
        ),
    ]
    entries += [("DEBUG", "ascend.runner.deps", f"Installed {p}", {}) for p in deps.packages]
    entries.append(
        ("INFO", "ascend.runner.executor", f"Calling {function_name}", {"duration_ms": 1200.0})
    )
    return entries


def _training(rng: random.Random, count: int) -> list[Entry]:
    entries: list[Entry] = []
    loss, accuracy, epoch = rng.uniform(1.5, 3.0), rng.uniform(0.2, 0.5), 0
    while len(entries) < count:
        kind = _TRAINING_LINES[band(rng.random(), _TRAINING_BANDS)]
        if kind == "epoch":
            epoch += 1
            loss *= rng.uniform(0.7, 0.97)
            accuracy = min(accuracy + rng.uniform(0.0, 0.06), 0.995)
            entries.append(
                (
                    "INFO",
                    "ascend.user",
                    f"epoch {epoch} finished",
                    {
                        "metrics": {
                            "epoch": epoch,
                            "loss": round(loss, 4),
                            "accuracy": round(accuracy, 4),
                        },
                        "duration_ms": round(rng.uniform(2000, 90000), 1),
                    },
                )
            )
        elif kind == "batch":
            entries.append(
                (
                    "DEBUG",
                    "ascend.user",
                    f"batch {rng.randint(1, 999)} done",
                    {"extra": {"samples": rng.choice((32, 64, 128))}},
                )
            )
        elif kind == "warning":
            entries.append(("WARNING", "ascend.user", rng.choice(WARNINGS), {}))
        else:
            entries.append(
                (
                    "ERROR",
                    "ascend.runner.storage",
                    "Failed to upload checkpoint, retrying",
                    {
                        "exception": _exception(
                            "ConnectionResetError", "[Errno 104] Connection reset by peer"
                        )
                    },
                )
            )
    return entries


def _ending(rng: random.Random, status: JobStatus, job: JobId) -> list[Entry]:
    if status is JobStatus.COMPLETED:
        return [
            (
                "INFO",
                "ascend.runner.executor",
                "Function returned",
                {"duration_ms": round(rng.uniform(1000, 5000), 1)},
            ),
            ("INFO", "ascend.runner", "Job completed", {}),
        ]
    if status is JobStatus.FAILED:
        kind, message = _crash(rng, job)
        return [
            (
                "ERROR",
                "ascend.runner.executor",
                "Function raised an exception",
                {"exception": _exception(kind, message)},
            ),
            ("CRITICAL", "ascend.runner", "Function crashed", {}),
        ]
    if status is JobStatus.CANCELLED:
        return [("WARNING", "ascend.runner", "Received SIGTERM: job cancelled", {})]
    return []


def _exception(kind: str, message: str) -> dict[str, str]:
    stack = (
        "Traceback (most recent call last):\n"
        '  File "/workspace/run.py", line 42, in main\n    result = fn(*args, **kwargs)\n'
        f"{kind}: {message}\n"
    )
    return {"type": kind, "message": message, "stacktrace": stack}
