"""Client behaviour around the exchange: headers and keys, request validation, result mapping, stream closing."""

from __future__ import annotations

import gc
import inspect
import json
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest

from sie_integrations import (
    AsyncSIEClient,
    Document,
    Item,
    ModelLoadingError,
    RequestError,
    SIEClient,
    SIEConnectionError,
    SIEError,
    SIEStreamError,
    __version__,
)
from tests.fakes.scripted import MockServer

SECRET = "sk-live-very-secret-0123456789"
CHAT = {"model": "Qwen/Qwen3-4B-Instruct-2507", "messages": [{"role": "user", "content": "hi"}]}

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")


# --- headers and keys --------------------------------------------------------------------------


async def test_no_authorization_header_without_a_key(sie: Any) -> None:
    """A MockTransport records the request of a client without api_key: no Authorization header at all."""
    sie.server.ok("encode")
    await sie.run(sie.client(), "encode")
    request = sie.server.requests[0]
    assert "authorization" not in request.headers
    assert "x-sie-machine-profile" not in request.headers
    assert "x-sie-pool" not in request.headers


async def test_bearer_key_is_sent_on_every_request(sie: Any) -> None:
    """A MockTransport records every request of a client with api_key: each carries ``Bearer <key>``."""
    sie.server.reply(503, {"detail": {"code": "MODEL_LOADING", "message": "x"}}, headers={"Retry-After": "1"}).ok(
        "encode"
    )
    await sie.run(sie.client(base_url="https://sie.test", api_key=SECRET), "encode")
    assert sie.server.count == 2
    assert [r.headers["authorization"] for r in sie.server.requests] == [f"Bearer {SECRET}"] * 2


@pytest.mark.parametrize(
    ("gpu", "pool_header", "profile_header"),
    [("eval-bench/l4", "eval-bench", "l4"), ("l4", None, "l4"), ("a100-80gb", None, "a100-80gb")],
)
async def test_gpu_spec_becomes_routing_headers(
    sie: Any, gpu: str, pool_header: str | None, profile_header: str
) -> None:
    """A MockTransport records the routing headers that ``gpu="pool/profile"`` or ``gpu="profile"`` produce."""
    sie.server.ok("generate")
    await sie.run(sie.client(gpu=gpu), "generate")
    headers = sie.server.requests[0].headers
    assert headers["x-sie-machine-profile"] == profile_header
    assert headers.get("x-sie-pool") == pool_header


async def test_pool_argument_without_gpu(sie: Any) -> None:
    """A MockTransport records ``pool="p1"``: only X-SIE-Pool is sent."""
    sie.server.ok("chat")
    await sie.run(sie.client(pool="p1"), "chat")
    headers = sie.server.requests[0].headers
    assert headers["x-sie-pool"] == "p1"
    assert "x-sie-machine-profile" not in headers


def test_conflicting_pool_and_gpu_are_refused() -> None:
    with pytest.raises(ValueError, match="names pool"):
        SIEClient(base_url="http://sie.test", gpu="a/l4", pool="b")


async def test_user_agent_names_the_library_and_version(sie: Any) -> None:
    """A MockTransport records the User-Agent: ``sie-integrations/<version>``."""
    sie.server.ok("score")
    await sie.run(sie.client(), "score")
    user_agent = sie.server.requests[0].headers["user-agent"]
    assert user_agent.startswith(f"sie-integrations/{__version__} ")
    assert "httpx/" in user_agent


async def test_extra_headers_cannot_override_owned_headers(sie: Any) -> None:
    """A MockTransport records the headers: extra headers pass, but never replace Authorization, routing or UA."""
    sie.server.ok("encode")
    extra = {
        "authorization": "Bearer stolen",
        "X-SIE-Pool": "other",
        "User-Agent": "evil/1.0",
        "Accept": "*/*",
        "X-Trace-Me": "yes",
    }
    client = sie.client(base_url="https://sie.test", api_key=SECRET, gpu="mine/l4", headers=extra)
    await sie.run(client, "encode")
    headers = sie.server.requests[0].headers
    assert headers.get_list("authorization") == [f"Bearer {SECRET}"]
    assert headers["x-sie-pool"] == "mine"
    assert headers["user-agent"].startswith("sie-integrations/")
    assert headers["accept"] == "application/msgpack"
    assert headers["x-trace-me"] == "yes"


async def test_extra_authorization_is_dropped_even_without_a_key(sie: Any) -> None:
    """A MockTransport records a keyless client's request: an Authorization passed in ``headers`` is not sent."""
    sie.server.ok("encode")
    await sie.run(sie.client(headers={"Authorization": "Bearer smuggled"}), "encode")
    assert "authorization" not in sie.server.requests[0].headers


async def test_content_negotiation_headers(sie: Any) -> None:
    """A MockTransport records Accept and Content-Type per route: msgpack natives, JSON chat, SSE streams."""
    sie.server.ok("encode")
    client = sie.client()
    await sie.run(client, "encode")
    sie.server.replies.clear()
    sie.server.ok("chat")
    await sie.run(client, "chat")
    sie.server.replies.clear()
    sie.server.ok("stream_generate")
    await sie.run(client, "stream_generate")
    encode, chat, stream = sie.server.requests
    assert (encode.headers["content-type"], encode.headers["accept"]) == ("application/msgpack", "application/msgpack")
    assert msgpack.unpackb(encode.content) == {"items": [{"text": "hello"}], "params": {"output_types": ["dense"]}}
    assert (chat.headers["content-type"], chat.headers["accept"]) == ("application/json", "application/json")
    assert stream.headers["accept"] == "text/event-stream"
    assert stream.url.path == "/v1/generate/Qwen__Qwen3-4B-Instruct-2507"
    assert json.loads(stream.content)["stream"] is True


async def test_key_never_appears_in_repr_or_str_of_client(sie: Any) -> None:
    """The client's repr/str masks the key (no request reaches the MockTransport)."""
    client = sie.client(base_url="https://sie.test", api_key=SECRET, gpu="p/l4")
    for text in (repr(client), str(client)):
        assert SECRET not in text
        assert "**********" in text
        assert "https://sie.test" in text
    assert sie.server.count == 0


@pytest.mark.parametrize(
    "scenario", ["http_error", "capacity", "connect", "read_timeout", "stream_error", "stream_cut", "item_error"]
)
async def test_key_never_appears_in_raised_errors(sie: Any, scenario: str) -> None:
    """A MockTransport makes calls of a keyed client fail in many ways: no error's repr or str has the key."""
    server = sie.server
    op = "encode"
    if scenario == "http_error":
        server.reply(401, {"error": {"message": "bad key", "code": "UNAUTHORIZED"}})
    elif scenario == "capacity":
        server.reply(503, {"detail": {"code": "MODEL_LOADING", "message": "loading"}}, headers={"Retry-After": "1"})
    elif scenario == "connect":
        server.raises(httpx.ConnectError, "refused")
    elif scenario == "read_timeout":
        server.raises(httpx.ReadTimeout, "slow")
    elif scenario == "stream_error":
        op = "stream_chat"
        server.sse({"choices": [], "error": {"message": "boom", "type": "server_error", "code": "x"}})
    elif scenario == "stream_cut":
        op = "stream_generate"
        server.sse(sie.generate_chunk(0, "a"), done=False)
    else:
        op = "extract"
        server.reply(200, {"model": "m", "items": [{"id": "item-0", "error": {"code": "X", "message": "bad"}}]})
    client = sie.client(base_url="https://sie.test", api_key=SECRET, max_retries=1, provision_timeout=3)
    with pytest.raises(SIEError) as caught:
        await sie.run(client, op)
    error = caught.value
    for text in (repr(error), str(error), error.message, repr(error.details), repr(error.args)):
        assert SECRET not in text
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_env_key_is_not_sent_to_another_base_url(monkeypatch: pytest.MonkeyPatch, sie_server: Any) -> None:
    """A MockTransport records requests: SIE_API_KEY goes only to the origin SIE_BASE_URL names."""
    monkeypatch.setenv("SIE_API_KEY", SECRET)
    monkeypatch.setenv("SIE_BASE_URL", "https://gateway.example")
    sie_server.ok("encode")
    other = SIEClient(base_url="http://sie.test", http_client=sie_server.client())
    other.encode("BAAI/bge-m3", ["hello"])
    assert "authorization" not in sie_server.requests[-1].headers
    assert sie_server.requests[-1].url.host == "sie.test"
    assert SECRET not in repr(other)
    assert "api_key=None" in repr(other)

    same = SIEClient(base_url="https://gateway.example/", http_client=sie_server.client())
    same.encode("BAAI/bge-m3", ["hello"])
    assert sie_server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"

    implicit = SIEClient(http_client=sie_server.client())
    implicit.encode("BAAI/bge-m3", ["hello"])
    assert implicit.base_url == "https://gateway.example"
    assert sie_server.requests[-1].url.host == "gateway.example"
    assert sie_server.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


def test_env_key_is_not_sent_to_an_explicit_url_when_no_base_url_is_set(
    monkeypatch: pytest.MonkeyPatch, sie_server: Any
) -> None:
    """A MockTransport records that an explicit base_url gets no env key when SIE_BASE_URL is unset."""
    monkeypatch.setenv("SIE_API_KEY", SECRET)
    sie_server.ok("encode")
    client = SIEClient(base_url="https://sie.test", http_client=sie_server.client())
    client.encode("BAAI/bge-m3", ["hello"])
    assert "authorization" not in sie_server.requests[0].headers


def test_malformed_env_base_url_does_not_break_an_explicit_base_url(
    monkeypatch: pytest.MonkeyPatch, sie_server: Any
) -> None:
    """A MockTransport records the request of a client with an explicit base_url while SIE_BASE_URL is malformed.

    The env key is not sent (the origins differ), and the unrelated variable does not make construction fail.
    """
    monkeypatch.setenv("SIE_API_KEY", SECRET)
    monkeypatch.setenv("SIE_BASE_URL", "localhost:8080")
    sie_server.ok("encode")
    client = SIEClient(base_url="http://localhost:8080", http_client=sie_server.client())
    client.encode("BAAI/bge-m3", ["hello"])
    assert "authorization" not in sie_server.requests[0].headers
    with pytest.raises(ValueError, match="absolute"):
        SIEClient()  # without an explicit base_url the malformed variable is the base URL: refused


def test_explicit_key_beats_the_env_key(monkeypatch: pytest.MonkeyPatch, sie_server: Any) -> None:
    """A MockTransport records the explicit api_key, not SIE_API_KEY."""
    monkeypatch.setenv("SIE_API_KEY", "sk-from-env")
    sie_server.ok("encode")
    client = SIEClient(base_url="https://sie.test", api_key=SECRET, http_client=sie_server.client())
    client.encode("BAAI/bge-m3", ["hello"])
    assert sie_server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_key_over_plain_http_to_a_remote_host_warns() -> None:
    with pytest.warns(UserWarning, match="unencrypted"):
        SIEClient(base_url="http://plain-http-warning.test", api_key=SECRET)


# --- chat request validation (nothing is sent) --------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "match"),
    [
        ({**CHAT, "frobnicate": True}, "frobnicate"),
        (
            {**CHAT, "messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "42"}]},
            "tool_call_id",
        ),
        (
            {**CHAT, "messages": [{"role": "user", "content": "x", "tool_call_id": "call_1"}]},
            "tool_call_id",
        ),
        (
            {
                **CHAT,
                "tools": [{"type": "function", "function": {"name": "get_weather"}}],
                "tool_choice": {"type": "function", "function": {"name": "get_time"}},
            },
            "get_time",
        ),
        ({**CHAT, "tool_choice": "required"}, "required"),
        ({**CHAT, "messages": []}, "messages"),
        ({**CHAT, "top_logprobs": 3}, "logprobs"),
        ({**CHAT, "stream": True}, "stream_chat_completions"),
    ],
)
async def test_invalid_chat_requests_are_refused_before_sending(
    sie: Any, request_body: dict[str, Any], match: str
) -> None:
    """The MockTransport handler is never called: the chat request is refused locally with ValueError."""
    client = sie.client()
    with pytest.raises(ValueError, match=match):
        await sie.call(client.chat_completions(request_body))
    assert sie.server.count == 0


async def test_invalid_stream_chat_request_is_refused_before_sending(sie: Any) -> None:
    """The MockTransport handler is never called: a bad streaming request fails when the stream is created."""
    client = sie.client()
    with pytest.raises(ValueError, match="unknown_field"):
        client.stream_chat_completions({**CHAT, "unknown_field": 1})
    assert sie.server.count == 0


async def test_valid_chat_request_sends_only_set_fields(sie: Any) -> None:
    """A MockTransport records the chat body: the fields set, ``stream: False`` dropped, nothing else."""
    sie.server.ok("chat")
    request = {
        **CHAT,
        "stream": False,
        "max_completion_tokens": 16,
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "cold"},
        ],
    }
    result = await sie.call(sie.client().chat_completions(request))
    assert result.choices[0].message.content == "Cold"
    body = json.loads(sie.server.requests[0].content)
    assert set(body) == {"model", "messages", "max_completion_tokens", "tools", "tool_choice"}
    assert body["messages"][2] == {"role": "tool", "content": "cold", "tool_call_id": "call_1"}


# --- score / encode / extract result mapping ----------------------------------------------------


async def test_score_maps_generated_item_ids_back_to_positions(sie: Any) -> None:
    """A MockTransport answers score results keyed ``item-<i>``, best first: each entry knows its input index."""
    sie.server.reply(
        200,
        {
            "model": "r",
            "scores": [
                {"item_id": "item-2", "score": 4.0, "rank": 0},
                {"item_id": "item-0", "score": 1.0, "rank": 1},
                {"item_id": "item-1", "score": -3.0, "rank": 2},
            ],
        },
    )
    entries = await sie.call(sie.client().score("r", "q", ["zero", "one", "two"]))
    assert [(e.index, e.item_id, e.score, e.rank) for e in entries] == [
        (2, "item-2", 4.0, 0),
        (0, "item-0", 1.0, 1),
        (1, "item-1", -3.0, 2),
    ]


async def test_score_maps_user_item_ids_back_to_positions(sie: Any) -> None:
    """A MockTransport answers score results with the caller's ids mixed with generated ones."""
    sie.server.reply(
        200,
        {
            "model": "r",
            "scores": [
                {"item_id": "item-1", "score": 0.9, "rank": 0},
                {"item_id": "doc-a", "score": 0.5, "rank": 1},
                {"item_id": "doc-c", "score": 0.1, "rank": 2},
            ],
        },
    )
    items = [Item(text="a", id="doc-a"), "b", Item(text="c", id="doc-c")]
    entries = await sie.call(sie.client(wire_format="json").score("r", Item(text="q", id="q1"), items))
    assert [(e.item_id, e.index) for e in entries] == [("item-1", 1), ("doc-a", 0), ("doc-c", 2)]
    sent = json.loads(sie.server.requests[0].content)
    assert sent["query"] == {"id": "q1", "text": "q"}
    assert [i.get("id") for i in sent["items"]] == ["doc-a", None, "doc-c"]


async def test_score_unknown_item_id_is_refused(sie: Any) -> None:
    """A MockTransport answers a score for an id that was never sent: RequestError, not a silent mix-up."""
    sie.server.reply(200, {"model": "r", "scores": [{"item_id": "stranger", "score": 1.0, "rank": 0}]})
    with pytest.raises(RequestError, match="stranger"):
        await sie.call(sie.client().score("r", "q", ["a"]))


def test_score_duplicate_ids_are_refused_before_sending(sie_server: Any) -> None:
    """The MockTransport is never called when two items would share an id (``item-1`` collides)."""
    client = SIEClient(base_url="http://sie.test", http_client=sie_server.client())
    with pytest.raises(ValueError, match="share the id"):
        client.score("r", "q", [Item(text="a", id="item-1"), "b"])
    assert sie_server.count == 0


async def test_encode_decodes_msgpack_numpy_arrays(sie: Any) -> None:
    """A MockTransport answers encode in msgpack with numpy-map arrays: dense and sparse come back as numpy."""

    def array(values: np.ndarray[Any, Any]) -> dict[bytes, Any]:
        return {
            b"nd": True,
            b"type": values.dtype.str,
            b"kind": b"",
            b"shape": list(values.shape),
            b"data": values.tobytes(),
        }

    dense = np.array([1.0, -2.0, 0.5], dtype="<f4")
    sparse = {
        "dims": 250002,
        "dtype": "float32",
        "indices": array(np.array([7, 42], dtype="<i4")),
        "values": array(np.array([0.25, 0.75], dtype="<f4")),
    }
    sie.server.msgpack(
        200,
        {
            "model": "m",
            "items": [{"id": "a", "dense": {"dims": 3, "dtype": "float32", "values": array(dense)}, "sparse": sparse}],
        },
    )
    results = await sie.call(sie.client().encode("m", [Item(text="x", id="a")], output_types=["dense", "sparse"]))
    assert results[0].id == "a"
    assert results[0].dense.dtype == np.float32
    assert results[0].dense.tolist() == [1.0, -2.0, 0.5]
    assert results[0].sparse.to_dict() == {"indices": [7, 42], "values": [0.25, 0.75]}


async def test_empty_inputs_send_nothing(sie: Any) -> None:
    """The MockTransport is never called for empty encode/score/extract inputs."""
    client = sie.client()
    assert await sie.call(client.encode("m", [])) == []
    assert await sie.call(client.score("m", "q", [])) == []
    assert await sie.call(client.extract("m", [])) == []
    assert sie.server.count == 0


# --- streams: success and early close -------------------------------------------------------------


async def test_streams_yield_every_chunk(sie: Any) -> None:
    """A MockTransport streams a chat answer split over SSE events: every chunk, in order, then the end."""
    sie.server.ok("stream_chat")
    chunks = await sie.run(sie.client(), "stream_chat")
    assert [c.choices[0].delta.content for c in chunks] == ["", "Cold", None]
    assert chunks[-1].choices[0].finish_reason == "stop"


EVENT_STREAM = {"content-type": "text/event-stream"}


class RecordingStream(httpx.SyncByteStream):
    """A response body that counts the events pulled and records whether it was closed."""

    def __init__(self, events: list[bytes]) -> None:
        self.events = events
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for event in self.events:
            self.pulled += 1
            yield event

    def close(self) -> None:
        self.closed = True


class AsyncRecordingStream(httpx.AsyncByteStream):
    def __init__(self, events: list[bytes]) -> None:
        self.events = events
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            self.pulled += 1
            yield event

    async def aclose(self) -> None:
        self.closed = True


def chat_events(count: int) -> list[bytes]:
    first = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    events = [first] + [
        {"choices": [{"index": 0, "delta": {"content": f"t{i}"}, "finish_reason": None}]} for i in range(count)
    ]
    return [f"data: {json.dumps(e)}\n\n".encode() for e in events]


def streaming(body: httpx.SyncByteStream | httpx.AsyncByteStream) -> MockServer:
    """A scripted server that answers with ``body`` as an event stream."""
    return MockServer().then(lambda request: httpx.Response(200, headers=EVENT_STREAM, stream=body))


def sync_stream_client(body: RecordingStream) -> tuple[SIEClient, list[httpx.Request]]:
    server = streaming(body)
    return SIEClient(base_url="http://sie.test", http_client=server.client()), server.requests


def test_leaving_a_with_block_early_closes_the_response() -> None:
    """A MockTransport streams 50 chunks from a recording body; breaking out of ``with`` closes it at once."""
    body = RecordingStream(chat_events(50))
    client, requests = sync_stream_client(body)
    with client.stream_chat_completions(CHAT) as stream:
        for chunk in stream:
            if chunk.choices[0].delta.content == "t1":
                break
        assert not body.closed
    assert body.closed
    assert body.pulled < 10
    assert len(requests) == 1


def test_stream_close_closes_the_response() -> None:
    """A MockTransport streams a recording body; ``Stream.close()`` after one chunk closes it."""
    body = RecordingStream(chat_events(50))
    client, _ = sync_stream_client(body)
    stream = client.stream_chat_completions(CHAT)
    first = next(stream)
    assert first.choices[0].delta.role == "assistant"
    stream.close()
    assert body.closed
    with pytest.raises(StopIteration):
        next(stream)


def test_breaking_out_of_a_bare_for_loop_closes_the_response() -> None:
    """A MockTransport streams a recording body; ``break`` from a plain for loop releases the stream and closes it."""
    body = RecordingStream(chat_events(50))
    client, _ = sync_stream_client(body)
    for _chunk in client.stream_chat_completions(CHAT):
        break
    assert body.closed
    assert body.pulled < 10


def test_closing_an_unstarted_stream_sends_nothing() -> None:
    """The MockTransport is never called when a stream is closed before its first chunk is asked for."""
    body = RecordingStream(chat_events(1))
    client, requests = sync_stream_client(body)
    with client.stream_chat_completions(CHAT):
        pass
    assert requests == []


def test_stream_error_closes_the_response() -> None:
    """A MockTransport streams a chunk then an error event from a recording body: raised and closed."""
    error = {"choices": [], "error": {"message": "boom", "type": "server_error", "code": "inference_error"}}
    body = RecordingStream([*chat_events(1), f"data: {json.dumps(error)}\n\n".encode()])
    client, _ = sync_stream_client(body)
    with pytest.raises(SIEStreamError):
        list(client.stream_chat_completions(CHAT))
    assert body.closed


def test_stream_broken_by_the_transport_is_a_connection_error_and_closed() -> None:
    """A MockTransport body raises httpx.ReadError mid-stream: SIEConnectionError, never re-sent, body closed."""

    class Breaking(RecordingStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from super().__iter__()
            raise httpx.ReadError("connection reset by peer")

    body = Breaking(chat_events(2))
    client, requests = sync_stream_client(body)
    received: list[Any] = []
    with pytest.raises(SIEConnectionError, match="not retried"):
        received.extend(client.stream_chat_completions(CHAT))
    assert body.closed
    assert len(requests) == 1


async def test_async_leaving_an_async_with_block_early_closes_the_response() -> None:
    """A MockTransport streams 50 chunks from an async recording body; leaving ``async with`` closes it."""
    body = AsyncRecordingStream(chat_events(50))
    server = streaming(body)
    requests = server.requests
    client = AsyncSIEClient(base_url="http://sie.test", http_client=server.async_client())
    async with client.stream_chat_completions(CHAT) as stream:
        async for chunk in stream:
            if chunk.choices[0].delta.content == "t0":
                break
        assert not body.closed
    assert body.closed
    assert body.pulled < 10
    assert len(requests) == 1


async def test_async_aclose_closes_the_response() -> None:
    """A MockTransport streams an async recording body; ``AsyncStream.aclose()`` after one chunk closes it."""
    body = AsyncRecordingStream(chat_events(50))
    client = AsyncSIEClient(base_url="http://sie.test", http_client=streaming(body).async_client())
    stream = client.stream_chat_completions(CHAT)
    first = await stream.__anext__()
    assert first.choices[0].delta.role == "assistant"
    await stream.aclose()
    assert body.closed


# --- health and models --------------------------------------------------------------------------


async def test_health_falls_back_to_readyz_on_a_standalone_server(sie: Any) -> None:
    """A MockTransport answers 404 on /health and ``ok`` on /readyz: a ready standalone server."""
    sie.server.reply(404, {"detail": "Not Found"}).reply(200, text="ok")
    health = await sie.call(sie.client().health())
    assert (health.ok, health.kind, health.status) == (True, "server", "ok")
    assert [r.url.path for r in sie.server.requests] == ["/health", "/readyz"]


async def test_health_of_a_gateway(sie: Any) -> None:
    """A MockTransport answers the gateway's /health JSON: degraded is not ok."""
    sie.server.reply(200, {"status": "degraded", "type": "gateway"})
    health = await sie.call(sie.client().health())
    assert (health.ok, health.kind, health.status) == (False, "gateway", "degraded")


async def test_get_model_keeps_the_slash_in_the_path(sie: Any) -> None:
    """A MockTransport records the model path: ``/v1/models/BAAI/bge-m3`` with the slash literal."""
    sie.server.reply(200, {"name": "BAAI/bge-m3", "inputs": ["text"], "outputs": ["dense"], "dims": {"dense": 1024}})
    model = await sie.call(sie.client().get_model("BAAI/bge-m3"))
    assert (model.name, model.dims) == ("BAAI/bge-m3", {"dense": 1024})
    assert sie.server.requests[0].url.raw_path == b"/v1/models/BAAI/bge-m3"


async def test_models_are_not_retried_when_loading_is_off(sie: Any) -> None:
    """A MockTransport answers 503 MODEL_LOADING to list_models with waiting off: ModelLoadingError, one request."""
    sie.server.reply(503, {"detail": {"code": "MODEL_LOADING", "message": "x"}})
    with pytest.raises(ModelLoadingError):
        await sie.call(sie.client(wait_for_capacity=False).list_models())
    assert sie.server.count == 1


def test_explicit_timeout_applies_to_an_injected_client() -> None:
    """The scripted server records the timeout extension of each request."""
    server = MockServer().reply(200, {"models": []})
    injected = server.client(timeout=99.0)
    SIEClient("http://sie.test", timeout=7.0, http_client=injected).list_models()
    SIEClient("http://sie.test", http_client=injected).list_models()
    seen = [request.extensions["timeout"] for request in server.requests]
    assert seen[0]["read"] == 7.0
    assert seen[1]["read"] == 99.0  # no timeout given: the injected client's own setting stands


def test_stream_chunk_timeout_is_the_read_timeout_of_streams_only() -> None:
    """The scripted server records the timeout extension of a chat, a chat stream and a generate stream."""

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.headers["accept"] == "text/event-stream":
            return httpx.Response(503, json={"detail": {"code": "MODEL_NOT_LOADED", "message": "x"}})
        return httpx.Response(404, json={"detail": {"code": "MODEL_NOT_FOUND", "message": "x"}})

    server = MockServer().then(refuse)
    client = SIEClient(
        "http://sie.test",
        timeout=httpx.Timeout(30.0, connect=4.0),
        stream_chunk_timeout=2.5,
        http_client=server.client(),
    )
    for call in (
        lambda: client.chat_completions(CHAT),
        lambda: list(client.stream_chat_completions(CHAT)),
        lambda: list(client.stream_generate("m", "p", max_new_tokens=1)),
    ):
        with pytest.raises(SIEError):
            call()
    seen = {
        f"{r.url.path} stream={r.headers['accept'] == 'text/event-stream'}": r.extensions["timeout"]
        for r in server.requests
    }
    assert seen["/v1/chat/completions stream=False"] == {"connect": 4.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert seen["/v1/chat/completions stream=True"] == {"connect": 4.0, "read": 2.5, "write": 30.0, "pool": 30.0}
    assert seen["/v1/generate/m stream=True"]["read"] == 2.5


def test_stream_chunk_timeout_keeps_an_injected_clients_other_timeouts() -> None:
    """No ``timeout``: a stream keeps the injected client's connect, write and pool timeouts, not its read one."""
    server = MockServer().reply(503, {"detail": {"code": "MODEL_NOT_LOADED", "message": "x"}})
    injected = server.client(timeout=httpx.Timeout(99.0, connect=3.0))
    with pytest.raises(SIEError):
        list(SIEClient("http://sie.test", stream_chunk_timeout=0.5, http_client=injected).stream_chat_completions(CHAT))
    assert [request.extensions["timeout"] for request in server.requests] == [
        {"connect": 3.0, "read": 0.5, "write": 99.0, "pool": 99.0}
    ]


@pytest.mark.parametrize("value", [0, -1.0, float("nan")])
@pytest.mark.parametrize("cls", [SIEClient, AsyncSIEClient])
def test_stream_chunk_timeout_must_be_positive(cls: type[SIEClient | AsyncSIEClient], value: float) -> None:
    with pytest.raises(ValueError, match="stream_chunk_timeout must be > 0"):
        cls("http://sie.test", stream_chunk_timeout=value)


def test_a_stop_iteration_from_the_transport_is_raised_not_taken_for_an_answer() -> None:
    """A transport that raises StopIteration: the call raises it, it never returns None."""

    def stop(request: httpx.Request) -> httpx.Response:
        raise StopIteration

    client = SIEClient("http://sie.test", http_client=MockServer().then(stop).client())
    with pytest.raises(StopIteration):
        client.list_models()
    with pytest.raises(StopIteration):
        client.encode_dense("m", ["x"])


def test_the_client_constructor_takes_every_client_option() -> None:
    """BaseClient.__init__ is written by hand: it must name exactly the ClientOptions fields (and http_client)."""
    from sie_integrations._http.base import BaseClient
    from sie_integrations._http.options import ClientOptions

    parameters = list(inspect.signature(BaseClient.__init__).parameters)
    assert parameters == ["self", *ClientOptions.model_fields, "http_client"]


def test_client_options_are_checked_as_a_plain_python_api() -> None:
    """The clients take options as given (no coercion) and refuse bad ones with one plain message."""
    with pytest.raises(ValueError, match=r"^wire_format must be 'msgpack' or 'json'$"):
        SIEClient("http://sie.test", wire_format="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^max_retries must be >= 0$"):
        SIEClient("http://sie.test", max_retries=-1)
    with pytest.raises(ValueError, match=r"^provision_timeout must be > 0$"):
        SIEClient("http://sie.test", provision_timeout=0)
    four = SIEClient("http://sie.test", timeout=(1.0, 2.0, 3.0, 4.0))  # type: ignore[arg-type]  # httpx takes it
    assert four._config.timeout == httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)


def test_error_messages_name_the_url_as_httpx_writes_it() -> None:
    """Every connection is refused: the message has httpx's normalised URL (host lower-cased)."""
    client = SIEClient(
        "http://SIE.TEST:80", http_client=MockServer().raises(httpx.ConnectError, "refused").client(), max_retries=0
    )
    with pytest.raises(SIEConnectionError, match=r"cannot connect to http://sie\.test/v1/models: refused"):
        client.list_models()


# --- memory ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_request_and_its_body_are_freed_once_its_answer_is_read(mode: str) -> None:
    """httpx keeps a response and its stream in a reference cycle, which held each request's body (a document,
    images) until the next garbage collection, tens of requests later; with the collector off, the request is
    gone as soon as the call returns."""
    sent: list[weakref.ref[httpx.Request]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(weakref.ref(request))
        parse = {"data": {"markdown": "# ok", "text": "ok", "document": {}}}
        return httpx.Response(200, json={"model": "docling", "items": [parse]})

    document = Document(b"# a document", "md", "a.md")
    transport = httpx.MockTransport(handler)
    gc.disable()
    try:
        if mode == "sync":
            with SIEClient("https://sie.test", http_client=httpx.Client(transport=transport)) as client:
                (parsed,) = client.parse("docling", [document])
        else:
            async with AsyncSIEClient(
                "https://sie.test", http_client=httpx.AsyncClient(transport=transport)
            ) as aclient:
                (parsed,) = await aclient.parse("docling", [document])
        assert parsed.markdown == "# ok"
        assert len(sent) == 1 and sent[0]() is None
    finally:
        gc.enable()


# --- no server named ------------------------------------------------------------------------------


def _refusing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


@pytest.mark.parametrize(
    ("api_key", "opening"),
    [(None, "no server was named"), ("", "no server was named"), ("sk-hosted", "an API key is set")],
)
def test_a_connection_error_says_no_server_was_named_and_how_to_name_one(
    monkeypatch: pytest.MonkeyPatch, api_key: str | None, opening: str
) -> None:
    """A MockTransport refuses the connection. A key and no base URL used to give only "cannot connect to
    http://localhost:8080/..."; now the message says the local default was tried, and how to name a server or
    SIE's hosted service."""
    client = SIEClient(
        api_key=api_key, max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(_refusing))
    )
    with pytest.raises(SIEConnectionError) as caught:
        client.encode("m", ["x"])
    assert str(caught.value) == (
        "cannot connect to http://localhost:8080/v1/encode/m: [Errno 111] Connection refused; "
        f"{opening}{' but no server was named' if api_key else ''}, so the local default http://localhost:8080 was "
        "tried: set SIE_BASE_URL (or base_url, --base-url) to your server's URL, or to https://api.superlinked.com "
        "for SIE's hosted service"
    )
    monkeypatch.setenv("SIE_BASE_URL", "http://localhost:8080")
    named = SIEClient(max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(_refusing)))
    with pytest.raises(SIEConnectionError, match=r"Connection refused$"):
        named.encode("m", ["x"])


# --- what the server said besides the results --------------------------------------------------------


async def test_results_keep_the_servers_timing_and_usage(sie: Any) -> None:
    """A MockTransport answers like the peer: encode with a ``timing`` and ``usage`` body, score with ``usage`` and
    timing headers only, extract with headers; each result carries its request's report (they used to drop it)."""
    sie.server.reply(
        200,
        {
            "model": "m",
            "items": [{"dense": {"dims": 2, "dtype": "float32", "values": [1.0, 0.0]}}] * 2,
            "timing": {
                "queue_ms": 1.5,
                "tokenization_ms": 0.25,
                "inference_ms": 7.0,
                "total_ms": 9.0,
                "postprocessing_ms": None,
            },
            "usage": {"input_tokens": 12},
        },
        headers={"X-Queue-Time": "99.00", "X-Total-Time": "99.00"},
    )
    encoded = await sie.call(sie.client().encode("m", ["a", "b"]))
    assert encoded[0].report.timing == {"queue_ms": 1.5, "tokenization_ms": 0.25, "inference_ms": 7.0, "total_ms": 9.0}
    assert encoded[0].report.usage == {"input_tokens": 12}
    assert encoded[1].report is encoded[0].report  # one request, one report

    timing = {"X-Queue-Time": "0.50", "X-Inference-Time": "3.25", "X-Total-Time": "4.00", "X-Tokenization-Time": "x"}
    sie.server.reply(
        200,
        {"model": "m", "scores": [{"item_id": "item-0", "score": 0.5, "rank": 0}], "usage": {"input_tokens": 6}},
        headers=timing,
    )
    (entry,) = await sie.call(sie.client().score("m", "q", ["a"]))
    assert entry.report.timing == {"queue_ms": 0.5, "inference_ms": 3.25, "total_ms": 4.0}
    assert entry.report.usage == {"input_tokens": 6}

    sie.server.reply(200, {"model": "m", "items": [{"id": "item-0", "entities": []}]}, headers=timing)
    (extracted,) = await sie.call(sie.client().extract("m", ["a"], labels=["person"]))
    assert extracted.report.timing == {"queue_ms": 0.5, "inference_ms": 3.25, "total_ms": 4.0}
    assert extracted.report.usage == {}
