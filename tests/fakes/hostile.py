"""A local HTTP server that misbehaves on purpose, to test the client's fault handling over real sockets.

This is a test double on 127.0.0.1, not the SIE peer and not a model of a real SIE server: every answer is
scripted by the test. It resets connections, stalls, trickles, truncates and sends garbage, so the clients'
timeouts, retries and typed errors are proven against real TCP and real timing (``httpx.MockTransport`` never
opens a socket).

Usage::

    with HostileServer() as server:
        server.script(reset_before_headers(), respond_json(200, {...}))
        SIEClient(server.url).encode(...)
        assert server.counts["/v1/encode/BAAI/bge-m3"] == 2

Each request takes the next behaviour of the script; once the script is used up its last behaviour repeats.
Every request is recorded (``requests``) and counted per path (``counts``) before its behaviour runs, so a
test can assert that a generation reached the server exactly once. A behaviour that stalls waits until the
client hangs up (counted in ``hangups``), the server stops, or its own limit passes.

Behaviours: ``respond`` / ``respond_json`` (any status, headers and body: truncated, deeply nested, an error
envelope or a proxy's HTML), ``reset_before_headers``, ``reset_mid_body``, ``slow_headers``, ``slow_body``,
``sse`` (events, raw bytes and ``Pause``s; ending cleanly, with a reset or in a stall; with or without
``[DONE]``) and ``huge_line``. ``closed_port()`` gives a port that refuses connections.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

STALL_LIMIT = 5.0
"""The longest any behaviour stalls when the client does not hang up: a broken test cannot hang."""


@dataclass(frozen=True)
class Received:
    """One request, as the server read it off the socket."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Exchange:
    """The connection a behaviour answers on, and the request it answers."""

    sock: socket.socket
    request: Received
    server: HostileServer
    closed: bool = field(default=False)

    def send(self, data: bytes) -> bool:
        """Send bytes; False when the client has gone (reset or closed)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), not an orderly FIN."""
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.sock.close()

    def wait_for_hangup(self, limit: float = STALL_LIMIT) -> bool:
        """Stall, sending nothing, until the client closes the connection (True) or ``limit`` passes (False)."""
        deadline = time.monotonic() + limit
        while not self.server.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.02))
            if not readable:
                continue
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.server.record_hangup()
                return True
        return False


Behaviour = Callable[[Exchange], None]


# --- response building ------------------------------------------------------------------------


def head(status: int, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A status line and headers; every answer closes its connection (no keep-alive reuse across behaviours)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One frame of a ``Transfer-Encoding: chunked`` body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
SSE_HEADERS = (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("Transfer-Encoding", "chunked"))


def sse_event(event: Any) -> bytes:
    """A dict becomes ``data: <json>``; a str is a data value as is; bytes are sent verbatim."""
    if isinstance(event, bytes):
        return event
    data = event if isinstance(event, str) else json.dumps(event)
    return f"data: {data}\n\n".encode()


# --- behaviours -------------------------------------------------------------------------------


def respond(
    status: int, body: bytes = b"", content_type: str = "application/json", headers: Iterable[tuple[str, str]] = ()
) -> Behaviour:
    """A complete, well-framed answer (its body may still be garbage: truncated, nested, not UTF-8...)."""

    def behave(ex: Exchange) -> None:
        ex.send(head(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]) + body)

    return behave


def respond_json(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> Behaviour:
    return respond(status, json.dumps(obj).encode(), headers=headers)


def reset_before_headers() -> Behaviour:
    """Read the whole request, then reset the connection without answering."""
    return Exchange.reset


def reset_mid_body(status: int, body: bytes, content_type: str = "application/json", sent: int = 10) -> Behaviour:
    """Headers announcing the whole body, ``sent`` bytes of it, then a reset."""

    def behave(ex: Exchange) -> None:
        ex.send(head(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))]) + body[:sent])
        time.sleep(0.05)  # let the bytes leave before the RST
        ex.reset()

    return behave


def slow_headers(delay: float, then: Behaviour | None = None) -> Behaviour:
    """Say nothing for ``delay`` seconds (the client usually gives up first), then behave as ``then``."""

    def behave(ex: Exchange) -> None:
        if not ex.wait_for_hangup(delay) and then is not None:
            then(ex)

    return behave


def slow_body(status: int, body: bytes, content_type: str = "application/json", sent: int = 10) -> Behaviour:
    """Headers announcing the whole body, ``sent`` bytes of it, then silence until the client hangs up."""

    def behave(ex: Exchange) -> None:
        ex.send(head(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))]) + body[:sent])
        ex.wait_for_hangup()

    return behave


class Pause(float):
    """In an SSE script: sleep this many seconds before the next part."""


def sse(*parts: Any, done: bool = True, end: str = "close", stall: float = STALL_LIMIT) -> Behaviour:
    """A chunked ``text/event-stream``: each part is an event (see ``sse_event``) or a ``Pause``.

    ``done`` appends ``data: [DONE]``. ``end`` says how the stream stops: ``"close"`` (the last chunk, then an
    orderly close), ``"reset"`` (a TCP reset, no last chunk) or ``"stall"`` (silence until the client hangs up,
    at most ``stall`` seconds).
    """
    if end not in ("close", "reset", "stall"):
        raise ValueError(f"unknown end {end!r}")

    def behave(ex: Exchange) -> None:
        if not ex.send(head(200, SSE_HEADERS)):
            return
        for part in [*parts, "[DONE]"] if done else parts:
            if isinstance(part, Pause):
                time.sleep(part)
            elif not ex.send(chunk(sse_event(part))):
                return
        if end == "close":
            ex.send(LAST_CHUNK)
        elif end == "reset":
            time.sleep(0.05)  # let the events leave before the RST
            ex.reset()
        else:
            ex.wait_for_hangup(stall)

    return behave


def huge_line(payload: bytes, end: str) -> Behaviour:
    """An SSE stream whose only content is ``payload`` (say, one 10 MB line, no newline), sent without a copy.

    ``end="close"`` ends the body properly after it; ``"stall"`` then waits for the client to hang up.
    """

    def behave(ex: Exchange) -> None:
        framing = head(200, SSE_HEADERS) + b"%x\r\n" % len(payload)
        sent = ex.send(framing) and ex.send(payload) and ex.send(b"\r\n")
        if sent and end == "close":
            ex.send(LAST_CHUNK)
        else:
            ex.wait_for_hangup()

    return behave


def unscripted(ex: Exchange) -> None:
    respond(500, b"hostile server: nothing scripted", "text/plain")(ex)


# --- the server -------------------------------------------------------------------------------


def _read_request(sock: socket.socket) -> Received | None:
    """One HTTP/1.1 request with a Content-Length body (what httpx sends), or None if the client left early."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            return None
        data += part
    header_block, body = data.split(b"\r\n\r\n", 1)
    request_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            return None
        body += part
    return Received(method, path, headers, body[:length])


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        sock: socket.socket = self.request
        try:
            request = _read_request(sock)
        except OSError:
            return
        if request is None:
            return
        behaviour = owner.record(request)
        with contextlib.suppress(OSError):  # the client went away mid-answer: many behaviours provoke that
            behaviour(Exchange(sock, request, owner))


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, owner: HostileServer, port: int) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler)


class HostileServer:
    """A scripted HTTP/1.1 server on 127.0.0.1 in a background thread (see the module docstring)."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Condition()
        self._script: list[Behaviour] = []
        self._taken = 0
        self.requests: list[Received] = []
        self.counts: Counter[str] = Counter()
        self.hangups = 0
        self.stopping = threading.Event()
        self._tcp = _TCPServer(self, port)
        self._thread = threading.Thread(target=self._tcp.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._tcp.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *behaviours: Behaviour) -> HostileServer:
        """Append behaviours: request n gets the n-th; the last one repeats once the script is used up."""
        with self._lock:
            self._script.extend(behaviours)
        return self

    def record(self, request: Received) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            self.counts[request.path] += 1
            if not self._script:
                return unscripted
            behaviour = self._script[min(self._taken, len(self._script) - 1)]
            self._taken += 1
            return behaviour

    def record_hangup(self) -> None:
        with self._lock:
            self.hangups += 1
            self._lock.notify_all()

    def wait_for_hangups(self, count: int, timeout: float = 2.0) -> bool:
        """Whether ``count`` clients hung up on a stalled answer within ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self.hangups >= count, timeout)

    @property
    def total(self) -> int:
        return len(self.requests)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused (ECONNREFUSED)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
