"""Finding 4: `logs?follow=true` (and the dashboard's live tail) is bounded per caller and in
total, a client that leaves frees its stream, and the server keeps answering everyone else (a real
uvicorn, as `ascend serve`)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from api import create_app
from shared.services import Services
from tests.support.builders import seed_job
from web.auth import HEADER, encode_client_principal
from web.follow import FollowGate, TooManyStreams


@dataclass
class Server:
    port: int
    gate: FollowGate
    jobs: dict[str, str]

    def open_follow(self, user: str) -> tuple[http.client.HTTPConnection, int]:
        """Start following `user`'s running job: (the open connection, the status code)."""
        return self._open(f"/api/jobs/{self.jobs[user]}/logs?follow=true", user)

    def open_tail(self, user: str) -> tuple[http.client.HTTPConnection, int]:
        """Open the dashboard's live tail (SSE) of `user`'s running job."""
        return self._open(f"/jobs/{self.jobs[user]}/log/stream", user)

    def _open(self, path: str, user: str) -> tuple[http.client.HTTPConnection, int]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers={HEADER: encode_client_principal(user)})
        return conn, conn.getresponse().status

    def get(self, path: str, user: str) -> tuple[int, float]:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers={HEADER: encode_client_principal(user)})
        status = conn.getresponse().status
        conn.close()
        return status, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(services: Services) -> Iterator[Server]:
    """`ascend serve`'s app under uvicorn, with running jobs of alice, bob and carol."""
    jobs = {
        user: seed_job(
            services.blobs, services.index, user=user, status="running", levels=["INFO"]
        ).job_id
        for user in ("alice", "bob", "carol")
    }
    app = create_app(lambda: services)
    app.state.follow_gate = gate = FollowGate(per_caller=2, total=3)
    port = free_port()
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.05)
    yield Server(port, gate, jobs)
    runner.should_exit = True
    thread.join(15)


def test_follow_is_bounded_per_caller_and_in_total(server: Server) -> None:
    """Two streams per caller and three in all: the next one is a 429 at once."""
    alice = [server.open_follow("alice") for _ in range(2)]
    assert [status for _, status in alice] == [200, 200]
    assert server.open_follow("alice")[1] == 429
    bob = server.open_follow("bob")  # held open: a dropped connection frees its slot
    assert bob[1] == 200
    assert server.open_follow("carol")[1] == 429


def test_the_server_answers_others_while_streams_are_open(server: Server) -> None:
    """With every follow slot taken, a search by another user still answers promptly."""
    held = [server.open_follow(user) for user in ("alice", "alice", "bob")]
    assert all(status == 200 for _, status in held)
    status, seconds = server.get("/api/jobs", "dave")
    assert status == 200
    assert seconds < 5


def test_a_client_that_leaves_gives_its_slot_back(server: Server) -> None:
    """Closing the connection ends the stream on the server: the slot is free again."""
    streams = [server.open_follow("alice") for _ in range(2)]
    for conn, _ in streams:
        conn.close()
    deadline = time.monotonic() + 10
    while server.gate.open_streams() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.gate.open_streams() == 0
    assert server.open_follow("alice")[1] == 200


def test_the_dashboard_tail_shares_the_follow_bounds(server: Server) -> None:
    """The dashboard's live tail counts against the same gate: a third stream of alice's (API or
    tail) and a fourth in all are a 429 at once."""
    held = [server.open_tail("alice"), server.open_follow("alice")]
    assert [status for _, status in held] == [200, 200]
    assert server.open_tail("alice")[1] == 429
    assert server.open_follow("alice")[1] == 429
    held.append(server.open_tail("bob"))
    assert held[-1][1] == 200
    assert server.open_tail("carol")[1] == 429
    assert server.gate.open_streams() == 3


def test_a_dashboard_tail_that_leaves_gives_its_slot_back(server: Server) -> None:
    """Closing the browser's connection ends the tail on the server within a poll or so."""
    streams = [server.open_tail("alice") for _ in range(2)]
    for conn, _ in streams:
        conn.close()
    deadline = time.monotonic() + 10
    while server.gate.open_streams() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.gate.open_streams() == 0
    assert server.open_tail("alice")[1] == 200


def test_the_server_answers_others_while_tails_are_open(server: Server) -> None:
    """With every slot taken by dashboard tails, another user's search still answers promptly."""
    held = [server.open_tail(user) for user in ("alice", "alice", "bob")]
    assert all(status == 200 for _, status in held)
    status, seconds = server.get("/api/jobs", "dave")
    assert status == 200
    assert seconds < 5


def test_the_gate_counts_exactly() -> None:
    """Entering and leaving keep the per-caller and total counts exact."""
    gate = FollowGate(per_caller=1, total=2)
    gate.enter("a")
    with pytest.raises(TooManyStreams, match="already follows 1"):
        gate.enter("a")
    gate.enter("b")
    with pytest.raises(TooManyStreams, match="already serves 2"):
        gate.enter("c")
    gate.leave("a")
    gate.enter("c")
    assert gate.open_streams() == 2
