"""How a job's metadata changes, as pure functions: status transitions and recorded artifacts.

`transition` enforces `shared.metadata.ALLOWED_TRANSITIONS` (a finished job never changes status
again) and fills in what a status implies: `running` sets `execution.start_time`, a final status
sets `end_time` and `duration_seconds`. Every result is validated again as a whole document, so a
change can never produce a metadata.json the pipeline would reject.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.errors import InvalidInput, InvalidMetadata
from shared.metadata import (
    ALLOWED_TRANSITIONS,
    Artifact,
    Execution,
    JobMetadata,
    JobStatus,
    describe_validation_error,
)

EXECUTION_FIELDS = frozenset(Execution.model_fields)


def validated(meta: JobMetadata) -> JobMetadata:
    """`meta` validated again as a whole (model_copy does not validate), or `InvalidMetadata`."""
    try:
        return JobMetadata.model_validate(meta.model_dump(warnings=False))
    except ValidationError as exc:
        raise InvalidMetadata(
            f"metadata.json of {meta.job_id}", describe_validation_error(exc)
        ) from None


def parse_status(status: JobStatus | str) -> JobStatus:
    """The status named by `status`, or `InvalidInput` listing the valid ones."""
    try:
        return JobStatus(status)
    except ValueError:
        names = ", ".join(s.value for s in JobStatus)
        raise InvalidInput(f"status {status!r}", f"must be one of {names}") from None


def transition(
    meta: JobMetadata, status: JobStatus | str, now: datetime, **execution_fields: Any
) -> JobMetadata:
    """`meta` moved to `status` at `now` with `execution_fields` set, if that is allowed."""
    new = parse_status(status)
    current = meta.status
    if current.is_final:
        raise InvalidInput(f"job {meta.job_id}", f"is already {current}; it cannot become {new}")
    if new not in ALLOWED_TRANSITIONS.get(current, set()):
        raise InvalidInput(f"job {meta.job_id}", f"cannot go from {current} to {new}")
    unknown = sorted(set(execution_fields) - EXECUTION_FIELDS)
    if unknown:
        raise InvalidInput(f"execution field {unknown[0]!r}", "is not a field of execution")
    fields = {**meta.execution.model_dump(exclude_none=True), **execution_fields}
    if new is JobStatus.RUNNING:
        fields.setdefault("start_time", now)
    if new.is_final:
        fields.setdefault("end_time", now)
        if "start_time" in fields and "duration_seconds" not in execution_fields:
            seconds = (fields["end_time"] - fields["start_time"]).total_seconds()
            fields["duration_seconds"] = round(max(seconds, 0.0), 3)
    return validated(
        meta.model_copy(
            update={
                "status": new,
                "execution": Execution.model_construct(**fields),
                "updated_at": max(now, meta.updated_at),
            }
        )
    )


def with_artifacts(meta: JobMetadata, artifacts: Iterable[Artifact], now: datetime) -> JobMetadata:
    """`meta` listing `artifacts`, each replacing an earlier entry of the same name."""
    new = list(artifacts)
    names = {a.name for a in new}
    kept = [a for a in meta.artifacts if a.name not in names]
    return validated(
        meta.model_copy(
            update={
                "artifacts": kept + new,
                "updated_at": max(now, meta.updated_at),
            }
        )
    )
