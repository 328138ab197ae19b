"""Jobs for the dashboard's tests: metrics logs whose X axis each rung of
`producer.metrics.choose_x_axis`'s ladder picks,
a log with errors and a traceback, an artifact, and another user's job."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from producer.jobs import read_metadata
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record, make_record
from shared.metadata import JobMetadata
from shared.services import Services
from tests.support.builders import seed_job, write_job
from tests.support.jobs_data import NOW, index_job

# name -> (metrics rows, the X key `choose_x_axis` picks)
X_CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "progress": (
        [{"progress": i / 20, "epoch": i // 5, "loss": 1 / (i + 1)} for i in range(20)],
        "progress",
    ),
    "epoch": (
        [{"epoch": i, "step": i * 100, "loss": 2 / (i + 1), "acc": i / 20} for i in range(20)],
        "epoch",
    ),
    "step": (
        [{"step": i * 10, "loss": 1.5 - i / 40, "lr": 0.1 * math.cos(i)} for i in range(20)],
        "step",
    ),
    "floats": ([{"wall": 0.5 + i * 1.25, "loss": 3.0 - i * 0.1} for i in range(20)], "wall"),
    "unordered": ([{"b": math.sin(i), "a": math.cos(i) + 0.5} for i in range(20)], "a"),
    "single": ([{"loss": 1.0 / (i + 1)} for i in range(20)], "time"),
}


def records(
    meta: JobMetadata, rows: Sequence[Mapping[str, Any]], *, start: datetime | None = None
) -> list[dict[str, Any]]:
    """One INFO record per metrics row, a second apart, as the streamer writes a JSON line."""
    job = JobContext(meta.job_id, meta.user, meta.project)
    begin = start or meta.created_at + timedelta(seconds=30)
    return [
        make_record(
            job,
            level="INFO",
            logger="ascend.stdout",
            message=orjson.dumps(row).decode(),
            when=begin + timedelta(seconds=i),
            metrics=dict(row),
        )
        for i, row in enumerate(rows)
    ]


def error_records(meta: JobMetadata) -> list[dict[str, Any]]:
    """A warning, an error with a traceback and a critical line, after some info lines."""
    job = JobContext(meta.job_id, meta.user, meta.project)
    when = meta.created_at + timedelta(minutes=2)
    trace = (
        'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    return [
        make_record(job, level="INFO", logger="ascend.user", message="loading data", when=when),
        make_record(job, level="WARNING", logger="ascend.user", message="low disk", when=when),
        make_record(
            job,
            level="ERROR",
            logger="ascend.user",
            message="step failed",
            when=when,
            exception={
                "type": "ZeroDivisionError",
                "message": "division by zero",
                "stacktrace": trace,
            },
        ),
        make_record(job, level="CRITICAL", logger="ascend.runner", message="giving up", when=when),
    ]


def job_with_log(
    services: Services,
    lines: Sequence[Mapping[str, Any]] | None = None,
    *,
    rows: Sequence[Mapping[str, Any]] = (),
    user: str = "alice",
    project: str = "frauddetect",
    status: str = "completed",
    when: datetime = NOW - timedelta(hours=6),
) -> JobMetadata:
    """A job (metadata, indexed) whose log is `lines` then the metrics `rows`."""
    meta = seed_job(services.blobs, None, when, user=user, project=project, status=status)
    body = [*(lines or []), *records(meta, rows)]
    blobs = services.blobs
    blobs.create_append(log_path(meta.parsed_job_id), content_type="application/x-ndjson")
    if body:
        blobs.append(log_path(meta.parsed_job_id), b"".join(dump_record(r) for r in body))
    index_job(services, meta)
    return meta


def job_with_artifact(
    services: Services, *, user: str = "alice", data: bytes = b"model weights"
) -> JobMetadata:
    """A finished job written by the producer with one artifact `model.bin`, indexed."""
    job = write_job(
        services.blobs, user=user, created_at=NOW - timedelta(days=2), artifacts={"model.bin": data}
    )
    meta = read_metadata(services.blobs, job)[0]
    index_job(services, meta)
    return meta
