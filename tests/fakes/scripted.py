"""A scripted server behind ``httpx.MockTransport``: each request gets the next reply of a script.

``MockServer`` is the fake for protocol, error and retry scenarios, where each reply is written out; ``Harness``
runs one scenario with ``SIEClient`` or ``AsyncSIEClient`` (the ``sie`` fixture of ``tests/http``). The canned
bodies (``SUCCESS_BODIES``, ``CHAT_CHUNKS``, ...) are what a real server answers, shortened.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import msgpack

from sie_integrations import AsyncSIEClient, AsyncStream, SIEClient, Stream

BASE_URL = "http://sie.test"
CHAT_MODEL = "Qwen/Qwen3-4B-Instruct-2507"
CHAT_REQUEST: dict[str, Any] = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]}

Reply = Callable[[httpx.Request], httpx.Response]


class MockServer:
    """The handler of an ``httpx.MockTransport``: answers each request with the next scripted reply.

    Every request is recorded; once the script is used up, its last reply repeats.
    """

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[httpx.Request] = []

    @property
    def count(self) -> int:
        return len(self.requests)

    max_requests = 100
    """A client that loops without waiting fails the test instead of hanging it."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) > self.max_requests:
            raise AssertionError(f"the client sent more than {self.max_requests} requests to the MockTransport")
        if not self.replies:
            raise AssertionError(f"the MockTransport has no reply scripted for {request.method} {request.url}")
        return self.replies[min(len(self.requests) - 1, len(self.replies) - 1)](request)

    def client(self, **options: Any) -> httpx.Client:
        """An ``httpx.Client`` whose requests this server answers (``options``: more ``httpx.Client`` arguments)."""
        return httpx.Client(transport=httpx.MockTransport(self), **options)

    def async_client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose requests this server answers."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self), **options)

    def connection(self, base_url: str = BASE_URL) -> dict[str, Any]:
        """The arguments that connect an adapter (sync and async) to this server."""
        return {"base_url": base_url, "http_client": self.client(), "http_async_client": self.async_client()}

    def then(self, reply: Reply) -> MockServer:
        self.replies.append(reply)
        return self

    def reply(
        self,
        status: int = 200,
        body: Any = None,
        *,
        text: str | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> MockServer:
        """A JSON ``body``, a ``text`` body (text/plain unless ``headers`` say otherwise) or raw ``content``."""

        def build(request: httpx.Request) -> httpx.Response:
            if content is not None:
                return httpx.Response(status, content=content, headers=headers)
            if text is not None:
                return httpx.Response(status, text=text, headers=headers)
            if body is not None:
                return httpx.Response(status, json=body, headers=headers)
            return httpx.Response(status, headers=headers)

        return self.then(build)

    def msgpack(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> MockServer:
        packed = msgpack.packb(body, use_bin_type=True)
        return self.reply(status, content=packed, headers={"content-type": "application/msgpack", **(headers or {})})

    def raises(self, exc_type: type[httpx.TransportError], message: str = "mock transport failure") -> MockServer:
        def build(request: httpx.Request) -> httpx.Response:
            raise exc_type(message, request=request)

        return self.then(build)

    def sse(self, *events: Any, done: bool = True, status: int = 200) -> MockServer:
        """A ``text/event-stream`` body: dicts become ``data: <json>`` events, then ``data: [DONE]``."""
        return self.reply(status, content=sse_body(*events, done=done), headers={"content-type": "text/event-stream"})

    def ok(self, op: str) -> MockServer:
        """A successful answer for one of the operations of ``Harness.start``."""
        if op == "stream_chat":
            return self.sse(*CHAT_CHUNKS)
        if op == "stream_generate":
            return self.sse(*GENERATE_CHUNKS)
        return self.reply(200, SUCCESS_BODIES[op])


def sse_body(*events: Any, done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def chat_chunk(content: str | None = None, *, finish: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1735000000,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def generate_chunk(seq: int, text: str = "", *, done: bool = False, **extra: Any) -> dict[str, Any]:
    return {"request_id": "gen-req-1", "seq": seq, "text_delta": text, "done": done, **extra}


CHAT_CHUNKS = [
    chat_chunk("", role="assistant"),
    chat_chunk("Cold"),
    chat_chunk(finish="stop"),
]
GENERATE_CHUNKS = [
    generate_chunk(0, " a way"),
    generate_chunk(1, " to find"),
    generate_chunk(
        2,
        done=True,
        finish_reason="length",
        usage={"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    ),
]
SUCCESS_BODIES: dict[str, Any] = {
    "encode": {
        "model": "BAAI/bge-m3",
        "items": [{"dense": {"dims": 3, "dtype": "float32", "values": [0.5, -0.25, 1.0]}}],
    },
    "score": {"model": "BAAI/bge-reranker-v2-m3", "query_id": None, "scores": [{"item_id": "item-0", "score": 2.5}]},
    "extract": {
        "model": "urchade/gliner_multi-v2.1",
        "items": [
            {
                "id": "item-0",
                "entities": [{"text": "Ada", "label": "person", "score": 0.9, "start": 0, "end": 3, "bbox": None}],
                "relations": [],
                "classifications": [],
                "objects": [],
                "data": {},
            }
        ],
    },
    "generate": {"model": CHAT_MODEL, "text": "a way to find", "finish_reason": "stop"},
    "chat": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1735000000,
        "model": CHAT_MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Cold"}, "finish_reason": "stop"}],
    },
}


class FakeClock:
    """A monotonic clock that only moves when the (recorded) sleeps advance it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Client = SIEClient | AsyncSIEClient


def start(client: Client, op: str) -> Any:
    """Begin one operation: a coroutine (async), a result (sync) or a stream."""
    if op == "encode":
        return client.encode("BAAI/bge-m3", ["hello"])
    if op == "score":
        return client.score("BAAI/bge-reranker-v2-m3", "query", ["doc"])
    if op == "extract":
        return client.extract("urchade/gliner_multi-v2.1", ["Ada"], labels=["person"])
    if op == "generate":
        return client.generate(CHAT_MODEL, "Vector search is", max_new_tokens=4)
    if op == "chat":
        return client.chat_completions(CHAT_REQUEST)
    if op == "stream_chat":
        return client.stream_chat_completions(CHAT_REQUEST)
    if op == "stream_generate":
        return client.stream_generate(CHAT_MODEL, "Vector search is", max_new_tokens=4)
    raise AssertionError(f"unknown operation {op!r}")


class Harness:
    """Runs the same scenario against ``SIEClient`` or ``AsyncSIEClient`` talking to a MockTransport."""

    def __init__(self, mode: str, server: MockServer, sleeps: list[float]) -> None:
        self.mode = mode
        self.server = server
        self.sleeps = sleeps
        self.chat_request = CHAT_REQUEST
        self.chat_chunk = chat_chunk
        self.generate_chunk = generate_chunk

    def client(self, base_url: str = BASE_URL, **kwargs: Any) -> Client:
        transport = httpx.MockTransport(self.server)
        if self.mode == "sync":
            return SIEClient(base_url=base_url, http_client=httpx.Client(transport=transport), **kwargs)
        return AsyncSIEClient(base_url=base_url, http_client=httpx.AsyncClient(transport=transport), **kwargs)

    async def call(self, value: Any) -> Any:
        """The result of a client method call, awaited when the client is async."""
        return await value if inspect.isawaitable(value) else value

    async def drain(self, stream: Stream[Any] | AsyncStream[Any], into: list[Any] | None = None) -> list[Any]:
        """Every chunk of a stream (appended to ``into`` as they arrive, so a test sees them after a raise)."""
        chunks: list[Any] = [] if into is None else into
        if isinstance(stream, AsyncStream):
            async with stream:
                async for chunk in stream:
                    chunks.append(chunk)
        else:
            with stream:
                chunks.extend(stream)
        return chunks

    async def run(self, client: Client, op: str) -> Any:
        """Run one operation to its end; a stream is drained into a list of chunks."""
        value = start(client, op)
        if isinstance(value, (Stream, AsyncStream)):
            return await self.drain(value)
        return await self.call(value)


def assert_succeeded(op: str, result: Any) -> None:
    """The scripted success answer of conftest's ``MockServer.ok`` came back parsed."""
    if op == "encode":
        assert result[0].dense.tolist() == [0.5, -0.25, 1.0]
    elif op == "score":
        assert (result[0].index, result[0].score) == (0, 2.5)
    elif op == "extract":
        assert result[0].entities[0].text == "Ada"
    elif op == "generate":
        assert result.text == "a way to find"
    elif op == "chat":
        assert result.choices[0].message.content == "Cold"
    elif op == "stream_chat":
        assert [c.choices[0].delta.content for c in result] == ["", "Cold", None]
    elif op == "stream_generate":
        assert [c.text_delta for c in result] == [" a way", " to find", ""]
    else:  # pragma: no cover
        raise AssertionError(op)


async def sync_or_async(obj: Any, method: str, mode: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.method(...)`` when ``mode`` is "sync", else its async twin ``obj.amethod(...)`` awaited."""
    if mode == "sync":
        return getattr(obj, method)(*args, **kwargs)
    return await getattr(obj, "a" + method)(*args, **kwargs)
