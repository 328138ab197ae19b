"""The local worker's checkpoint: which version (etag, last-modified) of each blob it handled.

A local file next to the embedded index (`{index dir}/pipeline-{container}.checkpoint.json`):
the worker's own bookkeeping, like the index. Losing it only means every blob is offered once
more (handling is idempotent).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from shared.settings import Settings

Seen = dict[str, list[str]]  # blob name -> [etag, last-modified ISO]


def checkpoint_path(settings: Settings) -> Path:
    return Path(settings.index_path).parent / f"pipeline-{settings.container}.checkpoint.json"


def load_checkpoint(path: Path) -> Seen:
    """The saved checkpoint; a missing or unreadable one is empty (everything is offered)."""
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def save_checkpoint(path: Path, seen: Seen) -> None:
    """Write atomically: a crash leaves the old checkpoint or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    temporary.write_bytes(orjson.dumps(seen))
    temporary.replace(path)
