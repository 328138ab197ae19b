"""What handling one blob event came to: expected results are values, not exceptions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Indexed:
    """The job's document (or the image record) was written."""

    blob: str
    job_id: str | None = None
    kind: str = "indexed"


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to do for this event, and why (logged, not recorded)."""

    blob: str
    reason: str
    kind: str = "skipped"


@dataclass(frozen=True, slots=True)
class Rejected:
    """The input can never be indexed: recorded under `_ascend/rejected/` with the reason."""

    blob: str
    reason: str
    kind: str = "rejected"


@dataclass(frozen=True, slots=True)
class Removed:
    """The job's metadata.json is gone, and so is its document."""

    blob: str
    job_id: str
    kind: str = "removed"


Outcome = Indexed | Skipped | Rejected | Removed
