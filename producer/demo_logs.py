"""The JSON Lines log of a demo job, as pure data: what a real Ascend run logs, in order.

Start-up and dependency installation, then training epochs with `metrics` records
(`{"epoch": 3, "loss": 0.41, ...}`) among DEBUG chatter and occasional warnings and retried
errors, then the end the job's status implies (a crash with its `exception` for failed jobs: CUDA
out of memory, a missing module, a timeout, a shape mismatch or a network error, with the
varying parts real ones have, so that `ascend report failures` groups them into five
signatures).
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from shared.jobid import DependencySet, JobId
from shared.logrecords import JobContext, make_record
from shared.metadata import JobStatus

Entry = tuple[str, str, str, dict[str, Any]]  # level, logger, message, optional fields

MODULES = ("transformers", "torchvision", "xgboost", "peft", "flash_attn", "sentencepiece")
HOSTS = ("huggingface.co", "files.pythonhosted.org", "mlflow.internal", "storage.googleapis.com")


def _crash(rng: random.Random, job: JobId) -> tuple[str, str]:
    """(exception type, message) of a failed job: the handful of failures a platform sees
    most, each with the varying parts real ones have (sizes, names, shapes, addresses)."""
    roll = rng.random()
    if roll < 0.35:
        asked, total = rng.choice((20, 128, 512, 2048, 4096)), rng.choice((15.78, 39.39, 79.15))
        unit, size = ("GiB", f"{asked / 1024:.2f}") if asked >= 1024 else ("MiB", f"{asked:.2f}")
        return "torch.cuda.OutOfMemoryError", (
            f"CUDA out of memory. Tried to allocate {size} {unit}. GPU {rng.randint(0, 3)} has a "
            f"total capacity of {total} GiB of which {rng.uniform(0.01, 0.9):.2f} GiB is free."
        )
    if roll < 0.55:
        return "ModuleNotFoundError", f"No module named '{rng.choice(MODULES)}'"
    if roll < 0.7:
        return "TimeoutError", (
            f"job {job} exceeded its timeout of {rng.choice((1800, 3600, 7200))} s"
        )
    if roll < 0.85:
        batch, width = rng.choice((16, 32, 64)), rng.choice((512, 768))
        other, out = rng.choice((256, 1024)), rng.choice((2, 10, 1000))
        return "RuntimeError", (
            f"mat1 and mat2 shapes cannot be multiplied ({batch}x{width} and {other}x{out})"
        )
    return "requests.exceptions.ConnectionError", (
        f"HTTPSConnectionPool(host='{rng.choice(HOSTS)}', port=443): Max retries exceeded with "
        f"url: /api/v{rng.randint(1, 3)}/{rng.getrandbits(32):08x} (Caused by NewConnectionError("
        f"'<urllib3.connection.HTTPSConnection object at 0x{rng.getrandbits(48):x}>: Failed to "
        f"establish a new connection: [Errno 111] Connection refused'))"
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
        roll = rng.random()
        if roll < 0.25:
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
        elif roll < 0.9:
            entries.append(
                (
                    "DEBUG",
                    "ascend.user",
                    f"batch {rng.randint(1, 999)} done",
                    {"extra": {"samples": rng.choice((32, 64, 128))}},
                )
            )
        elif roll < 0.97:
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
