"""Where the local worker keeps its checkpoint, and the one-time move of an old JSON one.

The checkpoint (which version of each blob was handled) lives in its own SQLite file next to the
embedded index, `{index dir}/pipeline-{container}.checkpoint.sqlite3` (`shared.ports.Checkpoint`,
built by the composition root): the worker's own bookkeeping, like the index. Losing it only
means every blob is offered once more (handling is idempotent). Earlier versions rewrote the
whole checkpoint as one JSON file (`....checkpoint.json`) every 10 s; the first open of the SQLite
checkpoint imports such a file once and renames it `....checkpoint.json.migrated`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import orjson

from shared.ports import Checkpoint, Seen
from shared.services import checkpoint_at
from shared.settings import Settings

log = logging.getLogger("ascend.pipeline")


def checkpoint_path(settings: Settings) -> Path:
    return Path(settings.index_path).parent / f"pipeline-{settings.container}.checkpoint.sqlite3"


def open_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint at `path`, with a JSON checkpoint of an earlier version moved in once."""
    checkpoint = checkpoint_at(path)
    old = path.with_suffix(".json")
    if old != path and old.exists():
        migrate_json(old, checkpoint)
    return checkpoint


def migrate_json(old: Path, checkpoint: Checkpoint) -> int:
    """Import `{name: [etag, modified]}` from `old` (an unreadable file is skipped: every blob
    is offered again), then rename it `.migrated`. Returns the blobs imported."""
    try:
        data = orjson.loads(old.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        data = {}
    rows: list[tuple[str, Seen]] = []
    for name, seen in data.items() if isinstance(data, dict) else []:
        match seen:
            case [str() as etag, str() as modified]:
                rows.append((str(name), (etag, modified)))
    checkpoint.record(rows)
    old.rename(old.with_name(old.name + ".migrated"))
    log.info("moved %d blobs from %s into the SQLite checkpoint", len(rows), old)
    return len(rows)
