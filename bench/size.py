"""Measure: bytes per job of an embedded index file, whole, in use, and per B-tree.

    .venv/bin/python -m bench.size FILE [FILE ...]

For each file (read only): the file's bytes per job (page_count x page_size / jobs), the bytes
of the pages in use (a migrated file keeps the pages its old tables freed, reused by its next
writes or given back by VACUUM), and each table's and index's pages per job from SQLite's
`dbstat` (payload: the records themselves; unused: free space inside the pages). Prints a table
and one JSON line per file.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

import orjson

AIM = 1_500
SHOWN = 0.1  # B/job: smaller trees (one page each) are left out of the table


def measure(path: Path) -> dict[str, Any]:
    """The file's sizes per job, and each B-tree's (largest first)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0] or 1
        size, pages, free, version = (
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_size", "page_count", "freelist_count", "user_version")
        )
        trees = conn.execute(
            "SELECT name, sum(pgsize), sum(payload), sum(unused) FROM dbstat "
            "GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    finally:
        conn.close()
    return {
        "path": str(path),
        "schema": version,
        "jobs": jobs,
        "page_size": size,
        "file_bytes_per_job": round(pages * size / jobs),
        "in_use_bytes_per_job": round((pages - free) * size / jobs),
        "trees": {
            name: {
                "bytes_per_job": round(total / jobs, 1),
                "payload": round(payload / jobs, 1),
                "unused": round(unused / jobs, 1),
            }
            for name, total, payload, unused in trees
        },
    }


def report(found: dict[str, Any]) -> None:
    print(
        f"\n{found['path']}: schema {found['schema']}, {found['jobs']:,} jobs, "
        f"{found['page_size']} B pages: file {found['file_bytes_per_job']:,} B/job, "
        f"in use {found['in_use_bytes_per_job']:,} B/job (aim <= {AIM:,})"
    )
    print(f"  {'B-tree':36} {'B/job':>8} {'payload':>8} {'unused':>8}")
    for name, tree in found["trees"].items():
        if tree["bytes_per_job"] >= SHOWN:
            print(
                f"  {name:36} {tree['bytes_per_job']:8.1f} {tree['payload']:8.1f} "
                f"{tree['unused']:8.1f}"
            )
    print(orjson.dumps({"bench": "size", **found}).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+")
    for path in parser.parse_args().paths:
        report(measure(path))


if __name__ == "__main__":
    main()
