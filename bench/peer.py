"""Benchmark beside the peer: the issue's five questions on the same jobs in MLflow, in our
index, and in a plain SQLite baseline, timed alternately in one run.

    make bench-peer            # once: MLflow in its own virtual environment, .venv-peer
    .venv/bin/python -m bench.peer [--jobs 20000] [--pairs 3] [--client-slice 200]

The same synthetic jobs (`bench.peer_data`, `metadata.json` documents) go
- into MLflow 3.17 with its SQLite store (`bench.peer_mlflow`, a worker process in `.venv-peer`):
  the first `--client-slice` through its supported client, the rest into its own schema, since
  the client loads ~20 runs/s (both rates printed);
- into our embedded index through `ascend index load`'s path (validation, documents, upserts);
- into a plain SQLite file with a good schema for these questions (one row per job with every
  document field, a (package, version, job) table, indexes on (status, created_at),
  (dep_hash, created_at) and created_at): the engine's own cost of returning the same rows.

Every question fetches all its results (the last one the newest 20), newest first, as each side
returns them to a caller: MLflow `Run` objects from `MlflowClient.search_runs` (page by page;
a version range is one search per version, unioned), our search documents as the CLI's `--json`
and the API send them, plain rows as tuples. Each round times the three sides in turn, the order
alternating between rounds; the table shows medians and the median of the per-round ratios.
A side's answer under 10 ms is timed as the median of a burst of calls (~0.2 s) in its turn:
one call that short measures the scheduler as much as the query.
The job IDs of the three sides must be the same, or the benchmark stops.

Stores are cached under `bench/cache/` (gitignored), one folder per `--jobs`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from packaging.specifiers import SpecifierSet

from bench.peer_data import NOW, TORCH, Question, jobs, questions
from bench.size import measure
from indexer.load import load_lines
from query.service import MAX_LIMIT, iter_json, search_json
from shared.adapters.sqlite_index import COLUMNS, SqliteIndex
from shared.clock import FixedClock
from shared.principal import Principal
from shared.settings import DEFAULT_NODE_PRICES

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
ADMIN = Principal.of("bench", "admin")
CLOCK = FixedClock(NOW)
# Each JSON text starts with {"job_id":"...: the IDs to compare are read without decoding.
JOB_ID_AT = len(b'{"job_id":"')
_SHOWN_IN_SECONDS_MS = 10_000  # times from 10 s on are shown in seconds
_ONE_DECIMAL_MS = 10  # and from 10 ms on with one decimal
JOB_ID_LENGTH = len("20260314-120000-user000-proj00-0123abcd-0000abcd")


# ---- the three stores ------------------------------------------------------------------------


def build_ours(path: Path, count: int) -> dict[str, Any]:
    """Our index from the JSON Lines of the jobs; the load's rate."""
    lines = [orjson.dumps(job) for job in jobs(count)]
    index = SqliteIndex(path)
    index.ensure()
    started = time.perf_counter()
    summary = load_lines(lines, index, prices=DEFAULT_NODE_PRICES)
    index.close()
    seconds = time.perf_counter() - started
    if summary.indexed != count:
        raise SystemExit(f"our load indexed {summary.indexed} of {count} jobs: {summary.bad[:3]}")
    return {"jobs_per_s": round(count / seconds)}


PLAIN_SCHEMA = f"""
CREATE TABLE jobs ({
    ", ".join(f'"{c}"' + (" TEXT PRIMARY KEY" if c == "job_id" else "") for c in COLUMNS)
});
CREATE TABLE job_packages (name TEXT, version TEXT, job_id TEXT,
                           PRIMARY KEY (name, version, job_id)) WITHOUT ROWID;
CREATE INDEX jobs_status_created ON jobs (status, created_at);
CREATE INDEX jobs_dep_created ON jobs (dep_hash, created_at);
CREATE INDEX jobs_created ON jobs (created_at);
"""


def build_plain(path: Path, ours: Path) -> None:
    """The baseline's file: our documents' rows (lists as JSON text) in the plain schema."""
    conn = sqlite3.connect(path)
    conn.executescript(PLAIN_SCHEMA)
    conn.execute("ATTACH DATABASE ? AS ours", (str(ours),))
    with conn:
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        conn.execute(f"INSERT INTO jobs SELECT {columns} FROM ours.jobs")  # noqa: S608
        rows = conn.execute("SELECT job_id, packages FROM jobs").fetchall()
        conn.executemany(
            "INSERT INTO job_packages VALUES (?, ?, ?)",
            [
                (*text.split("==", 1), job_id)
                for job_id, packages in rows
                for text in orjson.loads(packages)
            ],
        )
    conn.close()


class MlflowSide:
    """The worker process of `bench.peer_mlflow`, in MLflow's own virtual environment."""

    def __init__(self, python: Path) -> None:
        if not python.exists():
            raise SystemExit(f"{python} not found: run `make bench-peer` first")
        self.process = subprocess.Popen(
            [str(python), "-m", "bench.peer_mlflow"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def call(self, **request: Any) -> dict[str, Any]:
        stdin, stdout = self._pipes()
        stdin.write(json.dumps(request) + "\n")
        answer: dict[str, Any] = json.loads(stdout.readline())
        if "error" in answer:
            raise SystemExit(f"MLflow side: {answer['error']}")
        return answer

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise SystemExit("bench: the MLflow side was started without pipes")
        return stdin, stdout

    def close(self) -> None:
        self._pipes()[0].close()
        self.process.wait(timeout=60)


def prepare(count: int, client_slice: int, mlflow: MlflowSide) -> tuple[Path, dict[str, Any]]:
    """The cached stores of `count` jobs (built when missing), and the load facts."""
    folder = CACHE / f"peer-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    facts_file = folder / "facts.json"
    facts: dict[str, Any] = orjson.loads(facts_file.read_bytes()) if facts_file.exists() else {}
    if "ours" not in facts:
        (folder / "ours.sqlite3").unlink(missing_ok=True)
        facts["ours"] = build_ours(folder / "ours.sqlite3", count)
        (folder / "plain.sqlite3").unlink(missing_ok=True)
        build_plain(folder / "plain.sqlite3", folder / "ours.sqlite3")
    if "mlflow" not in facts:
        (folder / "mlflow.db").unlink(missing_ok=True)
        mlflow.call(op="open", db=str(folder / "mlflow.db"))
        facts["mlflow"] = mlflow.call(op="load", count=count, client_slice=client_slice)
    else:
        mlflow.call(op="open", db=str(folder / "mlflow.db"))
    facts_file.write_bytes(orjson.dumps(facts))
    return folder, facts


# ---- answering -------------------------------------------------------------------------------


def ours(index: SqliteIndex, question: Question) -> list[str]:
    """Every result as the CLI's `--json` prints it and the API sends it (the index's JSON
    texts, `query.search_json` page by page); their job IDs."""
    if question.limit is not None:
        lines = search_json(index, ADMIN, question.ours, limit=question.limit, clock=CLOCK).lines
    else:
        lines = list(iter_json(index, ADMIN, question.ours, clock=CLOCK, page_size=MAX_LIMIT))
    return [line[JOB_ID_AT : JOB_ID_AT + JOB_ID_LENGTH].decode() for line in lines]


PLAIN_SQL = {
    "failed": "SELECT * FROM jobs WHERE status = 'failed' AND created_at >= ? "
    "ORDER BY created_at DESC, job_id DESC",
    "dep": "SELECT * FROM jobs WHERE dep_hash = ? ORDER BY created_at DESC, job_id DESC",
    "package": "SELECT jobs.* FROM job_packages p JOIN jobs USING (job_id) WHERE p.name = ? "
    "AND p.version IN ({marks}) ORDER BY created_at DESC, job_id DESC",
    "newest": "SELECT * FROM jobs ORDER BY created_at DESC, job_id DESC LIMIT 20",
}


def plain(conn: sqlite3.Connection, question: Question) -> list[str]:
    """The same rows from the plain schema, as tuples; their job IDs."""
    text = question.ours
    if text.startswith("status:failed"):
        since = (NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rows = conn.execute(PLAIN_SQL["failed"], (since,)).fetchall()
    elif text.startswith("dep:"):
        rows = conn.execute(PLAIN_SQL["dep"], (text[4:],)).fetchall()
    elif text.startswith("package:"):
        versions = list(SpecifierSet(text.split("torch", 1)[1].strip('"')).filter(TORCH))
        sql = PLAIN_SQL["package"].format(marks=", ".join("?" for _ in versions))
        rows = conn.execute(sql, ("torch", *versions)).fetchall()
    else:
        rows = conn.execute(PLAIN_SQL["newest"]).fetchall()
    return [row[0] for row in rows]


# A call under SHORT_S is one scheduler tick away from doubling on a shared machine: it is
# called again for about REPEAT_S and the round takes the median of those calls.
SHORT_S = 0.01
REPEAT_S = 0.2


def timed(call: Callable[[], list[str]]) -> tuple[float, list[str]]:
    """Seconds of one call (the median of a burst of calls when it is short) and its answer."""
    started = time.perf_counter()
    found = call()
    seconds = time.perf_counter() - started
    if seconds >= SHORT_S:
        return seconds, found
    samples = []
    for _ in range(min(1000, int(REPEAT_S / max(seconds, 1e-5)))):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), found


def compare(question: Question, **sides: list[str]) -> None:
    """Stop the benchmark unless every side found the same job IDs."""
    sets = {name: set(ids) for name, ids in sides.items()}
    first, *others = sets
    for other in others:
        if sets[other] != sets[first]:
            diff = sorted(sets[first] ^ sets[other])
            raise SystemExit(
                f"{question.name}: {first} and {other} differ "
                f"({len(sets[first])} vs {len(sets[other])}; e.g. {diff[:3]})"
            )


def rounds(
    question: Question, pairs: int, index: SqliteIndex, conn: sqlite3.Connection, mlflow: MlflowSide
) -> dict[str, Any]:
    """`pairs` rounds of the three sides in alternating order; times and per-round ratios."""
    times: dict[str, list[float]] = {"mlflow": [], "ours": [], "plain": []}
    ours(index, question), plain(conn, question)  # warm the page caches

    def ask_mlflow(ids: bool) -> tuple[float, list[str]]:
        answer = mlflow.call(
            op="ask", filters=list(question.mlflow_filters), limit=question.limit, ids=ids
        )
        return answer["seconds"], answer["ids"] if ids else []

    for turn in range(pairs):
        order = ["mlflow", "ours", "plain"] if turn % 2 == 0 else ["plain", "ours", "mlflow"]
        found: dict[str, list[str]] = {}
        for side in order:
            if side == "mlflow":
                seconds, found[side] = ask_mlflow(ids=turn == 0)
            elif side == "ours":
                seconds, found[side] = timed(lambda: ours(index, question))
            else:
                seconds, found[side] = timed(lambda: plain(conn, question))
            times[side].append(seconds * 1000)
        if turn == 0:
            compare(question, **found)
            hits = len(found["ours"])
    return {
        "hits": hits,
        **{f"{k}_ms": round(statistics.median(v), 3) for k, v in times.items()},
        "ratio_mlflow_to_ours": round(
            statistics.median(m / o for m, o in zip(times["mlflow"], times["ours"], strict=True)), 1
        ),
        "ratio_ours_to_plain": round(
            statistics.median(o / p for o, p in zip(times["ours"], times["plain"], strict=True)), 2
        ),
    }


def index_bytes_per_job(path: Path) -> int:
    """The bytes per job of the index's pages in use (`bench.size`): a cached file migrated to
    a newer schema keeps the pages its old tables freed, for its next rows, until a VACUUM."""
    return int(measure(path)["in_use_bytes_per_job"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=3, help="rounds of the three sides")
    parser.add_argument(
        "--client-slice",
        type=int,
        default=200,
        help="jobs loaded into MLflow through its client (the rest: its schema)",
    )
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    parser.add_argument("--prepare-only", action="store_true", help="build the stores, then stop")
    args = parser.parse_args()
    mlflow = MlflowSide(args.peer_python)
    try:
        folder, facts = prepare(args.jobs, args.client_slice, mlflow)
        if args.prepare_only:
            print(orjson.dumps(facts).decode())
            return
        index = SqliteIndex(folder / "ours.sqlite3")
        index.ensure()  # a cached file of an older schema is migrated
        conn = sqlite3.connect(folder / "plain.sqlite3")
        results = {q.name: rounds(q, args.pairs, index, conn, mlflow) for q in questions(args.jobs)}
    finally:
        mlflow.close()
    report(args, facts, results, index_bytes_per_job(folder / "ours.sqlite3"))


def report(
    args: argparse.Namespace, facts: dict[str, Any], results: dict[str, Any], per_job: int
) -> None:
    loaded = facts["mlflow"]
    print(
        f"{args.jobs:,} jobs; {args.pairs} rounds; load average {os.getloadavg()[0]:.1f} "
        f"(2 shared cores: compare ratios, not times)"
    )
    print(
        f"MLflow loaded {loaded['client_runs']} runs through its client "
        f"({loaded['client_runs_per_s']} runs/s), {loaded['schema_runs']:,} into its schema; "
        f"ours: {facts['ours']['jobs_per_s']:,} jobs/s through `ascend index load`'s path; "
        f"our index {per_job:,} B/job in use"
    )
    print()
    print(
        "| question (all results) | hits | MLflow | ours | plain SQLite | MLflow / ours "
        "| ours / plain |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['hits']:,} | {_ms(r['mlflow_ms'])} | {_ms(r['ours_ms'])} | "
            f"{_ms(r['plain_ms'])} | {r['ratio_mlflow_to_ours']:,}× | "
            f"{r['ratio_ours_to_plain']}× |"
        )
    print(
        orjson.dumps(
            {
                "bench": "peer",
                "jobs": args.jobs,
                "pairs": args.pairs,
                "load": facts,
                "index_bytes_per_job": per_job,
                "questions": results,
            }
        ).decode()
    )


def _ms(value: float) -> str:
    if value >= _SHOWN_IN_SECONDS_MS:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value >= _ONE_DECIMAL_MS else f"{value:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
