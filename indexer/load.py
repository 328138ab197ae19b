"""Bulk load: JSON Lines of `metadata.json` documents into the search index.

What `ascend index load FILE` runs, the way a team moving from another tracker backfills its
history. Each line is validated exactly as the pipeline validates a `metadata.json` blob and
built into the same document; a bad line is reported with its number and reason and the load
goes on. Documents go in batches through the index's never-older upsert, with an empty
`source_version`: a later event of the real pipeline for the same job and time replaces them.
No log is read (a loaded job has none here), so the log fields stay empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from shared.documents import SearchDocument
from shared.errors import InvalidInput
from shared.jobdocument import build_document
from shared.metadata import parse_metadata
from shared.ports import SearchIndex

BATCH = 2000


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that was not loaded: its number (from 1) and why."""

    number: int
    reason: str


@dataclass(slots=True)
class LoadSummary:
    """Lines read (blank ones aside), documents written, older ones skipped, bad lines."""

    lines: int = 0
    indexed: int = 0
    skipped: int = 0
    bad: list[BadLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "indexed": self.indexed,
            "skipped": self.skipped,
            "bad": len(self.bad),
        }


def document_of_line(line: bytes, *, prices: Mapping[str, float], max_bytes: int) -> SearchDocument:
    """The search document of one line, or `InvalidInput` saying why there is none."""
    if len(line) > max_bytes:
        raise InvalidInput("line", f"is larger than {max_bytes} bytes")
    meta = parse_metadata(line, source="metadata.json")
    return build_document(meta, prices=prices, source_version="")


def load_lines(
    lines: Iterable[bytes],
    index: SearchIndex,
    *,
    prices: Mapping[str, float],
    max_bytes: int = 1 << 20,
    batch: int = BATCH,
    on_bad: Callable[[BadLine], None] = lambda _: None,
) -> LoadSummary:
    """Validate, build and upsert every line of `lines`; bad lines go to `on_bad` as found."""
    summary = LoadSummary()
    pending: list[SearchDocument] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        try:
            pending.append(document_of_line(line, prices=prices, max_bytes=max_bytes))
        except InvalidInput as exc:
            summary.bad.append(BadLine(number, str(exc)))
            on_bad(summary.bad[-1])
            continue
        if len(pending) >= batch:
            _flush(index, pending, summary)
    _flush(index, pending, summary)
    return summary


def _flush(index: SearchIndex, pending: list[SearchDocument], summary: LoadSummary) -> None:
    written = len(index.upsert(pending)) if pending else 0
    summary.indexed += written
    summary.skipped += len(pending) - written
    pending.clear()
