"""Error responses of every envelope become the right typed errors (protocol sections 2.6, 2.7, 9, 12)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sie_integrations import (
    AccountInactiveError,
    AccountStateUnavailableError,
    AsyncSIEClient,
    InputTooLongError,
    InsufficientCreditsError,
    Item,
    ModelLoadFailedError,
    ModelNotFoundError,
    PoolError,
    RateLimitError,
    RelayUnavailableError,
    RequestError,
    ServerError,
    SIEClient,
    SIEConnectionError,
    SIEError,
    SIEStreamError,
    SpendLimitError,
)

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")


# --- the envelopes of section 2.6, parsed directly -----------------------------------------


# --- status / code -> class (section 2.7 and 12) -------------------------------------------


# --- Retry-After ------------------------------------------------------------------------------


# --- the same, end to end through the clients (MockTransport) -------------------------------


async def test_native_404_through_the_client(sie: Any) -> None:
    """A MockTransport answers 404 MODEL_NOT_FOUND in the native envelope: ModelNotFoundError, one request."""
    sie.server.reply(
        404,
        {"detail": {"code": "MODEL_NOT_FOUND", "message": "Model 'nope/x' not found", "param": "model"}},
        headers={"x-sie-request-id": "req-1"},
    )
    client = sie.client()
    with pytest.raises(ModelNotFoundError) as caught:
        await sie.call(client.encode("nope/x", ["hello"]))
    error = caught.value
    assert (error.status_code, error.code, error.param) == (404, "MODEL_NOT_FOUND", "model")
    assert error.message == "Model 'nope/x' not found"
    assert error.request_id == "req-1"
    assert sie.server.count == 1
    assert sie.server.requests[0].url.path == "/v1/encode/nope/x"


async def test_lowercase_model_not_found_from_the_openai_envelope(sie: Any) -> None:
    """A MockTransport answers the chat route's lowercase ``model_not_found``: still ModelNotFoundError."""
    sie.server.reply(
        404,
        {
            "error": {
                "message": "The model `x` does not exist",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        },
    )
    with pytest.raises(ModelNotFoundError) as caught:
        await sie.call(sie.client().chat_completions(sie.chat_request))
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"
    assert caught.value.details["type"] == "invalid_request_error"
    assert sie.server.count == 1


async def test_header_code_decides_the_class_through_the_client(sie: Any) -> None:
    """A MockTransport sends X-SIE-Error-Code MODEL_NOT_FOUND over a generic body code: the header wins."""
    sie.server.reply(
        404,
        {"error": {"message": "no such model", "code": "not_found"}},
        headers={"X-SIE-Error-Code": "MODEL_NOT_FOUND"},
    )
    with pytest.raises(ModelNotFoundError) as caught:
        await sie.call(sie.client().generate("a/b", "p", max_new_tokens=1))
    assert caught.value.code == "MODEL_NOT_FOUND"
    assert caught.value.message == "no such model"


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (
            400,
            {"detail": {"code": "INPUT_TOO_LONG", "message": "too many tokens"}},
            InputTooLongError,
            "INPUT_TOO_LONG",
        ),
        (413, {"detail": {"code": "INPUT_TOO_LONG", "message": "body too large"}}, RequestError, "INPUT_TOO_LONG"),
        (500, {"detail": {"code": "INFERENCE_ERROR", "message": "boom"}}, ServerError, "INFERENCE_ERROR"),
        (
            501,
            {"error": {"message": "no backend", "code": "unsupported_operation"}},
            ServerError,
            "unsupported_operation",
        ),
        (
            403,
            {"error": {"message": "suspended", "code": "ACCOUNT_SUSPENDED"}},
            AccountInactiveError,
            "ACCOUNT_SUSPENDED",
        ),
        (
            402,
            {"error": {"message": "pay", "code": "INSUFFICIENT_CREDITS"}},
            InsufficientCreditsError,
            "INSUFFICIENT_CREDITS",
        ),
        (
            402,
            {"error": {"message": "cap", "code": "KEY_SPEND_LIMIT_EXCEEDED"}},
            SpendLimitError,
            "KEY_SPEND_LIMIT_EXCEEDED",
        ),
        (
            403,
            {"error": {"message": "no relay", "code": "THIRD_PARTY_REGION_UNAVAILABLE", "key_region": "eu"}},
            RelayUnavailableError,
            "THIRD_PARTY_REGION_UNAVAILABLE",
        ),
        (
            503,
            {"error": {"message": "cannot read the account", "code": "ACCOUNT_STATE_UNAVAILABLE"}},
            AccountStateUnavailableError,
            "ACCOUNT_STATE_UNAVAILABLE",
        ),
    ],
)
async def test_terminal_errors_through_the_client(
    sie: Any, status: int, body: dict[str, Any], expected: type[SIEError], code: str
) -> None:
    """A MockTransport answers a terminal error: the exact class, its status and code, and no retry."""
    sie.server.reply(status, body)
    with pytest.raises(SIEError) as caught:
        await sie.call(sie.client().encode("BAAI/bge-m3", ["hello"]))
    assert type(caught.value) is expected
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert sie.server.count == 1
    assert sie.sleeps == []


async def test_model_load_failed_is_not_retried_even_while_waiting_for_capacity(sie: Any) -> None:
    """A MockTransport answers 502 MODEL_LOAD_FAILED: ModelLoadFailedError at once with its extras."""
    sie.server.reply(
        502,
        {
            "detail": {
                "code": "MODEL_LOAD_FAILED",
                "message": "Model 'org/x' failed to load (GATED, attempts=2)",
                "error_class": "GATED",
                "attempts": 2,
                "permanent": True,
            }
        },
    )
    with pytest.raises(ModelLoadFailedError) as caught:
        await sie.call(sie.client(wait_for_capacity=True).encode("org/x", ["hello"]))
    assert caught.value.status_code == 502
    assert caught.value.error_class == "GATED"
    assert caught.value.permanent is True
    assert sie.server.count == 1
    assert sie.sleeps == []


async def test_plain_text_503_through_the_client(sie: Any) -> None:
    """A MockTransport answers a text/plain 503 from a proxy: ServerError with the text and the status."""
    sie.server.reply(503, text="upstream connect error or disconnect/reset before headers")
    with pytest.raises(ServerError) as caught:
        await sie.call(sie.client().encode("BAAI/bge-m3", ["hello"]))
    assert caught.value.code is None
    assert caught.value.message == "upstream connect error or disconnect/reset before headers"
    assert "HTTP 503" in str(caught.value)
    assert sie.server.count == 1


async def test_shutdown_503_shape_c_is_not_retried(sie: Any) -> None:
    """A MockTransport answers the standalone shutdown 503 (shape C): ServerError, not retried."""
    sie.server.reply(503, {"error": "Service shutting down", "detail": "bye"}, headers={"Retry-After": "5"})
    with pytest.raises(ServerError) as caught:
        await sie.call(sie.client().score("BAAI/bge-reranker-v2-m3", "q", ["d"]))
    assert caught.value.message == "Service shutting down: bye"
    assert caught.value.retry_after == 5.0
    assert sie.server.count == 1


async def test_msgpack_error_body_through_the_client(sie: Any) -> None:
    """A MockTransport answers a msgpack-encoded OpenAI envelope: parsed like JSON."""
    sie.server.msgpack(
        400,
        {
            "error": {
                "message": "bad dtype",
                "type": "invalid_request_error",
                "param": "params.output_dtype",
                "code": "INVALID_INPUT",
            }
        },
    )
    with pytest.raises(RequestError) as caught:
        await sie.call(sie.client().encode("BAAI/bge-m3", ["hello"]))
    assert type(caught.value) is RequestError
    assert (caught.value.code, caught.value.param, caught.value.message) == (
        "INVALID_INPUT",
        "params.output_dtype",
        "bad dtype",
    )


async def test_rate_limit_without_retries_is_rate_limit_error(sie: Any) -> None:
    """A MockTransport answers 429 with Retry-After, no waiting and max_retries=0: RateLimitError with retry_after."""
    sie.server.reply(429, {"error": {"message": "slow down", "code": "RATE_LIMIT"}}, headers={"Retry-After": "3"})
    with pytest.raises(RateLimitError) as caught:
        await sie.call(sie.client(max_retries=0, wait_for_capacity=False).encode("BAAI/bge-m3", ["hello"]))
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 3.0
    assert sie.server.count == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_a_request_error_and_not_followed(sie: Any, status: int) -> None:
    """A MockTransport answers a 3xx with a Location: RequestError, and the Location is never requested."""
    sie.server.reply(status, headers={"location": "http://sie.test/elsewhere"}).reply(200, {"detail": "followed!"})
    with pytest.raises(RequestError) as caught:
        await sie.call(sie.client().generate("a/b", "p", max_new_tokens=1))
    assert type(caught.value) is RequestError
    assert caught.value.status_code == status
    assert "not followed" in caught.value.message
    assert sie.server.count == 1


def redirect_generate(request: httpx.Request) -> httpx.Response:
    """Redirects the generate route; would answer anything else (the redirect target) with a result."""
    if request.url.path == "/v1/generate/a__b":
        return httpx.Response(307, headers={"location": "http://sie.test/v1/generate/other"})
    return httpx.Response(200, json={"model": "a/b", "text": "generated twice"})


def test_redirect_not_followed_even_by_an_injected_client_that_follows(sie_server: Any) -> None:
    """A MockTransport answers 307 to an injected httpx.Client built with follow_redirects=True: still not followed.

    Following it would re-POST a generation, which the protocol never allows (sections 2.1 and 2.8).
    """
    sie_server.then(redirect_generate)
    http = sie_server.client(follow_redirects=True)
    client = SIEClient(base_url="http://sie.test", http_client=http)
    with pytest.raises(RequestError) as caught:
        client.generate("a/b", "p", max_new_tokens=1)
    assert caught.value.status_code == 307
    assert sie_server.count == 1
    with pytest.raises(RequestError):
        list(client.stream_generate("a/b", "p", max_new_tokens=1))
    assert [r.url.path for r in sie_server.requests] == ["/v1/generate/a__b"] * 2


async def test_async_redirect_not_followed_even_by_an_injected_client_that_follows(sie_server: Any) -> None:
    """A MockTransport answers 307 to an injected httpx.AsyncClient built with follow_redirects=True: not followed."""
    sie_server.then(redirect_generate)
    http = sie_server.async_client(follow_redirects=True)
    client = AsyncSIEClient(base_url="http://sie.test", http_client=http)
    with pytest.raises(RequestError) as caught:
        await client.generate("a/b", "p", max_new_tokens=1)
    assert caught.value.status_code == 307
    assert sie_server.count == 1
    with pytest.raises(RequestError):
        async for _ in client.stream_generate("a/b", "p", max_new_tokens=1):
            pass
    assert [r.url.path for r in sie_server.requests] == ["/v1/generate/a__b"] * 2


# --- errors inside and at the start of streams (section 9) ---------------------------------


async def test_mid_stream_chat_error_raises_stream_error_after_earlier_chunks(sie: Any) -> None:
    """A MockTransport streams two chat chunks and then an error event: SIEStreamError with its fields."""
    sie.server.sse(
        sie.chat_chunk("", role="assistant"),
        sie.chat_chunk("Once upon"),
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "choices": [],
            "request_id": "req-stream-9",
            "error": {
                "message": "context window exceeded",
                "type": "context_length_exceeded",
                "param": "messages",
                "code": "context_exceeded",
            },
        },
    )
    received: list[Any] = []
    with pytest.raises(SIEStreamError) as caught:
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request), received)
    assert [c.choices[0].delta.content for c in received] == ["", "Once upon"]
    error = caught.value
    assert isinstance(error, ServerError)
    assert error.code == "context_exceeded"
    assert error.error_type == "context_length_exceeded"
    assert error.param == "messages"
    assert error.message == "context window exceeded"
    assert error.request_id == "req-stream-9"
    assert error.status_code is None
    assert sie.server.count == 1


async def test_mid_stream_resource_exhausted_carries_retry_after(sie: Any) -> None:
    """A MockTransport streams an OOM error event with retry_after_s: it is kept, and nothing is re-sent."""
    sie.server.sse(
        sie.chat_chunk("", role="assistant"),
        {
            "choices": [],
            "error": {
                "message": "GPU OOM",
                "type": "server_error",
                "param": None,
                "code": "RESOURCE_EXHAUSTED",
                "retry_after_s": 4,
            },
        },
    )
    with pytest.raises(SIEStreamError) as caught:
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request))
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert caught.value.retry_after == 4.0
    assert caught.value.param is None
    assert sie.server.count == 1
    assert sie.sleeps == []


async def test_generate_stream_error_terminal_chunk_raises(sie: Any) -> None:
    """A MockTransport streams a generate delta, then ``done: true, finish_reason: "error"`` with an error."""
    sie.server.sse(
        sie.generate_chunk(0, "Hello"),
        sie.generate_chunk(
            1,
            done=True,
            finish_reason="error",
            error={"code": "inference_error", "message": "CUDA error", "param": "prompt"},
            usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        ),
    )
    received: list[Any] = []
    with pytest.raises(SIEStreamError) as caught:
        await sie.drain(sie.client().stream_generate("a/b", "p", max_new_tokens=4), received)
    assert [c.text_delta for c in received] == ["Hello"]
    assert caught.value.code == "inference_error"
    assert caught.value.message == "CUDA error"
    assert caught.value.param == "prompt"
    assert caught.value.request_id == "gen-req-1"


async def test_chat_stream_without_done_is_a_connection_error(sie: Any) -> None:
    """A MockTransport ends a chat stream after its finish_reason chunk but without ``data: [DONE]``."""
    sie.server.sse(
        sie.chat_chunk("", role="assistant"), sie.chat_chunk("Hi"), sie.chat_chunk(finish="stop"), done=False
    )
    received: list[Any] = []
    with pytest.raises(SIEConnectionError) as caught:
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request), received)
    assert not isinstance(caught.value, SIEStreamError)
    assert "[DONE]" in caught.value.message
    assert len(received) == 3


async def test_chat_stream_with_done_but_no_finish_reason_raises(sie: Any) -> None:
    """A MockTransport sends ``data: [DONE]`` but no chunk with a finish_reason: the answer is incomplete."""
    sie.server.sse(sie.chat_chunk("", role="assistant"), sie.chat_chunk("Hi"))
    received: list[Any] = []
    with pytest.raises(SIEConnectionError) as caught:
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request), received)
    assert "finish_reason" in caught.value.message
    assert len(received) == 2


async def test_chat_stream_cut_off_midway_raises(sie: Any) -> None:
    """A MockTransport ends a chat stream after a content chunk, with neither finish_reason nor [DONE]."""
    sie.server.sse(sie.chat_chunk("", role="assistant"), sie.chat_chunk("Hi"), done=False)
    with pytest.raises(SIEConnectionError):
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request))


async def test_generate_stream_without_done_chunk_raises(sie: Any) -> None:
    """A MockTransport sends generate deltas and ``[DONE]`` but no ``done: true`` chunk."""
    sie.server.sse(sie.generate_chunk(0, "a"), sie.generate_chunk(1, "b"))
    with pytest.raises(SIEConnectionError) as caught:
        await sie.drain(sie.client().stream_generate("a/b", "p", max_new_tokens=4))
    assert "done: true" in caught.value.message


async def test_generate_stream_without_done_marker_raises(sie: Any) -> None:
    """A MockTransport sends the ``done: true`` chunk but the body ends without ``data: [DONE]``."""
    sie.server.sse(sie.generate_chunk(0, "a"), sie.generate_chunk(1, done=True, finish_reason="stop"), done=False)
    with pytest.raises(SIEConnectionError) as caught:
        await sie.drain(sie.client().stream_generate("a/b", "p", max_new_tokens=4))
    assert "[DONE]" in caught.value.message


async def test_malformed_stream_event_raises_stream_error(sie: Any) -> None:
    """A MockTransport sends an event that is not JSON: SIEStreamError ``malformed_stream``."""
    sie.server.sse(sie.chat_chunk("", role="assistant"), "{not json")
    with pytest.raises(SIEStreamError) as caught:
        await sie.drain(sie.client().stream_chat_completions(sie.chat_request))
    assert caught.value.code == "malformed_stream"


@pytest.mark.parametrize("op", ["stream_chat", "stream_generate"])
async def test_non_200_at_stream_open_is_parsed_like_any_error(sie: Any, op: str) -> None:
    """A MockTransport refuses a stream with 400 unsupported_field: RequestError with code and param, one request."""
    sie.server.reply(
        400,
        {
            "error": {
                "message": "n > 1 cannot stream",
                "type": "invalid_request_error",
                "param": "n",
                "code": "unsupported_field",
            }
        },
    )
    with pytest.raises(RequestError) as caught:
        await sie.run(sie.client(), op)
    assert type(caught.value) is RequestError
    assert (caught.value.status_code, caught.value.code, caught.value.param) == (400, "unsupported_field", "n")
    assert caught.value.message == "n > 1 cannot stream"
    assert sie.server.count == 1


async def test_stream_open_404_is_model_not_found(sie: Any) -> None:
    """A MockTransport answers 404 ``{"detail": {...}}`` when a generate stream opens: ModelNotFoundError."""
    sie.server.reply(404, {"detail": {"code": "MODEL_NOT_FOUND", "message": "unknown", "param": "model"}})
    with pytest.raises(ModelNotFoundError):
        await sie.drain(sie.client().stream_generate("a/b", "p", max_new_tokens=4))
    assert sie.server.count == 1


# --- per-item and batch errors of native routes ------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [("INPUT_TOO_LONG", InputTooLongError), ("INVALID_INPUT", RequestError), ("INFERENCE_ERROR", ServerError)],
)
async def test_extract_item_error_names_the_item(sie: Any, code: str, expected: type[SIEError]) -> None:
    """A MockTransport answers 200 with the second extract item failed: the typed error names that item."""
    ok_item = {"id": "n1", "entities": [], "relations": [], "classifications": [], "objects": [], "data": {}}
    bad_item = {**ok_item, "id": "doc-b", "error": {"code": code, "message": "item refused"}}
    sie.server.reply(200, {"model": "m/x", "items": [ok_item, bad_item]})
    client = sie.client(wire_format="json")
    with pytest.raises(SIEError) as caught:
        await sie.call(client.extract("m/x", [Item(text="a", id="n1"), Item(text="b", id="doc-b")], labels=["p"]))
    error = caught.value
    assert type(error) is expected
    assert error.code == code
    assert error.item_index == 1
    assert "doc-b" in error.message
    assert "item refused" in error.message
    assert error.details["item_id"] == "doc-b"


async def test_extract_malformed_item_error_is_internal_error(sie: Any) -> None:
    """A MockTransport answers an extract item whose error has no code: INTERNAL_ERROR naming the server id."""
    sie.server.reply(200, {"model": "m/x", "items": [{"id": "item-0", "error": {}}]})
    with pytest.raises(ServerError) as caught:
        await sie.call(sie.client().extract("m/x", ["a"]))
    assert caught.value.code == "INTERNAL_ERROR"
    assert caught.value.item_index == 0
    assert "item-0" in caught.value.message


@pytest.mark.parametrize(
    ("op", "body", "code"),
    [
        ("encode", {"model": "m", "items": []}, "ENCODE_RESULT_COUNT_MISMATCH"),
        ("score", {"model": "m", "scores": []}, "SCORE_RESULT_COUNT_MISMATCH"),
        ("extract", {"model": "m", "items": []}, "EXTRACT_RESULT_COUNT_MISMATCH"),
    ],
)
async def test_result_count_mismatch_is_a_request_error(sie: Any, op: str, body: dict[str, Any], code: str) -> None:
    """A MockTransport answers 200 with fewer results than inputs: RequestError with a count-mismatch code."""
    sie.server.reply(200, body)
    with pytest.raises(RequestError) as caught:
        await sie.run(sie.client(), op)
    assert caught.value.code == code
    assert "0" in caught.value.message
    assert "1 inputs" in caught.value.message
    assert sie.server.count == 1


async def test_encode_too_many_results_is_also_a_mismatch(sie: Any) -> None:
    """A MockTransport answers 200 with two encode results for one input: RequestError."""
    item = {"dense": {"dims": 1, "dtype": "float32", "values": [1.0]}}
    sie.server.reply(200, {"model": "m", "items": [item, item]})
    with pytest.raises(RequestError, match="2 encode results for 1 inputs"):
        await sie.call(sie.client().encode("m", ["a"]))


@pytest.mark.parametrize("op", ["encode", "generate", "chat"])
async def test_malformed_success_body_is_a_request_error(sie: Any, op: str) -> None:
    """A MockTransport answers 200 with a body that is not JSON: RequestError MALFORMED_RESPONSE."""
    sie.server.reply(200, content=b"<html>oops</html>", headers={"content-type": "application/json"})
    with pytest.raises(RequestError) as caught:
        await sie.run(sie.client(), op)
    assert caught.value.code == "MALFORMED_RESPONSE"


# --- pools (section 11) ------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["create", "get", "delete"])
async def test_standalone_404_on_pools_says_pools_need_a_gateway(sie: Any, op: str) -> None:
    """A MockTransport answers FastAPI's ``{"detail": "Not Found"}`` like a standalone server: PoolError."""
    sie.server.reply(404, {"detail": "Not Found"})
    client = sie.client()
    call = {
        "create": lambda: client.create_pool("bench", {"l4": 1}),
        "get": lambda: client.get_pool("bench"),
        "delete": lambda: client.delete_pool("bench"),
    }[op]
    with pytest.raises(PoolError) as caught:
        await sie.call(call())
    assert "gateway" in caught.value.message
    assert "standalone" in caught.value.message
    assert caught.value.status_code == 404
    assert caught.value.pool_name == "bench"
    assert sie.server.count == 1


async def test_gateway_pool_not_found_is_none_and_false(sie: Any) -> None:
    """A MockTransport answers a gateway 404 POOL_NOT_FOUND: get_pool is None, delete_pool is False."""
    sie.server.reply(404, {"detail": {"code": "POOL_NOT_FOUND", "message": "pool 'bench' not found"}})
    client = sie.client()
    assert await sie.call(client.get_pool("bench")) is None
    assert await sie.call(client.delete_pool("bench")) is False
    assert [r.method for r in sie.server.requests] == ["GET", "DELETE"]
    assert all(r.url.path == "/v1/pools/bench" for r in sie.server.requests)


async def test_pool_server_error_is_pool_error_with_message(sie: Any) -> None:
    """A MockTransport answers 500 to get_pool: PoolError naming the pool and the server's message."""
    sie.server.reply(500, {"detail": {"code": "INTERNAL", "message": "database down"}})
    with pytest.raises(PoolError) as caught:
        await sie.call(sie.client().get_pool("bench"))
    assert caught.value.message == "pool 'bench': database down"
    assert caught.value.status_code == 500
    assert caught.value.code == "INTERNAL"


async def test_pool_found_and_deleted(sie: Any) -> None:
    """A MockTransport returns a PoolInfo and then 204 on delete: the pool, then True."""
    sie.server.reply(
        200, {"name": "bench", "spec": {"gpus": {"l4": 1}}, "status": {"state": "active", "assigned_workers": []}}
    ).reply(204)
    client = sie.client()
    pool = await sie.call(client.get_pool("bench"))
    assert pool is not None
    assert (pool.name, pool.state, pool.spec) == ("bench", "active", {"gpus": {"l4": 1}})
    assert await sie.call(client.delete_pool("bench")) is True
