"""The audit log: one JSON Lines record per lifecycle or admin action, under `_ascend/audit/`.

One append blob per UTC day, `_ascend/audit/YYYY/MM/DD.jsonl`. Records are buffered per job and
appended as one block (an append blob holds at most 50,000 blocks, so a day of a busy sweep still
fits); `flush` is also called when an apply stops early, so what was done is on record.
Records say who (a principal or `system:sweep`), when, as of which sweep date, the job, the blob,
the action, the tier, the outcome and the reason.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import orjson

from shared.errors import BlobExists, PreconditionFailed
from shared.layout import system_path
from shared.ports import BlobStore

MAX_BLOCK = 4 << 20
SYSTEM_SWEEP = "system:sweep"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One action, as it is kept."""

    at: str  # when it was done (UTC, ISO 8601)
    who: str
    action: str  # set_tier | compress | delete | export | policy_set | policy_reset
    blob: str | None
    job_id: str | None
    tier: str | None
    outcome: str
    reason: str
    as_of: str | None = None  # the sweep's `now` (differs from `at` with --now)

    def line(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_APPEND_NEWLINE)


def audit_path(day: date) -> str:
    """The audit blob of one UTC day."""
    return system_path("audit", f"{day:%Y}", f"{day:%m}", f"{day:%d}.jsonl")


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    """Buffers records and appends them to the day's audit blob; safe across threads."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._created: set[str] = set()

    def record(self, record: AuditRecord) -> None:
        with self._lock:
            self._pending.append(record)

    def flush(self) -> int:
        """Append what is buffered; returns how many records were written."""
        with self._lock:
            pending, self._pending = self._pending, []
            by_day: dict[str, list[bytes]] = {}
            for record in pending:
                day = datetime.fromisoformat(record.at.replace("Z", "+00:00")).date()
                by_day.setdefault(audit_path(day), []).append(record.line())
            for path, lines in by_day.items():
                self._append(path, lines)
            return len(pending)

    def _append(self, path: str, lines: list[bytes]) -> None:
        if path not in self._created:
            with contextlib.suppress(BlobExists, PreconditionFailed):  # another writer made it
                self.blobs.create_append(path, content_type="application/x-ndjson")
            self._created.add(path)
        block = bytearray()
        for line in lines:
            if block and len(block) + len(line) > MAX_BLOCK:
                self.blobs.append(path, bytes(block))
                block.clear()
            block += line
        if block:
            self.blobs.append(path, bytes(block))


def read_audit(blobs: BlobStore, day: date) -> Iterator[dict[str, object]]:
    """The records of one day, streamed line by line."""
    path = audit_path(day)
    if blobs.props(path) is None:
        return
    rest = b""
    for chunk in blobs.read_chunks(path):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if line.strip():
                yield orjson.loads(line)
    if rest.strip():
        yield orjson.loads(rest)
