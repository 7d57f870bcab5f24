"""Fault handling over real sockets: both clients against a local server that misbehaves on purpose.

``tests/fakes/hostile.py`` is a scripted HTTP server on 127.0.0.1 (not the SIE peer): it refuses, resets,
stalls, trickles, truncates and sends garbage. These tests prove, over real TCP and real timing, what
``test_retries.py`` proves on ``httpx.MockTransport``: the typed error of each fault, which calls are re-sent
(encode and score after a dropped connection; never a generation once it may have reached the server, checked
with the server's per-path request counter), the stream idle timeout ``stream_chunk_timeout``, and bounded
decoding of hostile bodies. Each test runs with ``SIEClient`` and ``AsyncSIEClient``. Retry waits are recorded
on a fake clock (fixture ``fake_sleeps``) except where the real clock is the point; timeouts are 0.2-0.5 s.
"""

from __future__ import annotations

import inspect
import json
import time
import tracemalloc
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest

from sie_integrations import (
    AsyncSIEClient,
    AsyncStream,
    ModelLoadFailedError,
    ModelLoadingError,
    RequestError,
    ServerError,
    SIEClient,
    SIEConnectionError,
    SIEStreamError,
    SIETimeoutError,
    Stream,
)
from sie_integrations._core import sse as _sse
from tests.fakes.hostile import (
    Behaviour,
    HostileServer,
    Pause,
    closed_port,
    huge_line,
    reset_before_headers,
    reset_mid_body,
    respond,
    respond_json,
    slow_body,
    slow_headers,
    sse,
)
from tests.fakes.scripted import CHAT_CHUNKS, CHAT_MODEL, assert_succeeded, generate_chunk, start

pytestmark = pytest.mark.usefixtures("sie_env_cleared")

EMBED_MODEL = "BAAI/bge-m3"
RERANK_MODEL = "BAAI/bge-reranker-v2-m3"
PATHS = {
    "encode": f"/v1/encode/{EMBED_MODEL}",
    "score": f"/v1/score/{RERANK_MODEL}",
    "generate": "/v1/generate/Qwen__Qwen3-4B-Instruct-2507",
    "stream_generate": "/v1/generate/Qwen__Qwen3-4B-Instruct-2507",
    "chat": "/v1/chat/completions",
    "stream_chat": "/v1/chat/completions",
}
IDEMPOTENT_OPS = ["encode", "score"]
GENERATION_OPS = ["generate", "chat", "stream_chat", "stream_generate"]
STREAM_OPS = ["stream_chat", "stream_generate"]
MSGPACK = "application/msgpack"


# --- canned answers ------------------------------------------------------------------------------


def f32(values: list[float]) -> dict[bytes, Any]:
    """A msgpack-numpy float32 array map, as SIE sends it."""
    data = np.asarray(values, dtype="<f4").tobytes()
    return {b"nd": True, b"type": "<f4", b"kind": b"", b"shape": [len(values)], b"data": data}


ENCODE_JSON = {"model": EMBED_MODEL, "items": [{"dense": {"dims": 3, "dtype": "float32", "values": [0.5, -0.25, 1.0]}}]}
ENCODE_MSGPACK: bytes = msgpack.packb(
    {"model": EMBED_MODEL, "items": [{"dense": {"dims": 3, "dtype": "float32", "values": f32([0.5, -0.25, 1.0])}}]},
    use_bin_type=True,
)
SCORE_JSON = {"model": RERANK_MODEL, "query_id": None, "scores": [{"item_id": "item-0", "score": 2.5, "rank": 0}]}
SCORE_MSGPACK: bytes = msgpack.packb(SCORE_JSON, use_bin_type=True)
GENERATE_JSON = {"model": CHAT_MODEL, "text": "a way to find", "finish_reason": "stop"}
CHAT_JSON = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1735000000,
    "model": CHAT_MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Cold"}, "finish_reason": "stop"}],
}
GENERATE_EVENTS = [generate_chunk(0, " a way"), generate_chunk(1, " to find"), generate_chunk(2, done=True)]
EVENTS = {"stream_chat": CHAT_CHUNKS, "stream_generate": GENERATE_EVENTS}
MODEL_LOADING = {"detail": {"code": "MODEL_LOADING", "message": "Model is loading"}}


def ok(op: str) -> Behaviour:
    """A well-formed success answer for ``op``."""
    if op == "encode":
        return respond(200, ENCODE_MSGPACK, MSGPACK)
    if op == "score":
        return respond(200, SCORE_MSGPACK, MSGPACK)
    if op == "generate":
        return respond_json(200, GENERATE_JSON)
    if op == "chat":
        return respond_json(200, CHAT_JSON)
    return sse(*EVENTS[op])


def full_body(op: str) -> tuple[bytes, str]:
    """The bytes and content type of ``op``'s non-streamed success answer."""
    bodies = {
        "encode": (ENCODE_MSGPACK, MSGPACK),
        "score": (SCORE_MSGPACK, MSGPACK),
        "generate": (json.dumps(GENERATE_JSON).encode(), "application/json"),
        "chat": (json.dumps(CHAT_JSON).encode(), "application/json"),
    }
    return bodies[op]


# --- driving both clients ------------------------------------------------------------------------

Client = SIEClient | AsyncSIEClient


class Driver:
    """Runs one operation with ``SIEClient`` or ``AsyncSIEClient`` against a real URL."""

    def __init__(self, mode: str, url: str) -> None:
        self.mode = mode
        self.url = url

    def client(self, **kwargs: Any) -> Client:
        kwargs.setdefault("timeout", 2.0)  # no test needs a real wait longer than that
        cls = SIEClient if self.mode == "sync" else AsyncSIEClient
        return cls(kwargs.pop("base_url", self.url), **kwargs)

    async def run(self, op: str, into: list[Any] | None = None, **kwargs: Any) -> Any:
        """The result of ``op``; a stream is drained into ``into`` (so a test sees the chunks before a raise)."""
        client = self.client(**kwargs)
        try:
            value = start(client, op)
            if isinstance(value, Stream):
                chunks = [] if into is None else into
                with value:
                    chunks.extend(value)
                return chunks
            if isinstance(value, AsyncStream):
                chunks = [] if into is None else into
                async with value:
                    async for chunk in value:
                        chunks.append(chunk)
                return chunks
            return await value if inspect.isawaitable(value) else value
        finally:
            if isinstance(client, SIEClient):
                client.close()
            else:
                await client.aclose()


@pytest.fixture(scope="module", autouse=True)
def _one_tls_context() -> Iterator[None]:
    """Every test makes new clients, and each httpx client loads the CA bundle (~20 ms) for TLS these plain-HTTP
    tests never use: share one context instead (when this httpx version has the hook; else tests are slower)."""
    transports = getattr(httpx, "_transports", None)
    default = getattr(transports, "default", None)
    if default is None or not hasattr(default, "create_ssl_context"):
        yield
        return
    context = default.create_ssl_context()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default, "create_ssl_context", lambda *args, **kwargs: context)
        yield


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def drive(mode: str, hostile: HostileServer, fake_sleeps: list[float]) -> Driver:
    return Driver(mode, hostile.url)


# --- refused connections ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["encode", "chat", "stream_generate"])
async def test_refused_connection_is_retried_then_a_connection_error(
    mode: str, fake_sleeps: list[float], op: str
) -> None:
    """Nothing listens on the port: ECONNREFUSED is retried (nothing was sent), then SIEConnectionError."""
    driver = Driver(mode, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(SIEConnectionError) as caught:
        await driver.run(op, max_retries=2)
    assert type(caught.value) is SIEConnectionError
    assert "cannot connect" in caught.value.message
    assert "after 2 retries" in caught.value.message
    assert len(fake_sleeps) == 2


@pytest.mark.parametrize("op", ["encode", "chat", "stream_chat"])
async def test_refused_until_the_server_listens_then_sent_once(
    mode: str, monkeypatch: pytest.MonkeyPatch, op: str
) -> None:
    """The port refuses the first attempt; during the retry wait a server starts on it: the call succeeds.

    Even a generation is re-sent after a refused connection, and the server receives it exactly once.
    """
    port = closed_port()
    late: list[HostileServer] = []

    def come_up(_: Any, seconds: float) -> None:
        if not late:
            late.append(HostileServer(port).script(ok(op)).start())

    async def acome_up(self: Any, seconds: float) -> None:
        come_up(self, seconds)

    monkeypatch.setattr(SIEClient, "_sleep", come_up)
    monkeypatch.setattr(AsyncSIEClient, "_sleep", acome_up)
    try:
        assert_succeeded(op, await Driver(mode, f"http://127.0.0.1:{port}").run(op))
    finally:
        for server in late:
            server.stop()
    assert late[0].counts == {PATHS[op]: 1}


# --- connection resets -------------------------------------------------------------------------------


def reset_fault(fault: str, op: str) -> Behaviour:
    if fault == "reset_before_headers":
        return reset_before_headers()
    body, content_type = full_body(op)
    return reset_mid_body(200, body, content_type, sent=len(body) // 2)


@pytest.mark.parametrize("fault", ["reset_before_headers", "reset_mid_body"])
@pytest.mark.parametrize("op", IDEMPOTENT_OPS)
async def test_reset_connection_is_resent_for_encode_and_score(
    drive: Driver, hostile: HostileServer, fake_sleeps: list[float], op: str, fault: str
) -> None:
    """The server resets the first connection (before headers, or half-way through the body), then answers."""
    hostile.script(reset_fault(fault, op), ok(op))
    assert_succeeded(op, await drive.run(op))
    assert hostile.counts == {PATHS[op]: 2}
    assert len(fake_sleeps) == 1


@pytest.mark.parametrize(
    ("fault", "op"),
    [("reset_before_headers", op) for op in GENERATION_OPS]
    + [("reset_mid_body", "generate"), ("reset_mid_body", "chat")],
)
async def test_reset_connection_never_resends_a_generation(
    drive: Driver, hostile: HostileServer, fake_sleeps: list[float], op: str, fault: str
) -> None:
    """The server resets the connection after reading a generation: SIEConnectionError, never a second request."""
    hostile.script(reset_fault(fault, op), ok(op))
    with pytest.raises(SIEConnectionError) as caught:
        await drive.run(op, max_retries=5)
    assert type(caught.value) is SIEConnectionError
    assert "not retried, since the request may have reached the server" in caught.value.message
    assert hostile.counts == {PATHS[op]: 1}
    assert fake_sleeps == []


@pytest.mark.parametrize("op", STREAM_OPS)
async def test_reset_in_the_middle_of_a_stream(drive: Driver, hostile: HostileServer, op: str) -> None:
    """The server sends two events, then resets: the two chunks arrive, then SIEConnectionError; one request."""
    hostile.script(sse(*EVENTS[op][:2], done=False, end="reset"), ok(op))
    chunks: list[Any] = []
    with pytest.raises(SIEConnectionError) as caught:
        await drive.run(op, chunks, max_retries=5)
    assert type(caught.value) is SIEConnectionError
    assert "not retried" in caught.value.message
    assert len(chunks) == 2
    assert hostile.counts == {PATHS[op]: 1}


# --- slow servers: the read timeout ----------------------------------------------------------------


@pytest.mark.parametrize("op", ["encode", "stream_chat"])
async def test_slow_headers_time_out_and_are_never_resent(drive: Driver, hostile: HostileServer, op: str) -> None:
    """The server reads the request and says nothing for 3 s: SIETimeoutError after the 0.2 s read timeout.

    A read timeout is not retried, even for encode: the server may still be working on the request.
    """
    hostile.script(slow_headers(3.0, then=ok(op)))
    began = time.monotonic()
    with pytest.raises(SIETimeoutError) as caught:
        await drive.run(op, timeout=0.2, max_retries=5)
    assert time.monotonic() - began < 1.5
    assert "ReadTimeout" in caught.value.message
    assert hostile.counts == {PATHS[op]: 1}
    assert hostile.wait_for_hangups(1)  # the client closed the connection


@pytest.mark.parametrize("op", ["encode", "chat"])
async def test_slow_body_times_out_and_is_never_resent(drive: Driver, hostile: HostileServer, op: str) -> None:
    """The server sends the headers and 10 bytes of the body, then stalls: SIETimeoutError, one request."""
    body, content_type = full_body(op)
    hostile.script(slow_body(200, body, content_type, sent=10), ok(op))
    with pytest.raises(SIETimeoutError):
        await drive.run(op, timeout=0.2, max_retries=5)
    assert hostile.counts == {PATHS[op]: 1}
    assert hostile.wait_for_hangups(1)


# --- stalled streams: stream_chunk_timeout -------------------------------------------------------------


@pytest.mark.parametrize("op", STREAM_OPS)
async def test_stalled_stream_fails_after_stream_chunk_timeout(drive: Driver, hostile: HostileServer, op: str) -> None:
    """The server streams one event, then goes silent: after stream_chunk_timeout (0.2 s, well before the 5 s
    read timeout) the stream raises SIETimeoutError, the response is closed, and nothing is re-sent."""
    hostile.script(sse(EVENTS[op][0], done=False, end="stall"), ok(op))
    chunks: list[Any] = []
    began = time.monotonic()
    with pytest.raises(SIETimeoutError) as caught:
        await drive.run(op, chunks, timeout=5.0, stream_chunk_timeout=0.2)
    elapsed = time.monotonic() - began
    assert 0.15 < elapsed < 2.0
    assert type(caught.value) is SIETimeoutError
    assert "sent nothing for 0.2s (stream_chunk_timeout)" in caught.value.message
    assert "not retried" in caught.value.message
    assert len(chunks) == 1
    assert hostile.wait_for_hangups(1)  # the client closed the stalled response
    assert hostile.counts == {PATHS[op]: 1}


async def test_stalled_stream_without_chunk_timeout_uses_the_read_timeout(
    drive: Driver, hostile: HostileServer
) -> None:
    """Without stream_chunk_timeout the stall is caught by the read timeout of ``timeout`` (0.2 s)."""
    hostile.script(sse(CHAT_CHUNKS[0], done=False, end="stall"))
    chunks: list[Any] = []
    with pytest.raises(SIETimeoutError) as caught:
        await drive.run("stream_chat", chunks, timeout=0.2)
    assert "timed out" in caught.value.message
    assert len(chunks) == 1
    assert hostile.wait_for_hangups(1)


async def test_stream_chunk_timeout_bounds_the_wait_for_the_first_bytes(drive: Driver, hostile: HostileServer) -> None:
    """The server sends no headers for 3 s: a stream gives up after stream_chunk_timeout, not the 5 s timeout."""
    hostile.script(slow_headers(3.0, then=ok("stream_chat")))
    began = time.monotonic()
    with pytest.raises(SIETimeoutError) as caught:
        await drive.run("stream_chat", timeout=5.0, stream_chunk_timeout=0.2)
    assert time.monotonic() - began < 2.0
    assert "stream_chunk_timeout" in caught.value.message
    assert hostile.counts == {PATHS["stream_chat"]: 1}


async def test_stream_chunk_timeout_is_per_chunk_not_per_stream(drive: Driver, hostile: HostileServer) -> None:
    """The server trickles events and keep-alive comments 0.06 s apart for ~0.36 s in all: longer than the 0.25 s
    stream_chunk_timeout, but never silent that long, so the whole stream arrives."""
    first, middle, last = CHAT_CHUNKS
    keep_alive = b": keep-alive\n\n"
    gap = Pause(0.06)
    quiet = [gap, keep_alive, gap, keep_alive, gap]
    hostile.script(sse(first, *quiet, middle, *quiet, last))
    began = time.monotonic()
    result = await drive.run("stream_chat", timeout=5.0, stream_chunk_timeout=0.25)
    assert time.monotonic() - began > 0.3
    assert_succeeded("stream_chat", result)


async def test_stream_chunk_timeout_leaves_other_calls_alone(drive: Driver, hostile: HostileServer) -> None:
    """A non-streamed chat answered after 0.25 s succeeds although stream_chunk_timeout is 0.1 s."""
    hostile.script(slow_headers(0.25, then=ok("chat")))
    assert_succeeded("chat", await drive.run("chat", timeout=3.0, stream_chunk_timeout=0.1))


# --- oversized, malformed and hostile stream content ---------------------------------------------------

TEN_MB = 10 * 1024 * 1024


async def peak_memory_of(drive: Driver, op: str) -> tuple[BaseException, int]:
    """The error ``op`` raises and the peak of Python allocations (all threads) while it ran.

    The caller scripts a normal answer first: that warm-up run loads everything the client imports lazily, so
    the traced run measures the stream, not first-use imports.
    """
    await drive.run(op)
    tracemalloc.start()
    try:
        with pytest.raises(SIEStreamError) as caught:
            await drive.run(op)
        return caught.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_ten_mb_line_over_the_event_limit_fails_with_bounded_memory(
    drive: Driver, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server sends ``data: `` and 10 MB without a newline. With the SSE event limit at 1 MiB the stream
    raises SIEStreamError (event_too_large) once the limit is passed: memory peaks far below the line's size,
    and the client closes the connection instead of reading the rest."""
    monkeypatch.setattr(_sse, "MAX_EVENT_BYTES", 1024 * 1024)
    hostile.script(ok("stream_chat"), huge_line(b"data: " + b"x" * TEN_MB, end="stall"))
    error, peak = await peak_memory_of(drive, "stream_chat")
    assert isinstance(error, SIEStreamError)
    assert error.code == "event_too_large"
    assert "exceeds 1048576 bytes" in error.message
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a 1 MiB limit"
    assert hostile.wait_for_hangups(1)
    assert hostile.counts == {PATHS["stream_chat"]: 2}


async def test_ten_mb_line_within_the_event_limit_then_end_is_a_clear_error(
    drive: Driver, hostile: HostileServer
) -> None:
    """The same 10 MB line under the default 16 MiB limit, then the body ends: SIEStreamError (malformed_stream,
    not JSON). Memory stays within a few times the limit, however much the server sends."""
    hostile.script(ok("stream_chat"), huge_line(b"data: " + b"x" * TEN_MB, end="close"))
    error, peak = await peak_memory_of(drive, "stream_chat")
    assert isinstance(error, SIEStreamError)
    assert error.code == "malformed_stream"
    assert "not JSON" in error.message
    assert peak < 3 * _sse.MAX_EVENT_BYTES, f"peak {peak} bytes for a 10 MB line"


@pytest.mark.parametrize("op", STREAM_OPS)
async def test_non_utf8_bytes_in_an_sse_data_line(drive: Driver, hostile: HostileServer, op: str) -> None:
    """After one good event the server sends ``data: {"text_delta": "\\xff\\xfe"}``: SIEStreamError, one request."""
    hostile.script(sse(EVENTS[op][0], b'data: {"text_delta": "\xff\xfe"}\n\n', *EVENTS[op][1:]))
    chunks: list[Any] = []
    with pytest.raises(SIEStreamError) as caught:
        await drive.run(op, chunks)
    assert type(caught.value) is SIEStreamError
    assert caught.value.code == "malformed_stream"
    assert "not UTF-8" in caught.value.message
    assert len(chunks) == 1
    assert hostile.counts == {PATHS[op]: 1}


@pytest.mark.parametrize(
    ("op", "events", "missing"),
    [
        ("stream_chat", CHAT_CHUNKS, "[DONE]"),
        ("stream_chat", CHAT_CHUNKS[:2], "its final chunk"),
        ("stream_generate", GENERATE_EVENTS[:2], "its final chunk"),
    ],
    ids=["chat-final-chunk-no-done", "chat-cut-short", "generate-cut-short"],
)
async def test_stream_ending_without_done(
    drive: Driver, hostile: HostileServer, op: str, events: list[dict[str, Any]], missing: str
) -> None:
    """The server ends the body cleanly (last chunk, orderly close) without ``data: [DONE]``: the answer may be
    incomplete, so SIEConnectionError after the chunks that came, and it is not re-sent."""
    hostile.script(sse(*events, done=False), ok(op))
    chunks: list[Any] = []
    with pytest.raises(SIEConnectionError) as caught:
        await drive.run(op, chunks)
    assert type(caught.value) is SIEConnectionError
    assert f"ended without {missing}" in caught.value.message
    assert len(chunks) == len(events)
    assert hostile.counts == {PATHS[op]: 1}


# --- hostile bodies: deep nesting and truncation -------------------------------------------------------

DEEP_JSON = b"[" * 100_000
DEEP_MSGPACK = b"\x91" * 100_000 + b"\xc0"


@pytest.mark.parametrize("op", ["chat", "generate", "encode", "score"])
async def test_deeply_nested_json_body_is_a_wire_format_error(drive: Driver, hostile: HostileServer, op: str) -> None:
    """A 200 whose JSON body opens 100,000 arrays: RequestError MALFORMED_RESPONSE, not a RecursionError."""
    hostile.script(respond(200, DEEP_JSON))
    with pytest.raises(RequestError) as caught:
        await drive.run(op, wire_format="json")
    assert type(caught.value) is RequestError
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert "nested too deeply" in caught.value.message
    assert hostile.counts == {PATHS[op]: 1}


@pytest.mark.parametrize("op", ["encode", "score"])
async def test_deeply_nested_msgpack_body_is_a_wire_format_error(
    drive: Driver, hostile: HostileServer, op: str
) -> None:
    """A 200 msgpack body of 100,000 nested one-element arrays: RequestError MALFORMED_RESPONSE."""
    hostile.script(respond(200, DEEP_MSGPACK, MSGPACK))
    with pytest.raises(RequestError) as caught:
        await drive.run(op)
    assert type(caught.value) is RequestError
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert "nested too deeply" in caught.value.message


async def test_deeply_nested_json_error_body_keeps_the_status(drive: Driver, hostile: HostileServer) -> None:
    """A 500 whose body opens 100,000 arrays: ServerError with the (shortened) body text as its message."""
    hostile.script(respond(500, DEEP_JSON))
    with pytest.raises(ServerError) as caught:
        await drive.run("chat")
    assert type(caught.value) is ServerError
    assert caught.value.status_code == 500
    assert caught.value.message.startswith("[[[[") and len(caught.value.message) < 2100


@pytest.mark.parametrize("op", STREAM_OPS)
async def test_deeply_nested_json_in_an_sse_event(drive: Driver, hostile: HostileServer, op: str) -> None:
    """An SSE event whose data opens 100,000 arrays: SIEStreamError malformed_stream, not a RecursionError."""
    hostile.script(sse(EVENTS[op][0], DEEP_JSON.decode(), *EVENTS[op][1:]))
    with pytest.raises(SIEStreamError) as caught:
        await drive.run(op)
    assert caught.value.code == "malformed_stream"
    assert "nested too deeply" in caught.value.message


@pytest.mark.parametrize(
    ("op", "wire", "body", "content_type"),
    [
        ("encode", "msgpack", ENCODE_MSGPACK[: len(ENCODE_MSGPACK) - 7], MSGPACK),
        ("score", "msgpack", SCORE_MSGPACK[: len(SCORE_MSGPACK) // 2], MSGPACK),
        ("encode", "json", json.dumps(ENCODE_JSON).encode()[:40], "application/json"),
        ("chat", "json", json.dumps(CHAT_JSON).encode()[:-20], "application/json"),
        ("generate", "json", json.dumps(GENERATE_JSON).encode()[:30], "application/json"),
    ],
    ids=["encode-msgpack", "score-msgpack", "encode-json", "chat-json", "generate-json"],
)
async def test_truncated_body_with_a_correct_status(
    drive: Driver, hostile: HostileServer, op: str, wire: str, body: bytes, content_type: str
) -> None:
    """A well-framed 200 whose body is cut short: RequestError MALFORMED_RESPONSE; a 200 is never re-sent."""
    hostile.script(respond(200, body, content_type), ok(op))
    with pytest.raises(RequestError) as caught:
        await drive.run(op, wire_format=wire)
    assert type(caught.value) is RequestError
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert hostile.counts == {PATHS[op]: 1}


# --- 5xx with and without an error envelope -------------------------------------------------------------

HTML = "text/html"
FIVE_XX = {
    "500-envelope": (
        500,
        {"detail": {"code": "INFERENCE_ERROR", "message": "CUDA error: device-side assert triggered"}},
        ServerError,
        "INFERENCE_ERROR",
        "CUDA error: device-side assert triggered",
    ),
    "500-html": (500, b"<html><h1>500 Internal Server Error</h1></html>", ServerError, None, "500 Internal"),
    "502-envelope": (
        502,
        {"detail": {"code": "MODEL_LOAD_FAILED", "message": "failed to load (GATED)", "error_class": "GATED"}},
        ModelLoadFailedError,
        "MODEL_LOAD_FAILED",
        "failed to load (GATED)",
    ),
    "502-html": (502, b"<html><center>502 Bad Gateway</center>nginx</html>", ServerError, None, "502 Bad Gateway"),
    "503-envelope": (
        503,
        {"error": {"message": "server overloaded", "type": "server_error", "code": "server_overloaded"}},
        ServerError,
        "server_overloaded",
        "server overloaded",
    ),
    "503-empty": (503, b"", ServerError, None, "HTTP 503"),
    "504-envelope": (
        504,
        {"error": {"message": "no result before the deadline", "code": "GATEWAY_TIMEOUT"}},
        ServerError,
        "GATEWAY_TIMEOUT",
        "no result before the deadline",
    ),
    "504-text": (504, b"upstream request timeout", ServerError, None, "upstream request timeout"),
}


@pytest.mark.parametrize("case", list(FIVE_XX))
@pytest.mark.parametrize("op", ["encode", "chat", "stream_chat"])
async def test_5xx_with_and_without_an_envelope(
    drive: Driver, hostile: HostileServer, fake_sleeps: list[float], op: str, case: str
) -> None:
    """The server answers a 5xx, with a JSON error envelope or with a proxy's HTML / text / empty body.

    The typed error carries the status and the envelope's code and message (the body text without one). Only a
    504 is retried, and only for encode (it is idempotent); chat never is, as it may have run.
    """
    status, body, expected, code, message = FIVE_XX[case]
    if isinstance(body, bytes):
        answer = respond(status, body, "text/plain" if case == "504-text" else HTML)
    else:
        answer = respond_json(status, body)
    hostile.script(answer)
    with pytest.raises(ServerError) as caught:
        await drive.run(op, max_retries=1)
    error = caught.value
    assert type(error) is expected
    assert error.status_code == status
    assert error.code == code
    assert message in error.message
    resent = status == 504 and op == "encode"
    assert hostile.counts == {PATHS[op]: 2 if resent else 1}
    assert len(fake_sleeps) == (1 if resent else 0)
    if expected is ModelLoadFailedError:
        assert error.details["error_class"] == "GATED"


# --- capacity: 503 MODEL_LOADING -------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["encode", "chat", "stream_chat"])
async def test_model_loading_with_retry_after_seconds_then_success(
    drive: Driver, hostile: HostileServer, fake_sleeps: list[float], op: str
) -> None:
    """503 MODEL_LOADING with ``Retry-After: 1``, then the answer: one wait of 1 s. Nothing ran on the server
    yet, so even a generation is sent again."""
    hostile.script(respond_json(503, MODEL_LOADING, headers=[("Retry-After", "1")]), ok(op))
    assert_succeeded(op, await drive.run(op))
    assert fake_sleeps == [1.0]
    assert hostile.counts == {PATHS[op]: 2}


@pytest.mark.parametrize("op", ["encode", "stream_generate"])
async def test_model_loading_with_retry_after_http_date_then_success(
    drive: Driver, hostile: HostileServer, fake_sleeps: list[float], op: str
) -> None:
    """503 MODEL_LOADING with an HTTP-date ``Retry-After`` 30 s ahead, then the answer: one wait of ~30 s."""
    retry_at = formatdate(time.time() + 30, usegmt=True)
    hostile.script(respond_json(503, MODEL_LOADING, headers=[("Retry-After", retry_at)]), ok(op))
    assert_succeeded(op, await drive.run(op))
    assert len(fake_sleeps) == 1
    assert 28.0 < fake_sleeps[0] <= 30.0
    assert hostile.counts == {PATHS[op]: 2}


@pytest.mark.parametrize("op", ["chat", "stream_generate"])
async def test_capacity_loop_ends_at_provision_timeout_on_the_real_clock(
    mode: str, hostile: HostileServer, op: str
) -> None:
    """503 MODEL_LOADING with ``Retry-After: 3600`` forever, provision_timeout=0.25, real sleeps: the client
    waits only what is left of its budget, tries once more, and raises ModelLoadingError ~0.25 s after it began."""
    hostile.script(respond_json(503, MODEL_LOADING, headers=[("Retry-After", "3600")]))
    began = time.monotonic()
    with pytest.raises(ModelLoadingError) as caught:
        await Driver(mode, hostile.url).run(op, provision_timeout=0.25)
    assert 0.2 < time.monotonic() - began < 2.0
    assert "provision_timeout=0.25s" in caught.value.message
    assert caught.value.retry_after == 3600.0
    # one wait of the whole budget, then a last attempt (a loop may wake a hair early and squeeze in one more)
    assert hostile.counts[PATHS[op]] in (2, 3)
