"""The audit log: one JSON Lines record per lifecycle or admin action, under `_ascend/audit/`.

Each writer (a sweep run, an admin command) appends to its own blobs in the folder of the UTC
day, `_ascend/audit/YYYY/MM/DD/{HHMMSS}-{random}-{part}.jsonl`, so writers never contend and
names sort in writing order. Records are buffered per job and appended as one block; an append
blob holds at most 50,000 blocks, so a writer moves on to its next part well before that. `flush`
is also called when an apply stops early, so what was done is on record. Records say who (a
principal or `system:sweep`), when, as of which sweep date, the job, the blob, the action, the
tier, the outcome and the reason.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import orjson

from shared.errors import BlobExists, PreconditionFailed
from shared.layout import system_path
from shared.ports import BlobStore

MAX_BLOCK = 4 << 20
MAX_BLOCKS_PER_BLOB = 40_000  # Azure's limit is 50,000 blocks per append blob
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


def audit_prefix(day: date) -> str:
    """The folder of one UTC day's audit blobs."""
    return system_path("audit", f"{day:%Y}", f"{day:%m}", f"{day:%d}") + "/"


def audit_path(day: date, writer: str, part: int = 1) -> str:
    """One writer's audit blob for one UTC day."""
    return system_path("audit", f"{day:%Y}", f"{day:%m}", f"{day:%d}", f"{writer}-{part:03d}.jsonl")


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    """Buffers records and appends them to the day's audit blob; safe across threads."""

    def __init__(self, blobs: BlobStore, *, max_blocks: int = MAX_BLOCKS_PER_BLOB) -> None:
        self.blobs = blobs
        self.writer = f"{datetime.now(UTC):%H%M%S}-{secrets.token_hex(4)}"
        self.max_blocks = max_blocks
        self._pending: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._blocks: dict[date, tuple[int, int]] = {}  # day -> (part, blocks appended to it)

    def record(self, record: AuditRecord) -> None:
        with self._lock:
            self._pending.append(record)

    def flush(self) -> int:
        """Append what is buffered; returns how many records were written."""
        with self._lock:
            pending, self._pending = self._pending, []
            by_day: dict[date, list[bytes]] = {}
            for record in pending:
                day = datetime.fromisoformat(record.at.replace("Z", "+00:00")).date()
                by_day.setdefault(day, []).append(record.line())
            for day, lines in by_day.items():
                for block in _blocks(lines):
                    self._append(day, block)
            return len(pending)

    def _append(self, day: date, block: bytes) -> None:
        part, used = self._blocks.get(day, (0, self.max_blocks))
        if used >= self.max_blocks:
            part, used = part + 1, 0
            with contextlib.suppress(BlobExists, PreconditionFailed):  # a retried create
                self.blobs.create_append(
                    audit_path(day, self.writer, part), content_type="application/x-ndjson"
                )
        self.blobs.append(audit_path(day, self.writer, part), block)
        self._blocks[day] = (part, used + 1)


def _blocks(lines: list[bytes]) -> Iterator[bytes]:
    """Lines joined into blocks of at most 4 MiB (one line is never split)."""
    block = bytearray()
    for line in lines:
        if block and len(block) + len(line) > MAX_BLOCK:
            yield bytes(block)
            block.clear()
        block += line
    if block:
        yield bytes(block)


def read_audit(blobs: BlobStore, day: date) -> Iterator[dict[str, object]]:
    """The records of one day (every writer's blob, by name), streamed line by line."""
    for path in sorted(blobs.list_names(audit_prefix(day))):
        rest = b""
        for chunk in blobs.read_chunks(path):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from (orjson.loads(line) for line in lines if line.strip())
        if rest.strip():
            yield orjson.loads(rest)
