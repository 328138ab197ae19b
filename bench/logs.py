"""Benchmark: filtering a big JSON Lines job log by level (ERROR and above).

    .venv/bin/python -m bench.logs [--mb 500] [--repeat 3] [--dir DIR] [--skip-cli]

Generates a realistic log once (DEBUG..CRITICAL records; errors carry stack traces; some INFO
messages mention errors) into DIR (the temp dir by default) and reuses it. Then, in the same run:

- `jq -c 'select(.level=="ERROR" or .level=="CRITICAL")'` (skipped, with a note, if jq is absent);
- `grep -F` for the same records (`"level":"ERROR"`, `"level":"CRITICAL"`): the physical-ish limit;
- our filter core (`query.logs.filter_raw`) on the file, in a subprocess that reports its peak RSS,
  at two sizes (a quarter of the file and all of it) to show memory stays flat;
- `ascend jobs logs JOB --level ERROR --json` (a fresh process) reading the log from a fresh
  Azurite, where it is an append blob as jobs write it, next to Azurite's raw download rate of
  the same blob (one streamed GET through the SDK, no checks); the CLI's fixed cost (the same
  command on a one-line log: start-up, imports, first requests) is reported too.

Every tool's output is checked to be exactly the expected records. Prints a table of MB/s medians
and the ratios the issue asks for, then one JSON line.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from producer.demo_logs import chance

CHUNK = 4 << 20
JOB = "20260314-120000-alice-frauddetect-a3f5d2c8-7b9e4f1a"
TINY_JOB = "20260314-120000-alice-frauddetect-a3f5d2c8-00000000"
LEVELS = ("DEBUG",) * 10 + ("INFO",) * 80 + ("WARNING",) * 6 + ("ERROR",) * 3 + ("CRITICAL",)
WANTED = (b'"level":"ERROR"', b'"level":"CRITICAL"')
JQ_FILTER = 'select(.level=="ERROR" or .level=="CRITICAL")'


# ---- the log ---------------------------------------------------------------------------------


def record(rng: random.Random, n: int, start: datetime) -> bytes:
    """One realistic record of the design's format."""
    level = rng.choice(LEVELS)
    rec: dict[str, object] = {
        "timestamp": (start + timedelta(milliseconds=n * 7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "level": level,
        "logger": rng.choice(
            ("ascend.runner", "ascend.runner.executor", "train", "ascend.runner.deps")
        ),
        "job_id": JOB,
        "user": "alice",
        "project": "frauddetect",
        "message": _message(rng, n, level),
        "context": {"function_name": "train_model", "node_type": "gpu_small", "step": n},
    }
    if level in {"ERROR", "CRITICAL"}:
        rec["exception"] = {
            "type": "RuntimeError",
            "message": "CUDA out of memory",
            "stacktrace": "Traceback (most recent call last):\n"
            + "".join(
                f'  File "/app/train.py", line {rng.randint(1, 900)}, in step\n'
                for _ in range(rng.randint(3, 12))
            ),
        }
    elif chance(rng, 0.3):
        rec["metrics"] = {"loss": round(rng.random(), 5), "gpu_util": rng.randint(0, 100)}
    return orjson.dumps(rec) + b"\n"


def _message(rng: random.Random, n: int, level: str) -> str:
    if level in {"ERROR", "CRITICAL"}:
        return f"step {n} failed: CUDA error, retrying"
    if chance(rng, 0.02):
        return f"step {n}: no ERROR so far (recovered from 'ERROR' state)"
    speed = rng.randint(800, 1200)
    return f"step {n} done: loss={rng.random():.5f} lr=0.0003 batch=256 samples/s={speed}"


def generate(path: Path, megabytes: int) -> int:
    """Write the log (once; reused if already there); returns how many records are ERROR+."""
    marker = path.with_suffix(".count")
    if path.exists() and marker.exists() and path.stat().st_size >= megabytes << 20:
        return int(marker.read_text())
    rng = random.Random(megabytes)
    start = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    wanted = written = n = 0
    with path.open("wb") as out:
        while written < megabytes << 20:
            lines = [record(rng, n + k, start) for k in range(2000)]
            n += len(lines)
            block = b"".join(lines)
            wanted += sum(1 for line in lines if any(w in line for w in WANTED))
            written += out.write(block)
    marker.write_text(str(wanted))
    return wanted


def prefix_file(source: Path, megabytes: int) -> tuple[Path, int]:
    """The first whole lines of `source` up to `megabytes`, as a file, and its ERROR+ count."""
    target = source.with_name(f"{source.stem}-first{megabytes}mb.jsonl")
    count = 0
    with source.open("rb") as src, target.open("wb") as out:
        size = 0
        for line in src:
            if size + len(line) > megabytes << 20:
                break
            size += out.write(line)
            count += any(w in line for w in WANTED)
    return target, count


# ---- the contenders --------------------------------------------------------------------------


def timed(command: list[str], output: Path, env: dict[str, str] | None = None) -> float:
    """Seconds to run `command` with stdout into `output`."""
    with output.open("wb") as out:
        started = time.perf_counter()
        subprocess.run(command, stdout=out, check=True, env=env)
        return time.perf_counter() - started


def lines_in(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(CHUNK), b""))


def core_in_subprocess(log: Path, output: Path) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of the filter core on `log`, in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "bench.logs", "--core", str(log), str(output)],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    core_seconds, rss = result.stdout.split()
    del elapsed
    return float(core_seconds), int(rss)


def run_core(log: Path, output: Path) -> None:
    """The `--core` mode: filter `log` into `output`, print seconds and peak RSS (KiB)."""
    from query.logs import filter_raw

    def chunks() -> Iterator[bytes]:
        with log.open("rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")

    started = time.perf_counter()
    with output.open("wb") as out:
        for block in filter_raw(chunks(), "ERROR"):
            out.write(block)
    seconds = time.perf_counter() - started
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def with_azurite(log: Path, work: Path, repeat: int, expected: int) -> dict[str, list[float]]:
    """Times of the CLI and of a raw download of the log uploaded to a fresh Azurite."""
    from ascend_cli.azurite import start_azurite
    from shared.adapters.azure_blob import AzureBlobStore
    from shared.jobid import parse_job_id
    from shared.layout import log_path
    from shared.settings import Settings

    server = start_azurite(work / "azurite")
    try:
        settings = Settings(
            storage_connection_string=server.connection_string,
            container="bench-logs",
            index_path=work / "index.sqlite3",
            user="alice",
        )
        store = AzureBlobStore.from_settings(settings)
        store.ensure_container()
        name = log_path(parse_job_id(JOB))
        upload_as_append_blob(store, name, log)
        tiny = work / "tiny.jsonl"
        with log.open("rb") as handle:
            tiny.write_bytes(handle.readline())
        upload_as_append_blob(store, log_path(parse_job_id(TINY_JOB)), tiny)
        env = {
            **os.environ,
            "ASCEND_STORAGE_CONNECTION_STRING": server.connection_string,
            "ASCEND_CONTAINER": "bench-logs",
            "ASCEND_INDEX_PATH": str(settings.index_path),
            "ASCEND_USER": "alice",
            "ASCEND_ROLES": "",
        }
        out = work / "cli.out"
        command = [
            sys.executable,
            "-m",
            "ascend_cli.main",
            "jobs",
            "logs",
            JOB,
            "--level",
            "ERROR",
            "--json",
        ]
        times: dict[str, list[float]] = {"download": [], "cli": [], "startup": []}
        for _ in range(repeat):
            times["download"].append(raw_download(store, name))
            times["cli"].append(timed(command, out, env))
            check(out, expected, "ascend jobs logs")
            # The fixed cost: start-up, imports (the Azure SDK too) and the first requests.
            times["startup"].append(
                timed([*command[:5], TINY_JOB, *command[6:]], work / "tiny.out", env)
            )
        return times
    finally:
        server.stop()


def upload_as_append_blob(store: object, name: str, log: Path) -> None:
    """The log as a job writes it: an append blob, filled by 4 MiB appends."""
    store.create_append(name, content_type="application/x-ndjson")  # type: ignore[attr-defined]
    with log.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            store.append(name, block)  # type: ignore[attr-defined]


def raw_download(store: object, name: str) -> float:
    """Seconds for one streamed GET of the whole blob through the SDK, into /dev/null."""
    blob = store.container.get_blob_client(name)  # type: ignore[attr-defined]
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        blob.download_blob(max_concurrency=1).readinto(sink)
        return time.perf_counter() - started


def check(output: Path, expected: int, who: str) -> None:
    found = lines_in(output)
    if found != expected:
        raise SystemExit(f"{who} returned {found} records, expected {expected}")


# ---- the run ---------------------------------------------------------------------------------


def measure(
    log: Path, work: Path, repeat: int, expected: int, skip_cli: bool
) -> dict[str, list[float]]:
    """Seconds per run of each contender on `log`."""
    times: dict[str, list[float]] = {}
    runs: dict[str, Callable[[Path], float]] = {
        "grep": lambda out: timed(
            ["grep", "-F", "-e", WANTED[0].decode(), "-e", WANTED[1].decode(), str(log)], out
        ),
        "core": lambda out: core_in_subprocess(log, out)[0],
    }
    if shutil.which("jq"):
        runs["jq"] = lambda out: timed(["jq", "-c", JQ_FILTER, str(log)], out)
    else:
        print("note: jq is not installed (apt-get install -y jq); its column is skipped")
    for name, run in runs.items():
        out = work / f"{name}.out"
        times[name] = []
        for _ in range(repeat):
            times[name].append(run(out))
            check(out, expected, name)
    if not skip_cli:
        times.update(with_azurite(log, work, repeat, expected))
    return times


def report(size: int, times: dict[str, list[float]], rss: dict[int, int]) -> None:
    mb = size / 1e6
    rate = {
        name: mb / statistics.median(values) for name, values in times.items() if name != "startup"
    }
    ratios = {
        "core_vs_jq": rate["core"] / rate["jq"] if "jq" in rate else None,
        "grep_vs_core": rate["grep"] / rate["core"],
        "cli_vs_download": rate["cli"] / rate["download"] if "cli" in rate else None,
    }
    if "cli" in rate:
        streaming = statistics.median(times["cli"]) - statistics.median(times["startup"])
        ratios["cli_without_fixed_cost_vs_download"] = mb / streaming / rate["download"]
    print(
        f"\nfilter ERROR+ records of a {mb:,.0f} MB JSON Lines log "
        f"(median of {len(times['core'])} runs)"
    )
    print(f"{'contender':<28}{'MB/s':>10}{'median s':>10}")
    for name, label in (
        ("jq", "jq -c select(...)"),
        ("grep", "grep -F"),
        ("core", "query.logs.filter_raw"),
        ("download", "Azurite raw download"),
        ("cli", "ascend jobs logs --json"),
    ):
        if name in rate:
            print(f"{label:<28}{rate[name]:>10,.0f}{statistics.median(times[name]):>10.2f}")
    if "startup" in times:
        fixed = statistics.median(times["startup"])
        print(f"{'(CLI on a 1-line log)':<28}{'':>10}{fixed:>10.2f}")
    aims = {
        "core_vs_jq": ">= 8",
        "grep_vs_core": "<= 4",
        "cli_vs_download": ">= 0.8",
        "cli_without_fixed_cost_vs_download": "(for reading)",
    }
    for name, value in ratios.items():
        if value is not None:
            print(f"{name:<36}{value:>6.2f}  (aim {aims[name]})")
    for mbytes, kib in sorted(rss.items()):
        print(f"{'core peak RSS at ' + str(mbytes) + ' MB':<28}{kib / 1024:>10.1f} MiB")
    print(
        orjson.dumps(
            {
                "bench": "logs",
                "mb": round(mb),
                "mb_per_s": rate,
                "ratios": ratios,
                "cli_fixed_s": statistics.median(times["startup"]) if "startup" in times else None,
                "core_peak_rss_mib": {str(k): round(v / 1024, 1) for k, v in rss.items()},
            }
        ).decode()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="log size in MB (develop with 20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ascend-bench")
    parser.add_argument("--skip-cli", action="store_true", help="no Azurite part")
    parser.add_argument("--core", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.core:
        run_core(*args.core)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    log = args.dir / f"job-{args.mb}mb.log.jsonl"
    expected = generate(log, args.mb)
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        work = Path(scratch)
        times = measure(log, work, args.repeat, expected, args.skip_cli)
        small, small_expected = prefix_file(log, max(1, args.mb // 4))
        _, small_rss = core_in_subprocess(small, work / "small.out")
        check(work / "small.out", small_expected, "core (small)")
        _, big_rss = core_in_subprocess(log, work / "big.out")
        small.unlink()
    report(log.stat().st_size, times, {max(1, args.mb // 4): small_rss, args.mb: big_rss})


if __name__ == "__main__":
    main()
