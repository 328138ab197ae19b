"""Start-up time of the `ascend` command: `ascend --help` and `ascend jobs list` (20 jobs in an
embedded index) against `python -c pass`, as median wall-clock seconds of new processes.

    .venv/bin/python -m bench.startup [--runs 15]
    chrt -f 50 .venv/bin/python -m bench.startup     # on a loaded machine: as if it were quiet

The runs of the three commands alternate, so a busy machine slows each of them alike; the
ratios to `python -c pass` are of the same run. The aim (issue 18): both under 0.25 s. Each
command runs once before the timed runs, with bytecode writing on (as after `pip install`, which
compiles every module), so no run pays for compiling sources. The CPU seconds (user + system of
the process) are reported too: on a loaded machine they vary far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import as_document, empty_document, format_datetime
from shared.jobid import compute_run_hash, make_job_id

AIM_SECONDS = 0.25
ASCEND = str(Path(sys.executable).with_name("ascend"))


def fill_index(path: Path, jobs: int = 20) -> list[str]:
    """An embedded index with `jobs` of alice's jobs, an hour apart; their job IDs."""
    now = datetime.now(UTC).replace(microsecond=0)
    documents = []
    for n in range(jobs):
        created = now - timedelta(hours=n + 1)
        job = make_job_id(
            user="alice",
            project="bench",
            created_at=created,
            dependency_hash="a3f5d2c8e9b1",
            run_hash=compute_run_hash("train", str(n), "bench"),
        )
        doc = as_document(
            {
                **empty_document(str(job)),
                "created_at": format_datetime(created),
                "updated_at": format_datetime(created),
                "status": "completed",
                "user": "alice",
                "project": "bench",
                "dep_hash": job.dep_hash,
                "function_name": "train_model",
                "node_type": "gpu_small",
                "duration_seconds": 600.0,
                "cost_usd": 0.5,
                "log_errors": 0,
            }
        )
        documents.append(doc)
    index = SqliteIndex(path)
    index.ensure()
    index.upsert(documents)
    index.close()
    return [str(d["job_id"]) for d in documents]


def measure(runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall-clock, CPU) seconds of each command, `runs` times, alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index.sqlite3"
        fill_index(index)
        env = {
            **os.environ,
            "ASCEND_INDEX_PATH": str(index),
            "ASCEND_USER": "alice",
            "ASCEND_ROLES": "",
            "ASCEND_CONFIG": "",
            "COLUMNS": "120",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "ascend --help": [ASCEND, "--help"],
            "ascend jobs list": [ASCEND, "jobs", "list"],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for argv in commands.values():  # writes the bytecode the timed runs then read
            _run(argv, env)
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(_run(argv, env))
    return times


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times = measure(args.runs)
    base = statistics.median(wall for wall, _ in times["python -c pass"])
    print(
        f"{'command':<20} {'median s':>9} {'min s':>7} {'x python':>9} {'CPU s':>7}"
        f"  aim < {AIM_SECONDS} s"
    )
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        median = statistics.median(walls)
        cpu = statistics.median(used for _, used in values)
        verdict = (
            "" if name.startswith("python") else ("  met" if median < AIM_SECONDS else "  missed")
        )
        print(
            f"{name:<20} {median:>9.3f} {min(walls):>7.3f} {median / base:>9.1f} {cpu:>7.3f}"
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
