"""What came of one lifecycle action, for the sweep and for admins' bulk operations alike.

An `Outcome` is a kind and, unless done, why: `skipped: already gone`, `failed: ...`. Its text
is what the audit log's `outcome` records and what the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    """How an action ended: done, skipped (nothing to do, or not safe now), failed, or partly
    done (an export waiting for rehydration); or that it is only planned (`retention plan`),
    would be done (an admin's dry run) or was requested (a rehydration)."""

    PLANNED = "planned"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    WOULD_DELETE = "would delete"
    PARTLY = "partly done"
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of one action: its kind and, unless done, why (`skipped: already gone`)."""

    kind: OutcomeKind
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}" if self.reason else str(self.kind)


DONE = Outcome(OutcomeKind.DONE)
GONE = Outcome(OutcomeKind.SKIPPED, "already gone")
PLANNED = Outcome(OutcomeKind.PLANNED)
WOULD_DELETE = Outcome(OutcomeKind.WOULD_DELETE)
