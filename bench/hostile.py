"""Benchmark: hostile inputs of issue 13, measured on a fresh Azurite.

    .venv/bin/python -m bench.hostile [--bomb-mb 400] [--streams 100] [--probes 20]

1. Peak RSS of `ascend jobs logs JOB` (a fresh process) when the job's only log is a ~400 KB gzip
   that inflates to 400 MiB: once as a foreign `.gz` (refused before inflating), once with a
   forged lifecycle marker (inflated in 1 MiB steps until the ratio cap stops it); next to the
   same command on a one-line plain log (the CLI's own footprint).
2. `ascend serve`'s app under uvicorn with `--streams` follow requests opened on running jobs of
   as many users (the gate lets 4 per caller, 32 in all; the rest get 429 at once), then
   `--probes` searches by another user: median and worst latency, next to the same probes with
   no stream open.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http import HTTPStatus
from pathlib import Path

import orjson

from ascend_cli.azurite import start_azurite
from bench._timing import check
from shared.layout import archived_log_path
from tests.support.builders import seed_job
from tests.support.jobs_data import make_services


def bomb(inflated_mb: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(inflated_mb)) + packer.flush()


def cli_peak_rss(env: dict[str, str], job_id: str) -> tuple[int, float, str]:
    """(exit code, peak RSS MiB, last stderr line) of `ascend jobs logs JOB` in a new process."""
    code = (
        "import resource, sys\nfrom ascend_cli.main import main\nsys.argv=['ascend','jobs',"
        f"'logs','{job_id}']\ncode=0\ntry:\n    main()\n"
        "except SystemExit as e:\n    code=e.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    peak_kib = int(lines[-1])
    message = next((line for line in lines if line.startswith("error")), "")
    return done.returncode, peak_kib / 1024, message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def probe(port: int, header: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/api/jobs?limit=5", headers={"X-MS-CLIENT-PRINCIPAL": header})
        check(conn.getresponse().status == HTTPStatus.OK, "the server did not answer")
        conn.close()
        times.append(time.monotonic() - started)
    return times


def follow_streams(services, users: list[str], probes: int) -> dict[str, object]:
    import uvicorn

    from api import create_app
    from web.auth import encode_client_principal

    jobs = {
        u: seed_job(
            services.blobs, services.index, user=u, status="running", levels=["INFO"]
        ).job_id
        for u in users
    }
    port = free_port()
    app = create_app(lambda: services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    other = encode_client_principal("zed")
    idle = probe(port, other, probes)
    held, statuses = [], []
    for user in users:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(
            "GET",
            f"/api/jobs/{jobs[user]}/logs?follow=true",
            headers={"X-MS-CLIENT-PRINCIPAL": encode_client_principal(user)},
        )
        statuses.append(conn.getresponse().status)
        held.append(conn)
    busy = probe(port, other, probes)
    open_streams = app.state.follow_gate.open_streams()
    for conn in held:
        conn.close()
    time.sleep(3)
    left = app.state.follow_gate.open_streams()
    server.should_exit = True
    thread.join(20)
    return {
        "streams": len(users),
        "ok_200": statuses.count(200),
        "refused_429": statuses.count(429),
        "idle_median_ms": round(statistics.median(idle) * 1000, 1),
        "busy_median_ms": round(statistics.median(busy) * 1000, 1),
        "busy_max_ms": round(max(busy) * 1000, 1),
        "streams_open": open_streams,
        "streams_open_3s_after_clients_left": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bomb-mb", type=int, default=400)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        azurite = start_azurite(Path(tmp) / "azurite", in_memory=True)
        try:
            services = make_services(azurite, Path(tmp))
            packed = bomb(args.bomb_mb)
            plain = seed_job(services.blobs, services.index, levels=["INFO"])
            foreign = seed_job(services.blobs, services.index, function_name="foreign")
            marked = seed_job(services.blobs, services.index, function_name="marked")
            services.blobs.write(
                archived_log_path(foreign.parsed_job_id), packed, content_encoding="gzip"
            )
            services.blobs.write(
                archived_log_path(marked.parsed_job_id),
                packed,
                content_encoding="gzip",
                metadata={"source_etag": "forged"},
            )
            env = {
                **os.environ,
                "ASCEND_STORAGE_CONNECTION_STRING": azurite.connection_string,
                "ASCEND_CONTAINER": services.settings.container,
                "ASCEND_INDEX_PATH": str(services.settings.index_path),
                "ASCEND_USER": "alice",
            }
            rss = {
                name: cli_peak_rss(env, meta.job_id)
                for name, meta in (("plain", plain), ("foreign", foreign), ("marked", marked))
            }
            users = [f"u{n:03d}" for n in range(args.streams)]
            follow = follow_streams(services, users, args.probes)
        finally:
            azurite.stop()
    print(f"gzip bomb: {len(packed) // 1024} KiB inflating to {args.bomb_mb} MiB")
    for name, (code, mib, message) in rss.items():
        print(f"  jobs logs, {name:<8} exit {code}  peak RSS {mib:6.1f} MiB  {message[:90]}")
    print(f"follow: {follow}")
    print(
        orjson.dumps(
            {
                "bench": "hostile",
                "bomb_kib": len(packed) // 1024,
                "peak_rss_mib": {k: round(v[1], 1) for k, v in rss.items()},
                "follow": follow,
            }
        ).decode()
    )


if __name__ == "__main__":
    main()
