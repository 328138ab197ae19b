"""A small threaded TCP proxy on 127.0.0.1 that injects real transient faults in front of Azurite.

It forwards bytes both ways and recognizes the start of each HTTP request on a connection (the
first client bytes after a response, or on a new connection). Planned faults apply to the next
requests, in order:

- `drop`: close the client's connection without forwarding the request (nothing reaches Azurite);
- `reset`: forward the request, let Azurite answer, pass on a few bytes of the answer, then reset
  the connection (the request *did* land: the client just never learns it);
- `delay`: hold the request for `seconds` before forwarding it (a slow network or server);
- `busy`: answer the request itself, as Azure Storage does past a scalability target: `503 Server
  Busy` with error code `ServerBusy` and `Retry-After: {seconds}`, and close the connection
  (nothing reaches Azurite).

    with FaultProxy(azurite.port) as proxy:
        proxy.inject("drop", times=2)
        store = AzureBlobStore.from_settings(settings_via(proxy), retry=fast_retry)
        ...
        assert proxy.requests == 3
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Fault = Literal["drop", "reset", "delay", "busy"]
FOREVER = -1


@dataclass
class _Plan:
    fault: Fault
    times: int  # FOREVER: until cleared
    after: int  # requests to let through first
    seconds: float


class FaultProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, injecting planned faults."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.requests = 0
        self.request_lines: list[str] = []  # "PUT /account/container/blob?comp=tags", in order
        self.connections = 0
        self.faults_applied = 0
        self._plans: deque[_Plan] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True)

    # ---- control -------------------------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int = 1, after: int = 0, seconds: float = 0.0) -> None:
        """Apply `fault` to `times` requests (FOREVER: until `clear`) after letting `after` pass."""
        with self._lock:
            self._plans.append(_Plan(fault, times, after, seconds))

    def clear(self) -> None:
        """Forget every planned fault."""
        with self._lock:
            self._plans.clear()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- plumbing ------------------------------------------------------------------------------

    def _next_fault(self, first: bytes = b"") -> _Plan | None:
        """Count one request; the fault that applies to it, if any."""
        with self._lock:
            self.requests += 1
            self.request_lines.append(
                first.split(b"\r\n", 1)[0].rsplit(b" ", 1)[0].decode("latin-1")
            )
            if not self._plans:
                return None
            plan = self._plans[0]
            if plan.after > 0:
                plan.after -= 1
                return None
            if plan.times != FOREVER:
                plan.times -= 1
                if plan.times <= 0:
                    self._plans.popleft()
            self.faults_applied += 1
            return plan

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        with client, upstream, selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, "client")
            selector.register(upstream, selectors.EVENT_READ, "upstream")
            _Pump(self, client, upstream, selector).run()


class _Pump:
    """One proxied connection: forwards both ways and applies faults at request starts."""

    def __init__(
        self,
        proxy: FaultProxy,
        client: socket.socket,
        upstream: socket.socket,
        selector: selectors.BaseSelector,
    ) -> None:
        self.proxy, self.client, self.upstream, self.selector = proxy, client, upstream, selector
        self.awaiting_request = True
        self.reset_on_answer = False

    def run(self) -> None:
        while not self.proxy._stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    return
                if not data:
                    return
                keep_going = (
                    self._from_client(data) if key.data == "client" else self._from_upstream(data)
                )
                if not keep_going:
                    return

    def _from_client(self, data: bytes) -> bool:
        if self.awaiting_request:
            self.awaiting_request = False
            plan = self.proxy._next_fault(data)
            if plan is not None and plan.fault == "drop":
                _reset(self.client)
                return False
            if plan is not None and plan.fault == "busy":
                self.client.sendall(_server_busy(plan.seconds))
                self.client.close()
                return False
            if plan is not None and plan.fault == "delay":
                time.sleep(plan.seconds)
            self.reset_on_answer = plan is not None and plan.fault == "reset"
        self.upstream.sendall(data)
        return True

    def _from_upstream(self, data: bytes) -> bool:
        if self.reset_on_answer:
            self.client.sendall(data[: min(12, len(data) // 2)])
            _reset(self.client)
            return False
        self.client.sendall(data)
        self.awaiting_request = True
        return True


_BUSY_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
    b"<Message>Operations per second is over the account limit.</Message></Error>"
)


def _server_busy(retry_after: float) -> bytes:
    """Azure Storage's answer to a request past the account's or a partition's target."""
    head = (
        "HTTP/1.1 503 Operations per second is over the account limit.\r\n"
        "Content-Type: application/xml\r\n"
        "x-ms-error-code: ServerBusy\r\n"
        f"Retry-After: {retry_after:g}\r\n"
        f"Content-Length: {len(_BUSY_BODY)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + _BUSY_BODY


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or middlebox would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()
