"""Start and stop a real Azurite blob service (from the project's node_modules) on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.settings import azurite_connection_string

ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Azurite:
    """A running Azurite blob service."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    location: Path

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.host, self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_azurite(
    location: Path, port: int | None = None, timeout: float = 30.0, *, in_memory: bool = False
) -> Azurite:
    """Start Azurite's blob service with its data in `location`; wait until it answers.
    `in_memory`: data only in the process (`--inMemoryPersistence`), `location` holds the log."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"{AZURITE_BIN} is missing: run 'npm ci' (make run and make test do)")
    port = port or free_port()
    location.mkdir(parents=True, exist_ok=True)
    log = (location / "azurite.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own node_modules, fixed arguments
        [
            shutil.which("node") or "node",
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            *(["--inMemoryPersistence"] if in_memory else ["--location", str(location)]),
            "--silent",
            "--disableTelemetry",
            "--loose",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"Azurite exited with {process.returncode}: see {location}/azurite.log"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Azurite("127.0.0.1", port, process, location)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"Azurite did not listen on port {port} within {timeout} s")
