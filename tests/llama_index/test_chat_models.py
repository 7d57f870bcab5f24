"""SIEChatModel (LlamaIndex) on canned wire data (``ChatServer``): messages, responses, streams, token counting,
tools, structured output, request fields and logprobs."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import msgpack
import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from sie_integrations import RequestError, ServerError, SIEConnectionError, SIEStreamError
from sie_integrations._adapters.capabilities import ChatCapabilities
from sie_integrations.llama_index import (
    SIEChatModel,
)
from tests.fakes.chat import REQUEST_FIELDS, ChatServer, completion, delta, finish, model_info, sse

BASE_URL = "https://sie.test"
USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
ANSWER = '{"city": "Paris", "temp_c": 21}'
# A 1x1 PNG: real image bytes, so a double base64 encoding would show.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

Handler = Callable[[httpx.Request], httpx.Response]


def body_of(request: httpx.Request) -> Any:
    """A request body, msgpack (the default for encode, score and extract) or JSON."""
    if not request.content:
        return None
    if "msgpack" in request.headers.get("content-type", ""):
        return msgpack.unpackb(request.content, raw=False)
    return json.loads(request.content)


# --- canned chat answers -----------------------------------------------------------------


def usage_chunk(usage: dict[str, Any] = USAGE) -> dict[str, Any]:
    return {"id": "chatcmpl-2", "model": "m", "choices": [], "usage": usage}


def call_delta(
    index: int, *, id: str | None = None, name: str | None = None, args: str | None = None
) -> dict[str, Any]:
    function = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    entry: dict[str, Any] = {"index": index, "function": function}
    if id is not None:
        entry.update(id=id, type="function")
    return delta(tool_calls=[entry])


def error_response(status: int, param: str | None, code: str, message: str = "refused") -> httpx.Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return httpx.Response(status, json={"error": {"message": message, "type": kind, "param": param, "code": code}})


def chat_model(server: ChatServer, **kwargs: Any) -> SIEChatModel:
    return SIEChatModel(model="m", **server.connection(), **kwargs)


def user(text: str = "hi") -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


def tool_calls(response: ChatResponse) -> list[tuple[str | None, str, Any]]:
    return [
        (b.tool_call_id, b.tool_name, b.tool_kwargs) for b in response.message.blocks if isinstance(b, ToolCallBlock)
    ]


# --- SIEChatModel: metadata --------------------------------------------------------------


def test_metadata_context_window_from_the_server_asked_once() -> None:
    server = ChatServer(completion({"content": "ok"}))
    llm = chat_model(server, max_tokens=64)
    meta = llm.metadata
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is True
    assert meta.context_window == 32768
    assert meta.num_output == 64
    assert meta.model_name == "m"
    assert llm.metadata.context_window == 32768
    assert [r.url.path for r in server.lookups] == ["/v1/models/m"]


def test_metadata_falls_back_to_default_when_the_model_request_fails(caplog: pytest.LogCaptureFixture) -> None:
    server = ChatServer(
        completion({"content": "ok"}),
        info=httpx.Response(404, json={"detail": {"code": "MODEL_NOT_FOUND", "message": "no such model"}}),
    )
    llm = chat_model(server)
    with caplog.at_level(logging.WARNING, logger="sie_integrations"):
        assert llm.metadata.context_window == 3900
    assert "capabilities of m unknown" in caplog.text
    # The fallback is remembered: chat calls (which describe the model to callbacks) do not ask again.
    llm.chat(user())
    llm.chat(user())
    assert llm.metadata.context_window == 3900
    assert [r.url.path for r in server.lookups] == ["/v1/models/m"]
    assert len(server.chats) == 2


def test_explicit_context_window_sends_no_request() -> None:
    server = ChatServer(completion({"content": "ok"}))
    llm = chat_model(server, context_window=8192)
    assert llm.metadata.context_window == 8192
    llm.chat(user())
    assert [r.url.path for r in server.lookups] == []


# --- SIEChatModel: messages to the wire --------------------------------------------------


def test_message_conversion() -> None:
    server = ChatServer(completion({"content": "ok"}))
    history = [
        ChatMessage(role=MessageRole.SYSTEM, content="be brief"),
        ChatMessage(role=MessageRole.DEVELOPER, content="dev rules"),
        ChatMessage(role=MessageRole.USER, content="hi 你好", additional_kwargs={"name": "ann"}),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[
                ThinkingBlock(content="let me think"),
                TextBlock(text="checking"),
                ToolCallBlock(tool_call_id="t1", tool_name="f", tool_kwargs={"q": "日本"}),
                ToolCallBlock(tool_call_id="t2", tool_name="g", tool_kwargs='{"raw": 1}'),
            ],
        ),
        ChatMessage(role=MessageRole.TOOL, content="sunny", additional_kwargs={"tool_call_id": "t1"}),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            content="",
            additional_kwargs={
                "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "h", "arguments": '{"a": 1}'}}]
            },
        ),
        ChatMessage(
            role=MessageRole.USER,
            blocks=[ImageBlock(image=PNG, image_mimetype="image/png"), TextBlock(text="what is it?")],
        ),
    ]
    chat_model(server, temperature=0.2, top_k=5, seed=3, context_window=4096).chat(history, stop=["END"])
    sent = server.chats[0]
    image_url = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": "dev rules"},
        {"role": "user", "content": "hi 你好", "name": "ann"},
        {
            "role": "assistant",
            "content": "checking",
            "reasoning_content": "let me think",
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"q": "日本"}'}},
                {"id": "t2", "type": "function", "function": {"name": "g", "arguments": '{"raw": 1}'}},
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "t1"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "h", "arguments": '{"a": 1}'}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {"type": "text", "text": "what is it?"},
            ],
        },
    ]
    # Non-ASCII arguments travel as they are, not as \\u escapes.
    assert '"q": "日本"' in sent["messages"][3]["tool_calls"][0]["function"]["arguments"]
    assert (sent["temperature"], sent["top_k"], sent["seed"], sent["stop"]) == (0.2, 5, 3, ["END"])
    assert sent["model"] == "m"
    assert "stream" not in sent


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: ImageBlock(image=PNG), id="bytes"),
        pytest.param(lambda: ImageBlock(image=io.BytesIO(PNG), image_mimetype="image/png"), id="file-object"),
    ],
)
def test_image_bytes_become_a_data_uri(image: Callable[[], ImageBlock]) -> None:
    server = ChatServer(completion({"content": "a pixel"}))
    chat_model(server, context_window=4096).chat([ChatMessage(role=MessageRole.USER, blocks=[image()])])
    [part] = server.chats[0]["messages"][0]["content"]
    assert part["type"] == "image_url"
    prefix, _, data = part["image_url"]["url"].partition(",")
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(data) == PNG  # encoded exactly once


def test_bad_messages_are_refused_before_any_request() -> None:
    server = ChatServer(completion({"content": "ok"}))
    llm = chat_model(server, context_window=4096)
    with pytest.raises(ValueError, match="URLs"):
        llm.chat([ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(url="https://example.com/cat.png")])])
    with pytest.raises(ValueError, match="URLs"):
        llm.stream_chat([ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(url="https://example.com/cat.png")])])
    with pytest.raises(ValueError, match="tool_call_id"):
        llm.chat([ChatMessage(role=MessageRole.TOOL, content="orphan result")])
    assert server.requests == []


# --- SIEChatModel: responses -------------------------------------------------------------


def test_chat_response_blocks_usage_and_malformed_arguments() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "東京"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": '}},
        {"id": "c", "type": "function", "function": {"name": "get_list", "arguments": "[1, 2]"}},
    ]
    usage = {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
    server = ChatServer(
        completion(
            {"content": "Checking both.", "reasoning_content": "two lookups", "tool_calls": calls},
            finish="tool_calls",
            usage=usage,
        )
    )
    response = chat_model(server).chat(user("weather and time in Tokyo?"))
    blocks = response.message.blocks
    assert [type(b) for b in blocks] == [ThinkingBlock, TextBlock, ToolCallBlock, ToolCallBlock, ToolCallBlock]
    assert blocks[0].content == "two lookups"  # type: ignore[union-attr]
    assert response.message.content == "Checking both."
    assert response.message.role == MessageRole.ASSISTANT
    assert tool_calls(response) == [
        ("a", "get_weather", {"city": "東京"}),
        ("b", "get_time", '{"tz": '),  # malformed: kept as the string it is
        ("c", "get_list", "[1, 2]"),  # JSON, but not an object of arguments
    ]
    assert response.raw is not None
    assert response.raw["usage"] == usage
    assert response.raw["finish_reason"] == "tool_calls"
    assert response.raw["id"] == "chatcmpl-1"
    assert response.additional_kwargs == {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
    # The malformed call is still reported, with the arguments that could be read (none).
    selections = chat_model(server).get_tool_calls_from_response(response)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("a", "get_weather", {"city": "東京"}),
        ("b", "get_time", {}),
        ("c", "get_list", {}),
    ]


async def test_achat_and_acomplete() -> None:
    server = ChatServer(completion({"content": "async hello"}))
    llm = chat_model(server)
    response = await llm.achat(user())
    assert response.message.content == "async hello"
    assert response.raw is not None and response.raw["usage"]["total_tokens"] == 10
    done = await llm.acomplete("say hi")
    assert done.text == "async hello"
    assert server.chats[-1]["messages"] == [{"role": "user", "content": "say hi"}]


def test_complete_and_stream_complete() -> None:
    server = ChatServer(
        completion({"content": "hello there"}), sse(delta(content="hel"), delta(content="lo"), finish("stop"))
    )
    llm = chat_model(server)
    assert llm.complete("say hi").text == "hello there"
    assert server.chats[0]["messages"] == [{"role": "user", "content": "say hi"}]
    parts = list(llm.stream_complete("say hi"))
    assert [p.delta for p in parts] == ["hel", "lo", ""]
    assert [p.text for p in parts] == ["hel", "hello", "hello"]
    assert server.chats[1]["stream"] is True


# --- SIEChatModel: streaming -------------------------------------------------------------


def test_stream_chat_accumulates_and_ends_with_usage() -> None:
    server = ChatServer(sse(delta(role="assistant", content="Hel"), delta(content="lo"), finish("stop"), usage_chunk()))
    responses = list(chat_model(server).stream_chat(user()))
    sent = server.chats[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert [r.delta for r in responses] == ["Hel", "lo", ""]
    assert [r.message.content for r in responses] == ["Hel", "Hello", "Hello"]
    last = responses[-1]
    assert last.raw is not None
    assert last.raw["usage"] == USAGE
    assert last.raw["finish_reason"] == "stop"
    assert last.additional_kwargs == USAGE
    assert all(r.raw is not None and r.raw["usage"] is None for r in responses[:-1])


def test_stream_of_several_completions_is_refused_before_sending() -> None:
    server = ChatServer(sse(delta(content="x"), finish("stop")))
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        list(chat_model(server, n=2).stream_chat(user()))
    assert server.chats == []


def test_stream_usage_can_be_turned_off() -> None:
    server = ChatServer(sse(delta(content="x"), finish("stop")))
    responses = list(chat_model(server, stream_usage=False).stream_chat(user()))
    assert "stream_options" not in server.chats[0]
    assert responses[-1].message.content == "x"


def test_stream_reasoning_becomes_a_thinking_block() -> None:
    server = ChatServer(sse(delta(reasoning_content="think "), delta(content="done"), finish("stop")))
    responses = list(chat_model(server).stream_chat(user()))
    assert responses[0].delta == ""
    assert responses[0].additional_kwargs["thinking_delta"] == "think "
    blocks = responses[-1].message.blocks
    assert [type(b) for b in blocks] == [ThinkingBlock, TextBlock]
    assert blocks[0].content == "think "  # type: ignore[union-attr]
    assert responses[-1].message.content == "done"


SPEC_CALLS = [  # the spec: id and name once, then argument fragments; parallel calls by index
    call_delta(0, id="a", name="f", args=""),
    call_delta(0, args='{"x": '),
    call_delta(0, args="1}"),
    call_delta(1, id="b", name="g", args='{"y": '),
    call_delta(1, args="2}"),
]
F_AND_G = [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]

STREAMED_CALLS = [
    pytest.param(SPEC_CALLS, F_AND_G, id="parallel-by-index"),
    pytest.param(  # id and name repeated on every delta
        [
            call_delta(0, id="a", name="f", args='{"x": '),
            call_delta(0, id="a", name="f", args="1}"),
            call_delta(1, id="b", name="g", args='{"y": '),
            call_delta(1, id="b", name="g", args="2}"),
        ],
        F_AND_G,
        id="repeated-ids-and-names",
    ),
    pytest.param(  # every call at index 0, told apart by id
        [
            call_delta(0, id="a", name="f", args='{"x": 1}'),
            call_delta(0, id="b", name="g", args='{"y": '),
            call_delta(0, args="2}"),
        ],
        F_AND_G,
        id="all-at-index-0",
    ),
    pytest.param(  # the same tool twice at index 0: only the id tells the calls apart
        [
            call_delta(0, id="a", name="f", args='{"x": '),
            call_delta(0, args="1}"),
            call_delta(0, id="b", name="f", args='{"x": 2}'),
        ],
        [("a", "f", {"x": 1}), ("b", "f", {"x": 2})],
        id="same-tool-at-index-0",
    ),
    pytest.param(  # every call at index 0 and no ids at all: told apart by name
        [
            call_delta(0, name="f", args='{"x": '),
            call_delta(0, args="1}"),
            call_delta(0, name="g", args='{"y": 2}'),
        ],
        [(None, "f", {"x": 1}), (None, "g", {"y": 2})],
        id="index-0-without-ids",
    ),
    pytest.param(  # the same tool twice at index 0 without ids: the name again after complete arguments
        [
            call_delta(0, name="f", args='{"x": 1}'),
            call_delta(0, name="f", args='{"x": 2}'),
        ],
        [(None, "f", {"x": 1}), (None, "f", {"x": 2})],
        id="same-tool-at-index-0-without-ids",
    ),
]


@pytest.mark.parametrize(("events", "expected"), STREAMED_CALLS)
def test_stream_tool_call_deltas_are_merged(
    events: list[dict[str, Any]], expected: list[tuple[str | None, str, dict[str, Any]]]
) -> None:
    server = ChatServer(sse(*events, finish("tool_calls"), usage_chunk()))
    responses = list(chat_model(server).stream_chat(user()))
    last = responses[-1]
    calls = tool_calls(last)
    assert [(name, kwargs) for _, name, kwargs in calls] == [(name, kwargs) for _, name, kwargs in expected]
    ids = [call_id for call_id, _, _ in calls]
    assert all(ids) and len(set(ids)) == len(ids)
    assert [i if e is not None else None for i, (e, _, _) in zip(ids, expected, strict=True)] == [
        e for e, _, _ in expected
    ]
    assert last.raw is not None and last.raw["finish_reason"] == "tool_calls"
    assert last.raw["usage"] == USAGE
    assert all(r.delta == "" for r in responses)
    # Every response carries the calls so far, never more than the final ones.
    assert all(len(tool_calls(r)) <= len(expected) for r in responses)


async def test_astream_chat_matches_stream_chat() -> None:
    events = [delta(content="Let me "), delta(content="check."), *SPEC_CALLS]
    server = ChatServer(sse(*events, finish("tool_calls"), usage_chunk()))
    gen = await chat_model(server).astream_chat(user())
    responses = [r async for r in gen]
    assert [r.delta for r in responses][:2] == ["Let me ", "check."]
    last = responses[-1]
    assert last.message.content == "Let me check."
    assert tool_calls(last) == F_AND_G
    assert last.raw is not None and last.raw["usage"] == USAGE
    assert server.chats[0]["stream_options"] == {"include_usage": True}


async def test_astream_complete() -> None:
    server = ChatServer(sse(delta(content="a"), delta(content="b"), finish("stop")))
    gen = await chat_model(server).astream_complete("x")
    parts = [p async for p in gen]
    assert [p.delta for p in parts] == ["a", "b", ""]
    assert parts[-1].text == "ab"


MID_STREAM_ERROR = {
    "error": {"message": "context too long", "type": "server_error", "param": None, "code": "context_exceeded"}
}


def test_mid_stream_error_raises_and_is_never_text() -> None:
    server = ChatServer(sse(delta(content="partial"), MID_STREAM_ERROR))
    seen: list[str] = []

    def consume() -> None:
        for response in chat_model(server).stream_chat(user()):
            seen.append(response.message.content or "")

    with pytest.raises(SIEStreamError) as info:
        consume()
    assert seen == ["partial"]
    assert info.value.code == "context_exceeded"


async def test_async_mid_stream_error_raises() -> None:
    server = ChatServer(sse(delta(content="partial"), MID_STREAM_ERROR))
    seen: list[str] = []

    async def consume() -> None:
        async for response in await chat_model(server).astream_chat(user()):
            seen.append(response.delta or "")

    with pytest.raises(SIEStreamError, match="context too long"):
        await consume()
    assert seen == ["partial"]


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([delta(content="cut")], id="no-finish-no-done"),
        pytest.param([delta(content="cut"), finish("stop")], id="finish-but-no-done"),
    ],
)
def test_stream_without_done_raises(events: list[dict[str, Any]]) -> None:
    server = ChatServer(sse(*events, done=False))
    with pytest.raises(SIEConnectionError, match="ended without"):
        list(chat_model(server).stream_chat(user()))


async def test_async_stream_without_done_raises() -> None:
    server = ChatServer(sse(delta(content="cut"), done=False))
    gen = await chat_model(server).astream_chat(user())
    with pytest.raises(SIEConnectionError, match="ended without"):
        [r async for r in gen]


# --- SIEChatModel: token counting --------------------------------------------------------


class CountingTokenizer:
    """A tokenizer that records being called, to prove the server's usage is taken as it is."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> list[str]:
        self.calls += 1
        return text.split()


def test_token_counting_handler_uses_server_usage() -> None:
    tokenizer = CountingTokenizer()
    counter = TokenCountingHandler(tokenizer=tokenizer)
    usage = {"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168}
    server = ChatServer(
        completion({"content": "a much longer answer than forty-five words? no"}, usage=usage),
        sse(
            delta(content="streamed"),
            finish("stop"),
            usage_chunk({"prompt_tokens": 31, "completion_tokens": 4, "total_tokens": 35}),
        ),
    )
    llm = chat_model(server, callback_manager=CallbackManager([counter]))
    llm.chat(user("a prompt of several words"))
    assert (counter.prompt_llm_token_count, counter.completion_llm_token_count) == (123, 45)
    list(llm.stream_chat(user("another prompt")))
    assert [(e.prompt_token_count, e.completion_token_count) for e in counter.llm_token_counts] == [(123, 45), (31, 4)]
    assert counter.total_llm_token_count == 168 + 35
    assert tokenizer.calls == 0


# --- SIEChatModel: tools -----------------------------------------------------------------


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


WEATHER_TOOL = FunctionTool.from_defaults(fn=get_weather)


def test_chat_with_tools_request_shape() -> None:
    server = ChatServer(completion({"content": "ok"}))
    llm = chat_model(server)
    llm.chat_with_tools([WEATHER_TOOL], user_msg="weather in Paris?")
    sent = server.chats[-1]
    assert sent["messages"] == [{"role": "user", "content": "weather in Paris?"}]
    assert [t["type"] for t in sent["tools"]] == ["function"]
    function = sent["tools"][0]["function"]
    assert function["name"] == "get_weather"
    assert "Get the current weather" in function["description"]
    assert function["parameters"]["properties"]["city"]["type"] == "string"
    assert function["parameters"]["required"] == ["city"]
    assert "strict" not in function
    assert sent["parallel_tool_calls"] is False
    assert "tool_choice" not in sent

    llm.chat_with_tools([WEATHER_TOOL], user_msg="x", tool_required=True)
    assert server.chats[-1]["tool_choice"] == "required"

    llm.chat_with_tools([WEATHER_TOOL], user_msg="x", tool_choice="get_weather")
    assert server.chats[-1]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    llm.chat_with_tools([WEATHER_TOOL], user_msg="x", tool_choice="none")
    assert server.chats[-1]["tool_choice"] == "none"

    history = [ChatMessage(role=MessageRole.SYSTEM, content="use tools")]
    llm.chat_with_tools([WEATHER_TOOL], user_msg="x", chat_history=history, allow_parallel_tool_calls=True, strict=True)
    sent = server.chats[-1]
    assert sent["parallel_tool_calls"] is True
    assert sent["tools"][0]["function"]["strict"] is True
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


def test_parallel_tool_calls_kept_only_when_allowed() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    server = ChatServer(completion({"content": None, "tool_calls": calls}, finish="tool_calls"))
    llm = chat_model(server)
    single = llm.chat_with_tools([WEATHER_TOOL], user_msg="x")
    assert tool_calls(single) == [("a", "get_weather", {"city": "Oslo"})]
    both = llm.chat_with_tools([WEATHER_TOOL], user_msg="x", allow_parallel_tool_calls=True)
    assert tool_calls(both) == [("a", "get_weather", {"city": "Oslo"}), ("b", "get_weather", {"city": "Rome"})]
    selections = llm.get_tool_calls_from_response(both)
    assert [(s.tool_id, s.tool_kwargs) for s in selections] == [("a", {"city": "Oslo"}), ("b", {"city": "Rome"})]


def test_tool_calls_from_a_partial_streamed_response() -> None:
    server = ChatServer(
        sse(
            call_delta(0, id="a", name="get_weather", args='{"city": "Pa'),
            call_delta(0, args='ris", "unit'),
            call_delta(0, args='": "C"}'),
            finish("tool_calls"),
        )
    )
    llm = chat_model(server)
    responses = list(llm.stream_chat_with_tools([WEATHER_TOOL], user_msg="x"))
    kwargs = [llm.get_tool_calls_from_response(r)[0].tool_kwargs for r in responses]
    assert kwargs[0] == {"city": "Pa"}
    assert kwargs[1] == {"city": "Paris"}  # the unfinished key has no value yet
    assert kwargs[-1] == {"city": "Paris", "unit": "C"}
    assert all(llm.get_tool_calls_from_response(r)[0].tool_name == "get_weather" for r in responses)


def test_no_tool_call() -> None:
    response = chat_model(ChatServer(completion({"content": "just text"}))).chat(user())
    llm = SIEChatModel(model="m", base_url=BASE_URL)
    with pytest.raises(ValueError, match="expected at least one tool call"):
        llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []


# --- SIEChatModel: structured output -----------------------------------------------------


class Weather(BaseModel):
    city: str
    temp_c: int


PROMPT = PromptTemplate("What is the weather in {city}? Answer in JSON.")


def refusing(request: httpx.Request) -> httpx.Response:
    """A server that refuses response_format and a required tool_choice."""
    body = json.loads(request.content)
    if "response_format" in body:
        return error_response(400, "response_format", "unsupported_field", "response_format is not supported")
    if body.get("tool_choice") == "required":
        return error_response(400, "tool_choice", "unsupported_field", "tool_choice required is not supported")
    return completion({"content": ANSWER})


def test_structured_predict_falls_back_and_remembers_refusals() -> None:
    server = ChatServer(refusing, info=model_info(max_sequence_length=4096))
    llm = chat_model(server)
    assert llm.structured_predict(Weather, PROMPT, city="Paris") == Weather(city="Paris", temp_c=21)
    first, second, third = server.chats
    assert first["response_format"]["type"] == "json_schema"
    assert second["tool_choice"] == "required"
    assert [t["function"]["name"] for t in second["tools"]] == ["Weather"]
    assert "response_format" not in third and "tool_choice" not in third
    assert "Paris" in json.dumps(third["messages"])

    assert llm.structured_predict(Weather, PROMPT, city="Paris") == Weather(city="Paris", temp_c=21)
    assert len(server.chats) == 4  # straight to the strategy that works
    assert "response_format" not in server.chats[3] and "tools" not in server.chats[3]


async def test_astructured_predict_falls_back_and_remembers_refusals() -> None:
    server = ChatServer(refusing, info=model_info(max_sequence_length=4096))
    llm = chat_model(server)
    assert await llm.astructured_predict(Weather, PROMPT, city="Paris") == Weather(city="Paris", temp_c=21)
    assert len(server.chats) == 3
    assert await llm.astructured_predict(Weather, PROMPT, city="Paris") == Weather(city="Paris", temp_c=21)
    assert len(server.chats) == 4


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_structured_predict_json_schema(use_async: bool) -> None:
    server = ChatServer(completion({"content": ANSWER}))
    llm = chat_model(server)
    if use_async:
        result = await llm.astructured_predict(Weather, PROMPT, city="Paris")
    else:
        result = llm.structured_predict(Weather, PROMPT, city="Paris")
    assert result == Weather(city="Paris", temp_c=21)
    assert len(server.chats) == 1
    fmt = server.chats[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Weather"
    assert fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"city", "temp_c"}
    assert "Paris" in server.chats[0]["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("status", "param", "code", "error"),
    [
        pytest.param(500, None, "inference_error", ServerError, id="500"),
        pytest.param(400, "messages", "invalid_request", RequestError, id="400-other-param"),
    ],
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_structured_predict_raises_other_errors(
    status: int, param: str | None, code: str, error: type[Exception], use_async: bool
) -> None:
    server = ChatServer(error_response(status, param, code, "boom"))
    llm = chat_model(server, max_retries=0)

    async def predict() -> Any:
        if use_async:
            return await llm.astructured_predict(Weather, PROMPT, city="Paris")
        return llm.structured_predict(Weather, PROMPT, city="Paris")

    with pytest.raises(error):
        await predict()
    assert len(server.chats) == 1  # no fallback after an error that is not a refusal
    server.then(lambda request: completion({"content": ANSWER}))
    assert llm.structured_predict(Weather, PROMPT, city="Paris") == Weather(city="Paris", temp_c=21)
    assert "response_format" in server.chats[-1]  # nothing was remembered as refused


# --- SIEChatModel: request fields and unknown arguments ----------------------------------


def test_request_fields_are_sent_only_when_set() -> None:
    ok = completion({"content": "ok"})
    server = ChatServer(ok, ok, sse(delta(content="ok"), finish("stop")), ok)
    chat_model(server).chat(user())
    assert not set(REQUEST_FIELDS) & set(server.chats[0])
    llm = chat_model(server, **REQUEST_FIELDS)
    llm.chat(user())
    assert {k: server.chats[1][k] for k in REQUEST_FIELDS} == REQUEST_FIELDS
    list(llm.stream_chat(user()))
    assert {k: server.chats[2][k] for k in REQUEST_FIELDS} == REQUEST_FIELDS
    llm.chat(user(), user="per-call")
    assert server.chats[3]["user"] == "per-call"


def test_parallel_tool_calls_of_the_call_wins_over_the_field() -> None:
    server = ChatServer(completion({"content": "ok"}))
    llm = chat_model(server, parallel_tool_calls=True)
    llm.chat_with_tools([WEATHER_TOOL], user_msg="x")  # allow_parallel_tool_calls defaults to False
    assert server.chats[-1]["parallel_tool_calls"] is False
    chat_model(server, parallel_tool_calls=False).chat_with_tools(
        [WEATHER_TOOL], user_msg="x", allow_parallel_tool_calls=True
    )
    assert server.chats[-1]["parallel_tool_calls"] is True
    llm.chat(user())  # no tools: the field as it is
    assert server.chats[-1]["parallel_tool_calls"] is True


def test_unknown_constructor_arguments_are_refused_with_the_closest_field() -> None:
    server = ChatServer(completion({"content": "ok"}))
    with pytest.raises(ValueError, match=r"'frequency_penaltyy' \(did you mean 'frequency_penalty'\?\)"):
        chat_model(server, frequency_penaltyy=0.5)
    with pytest.raises(ValueError, match="'foo_bar'"):
        chat_model(server, foo_bar=1)
    with pytest.raises(ValueError, match=r"additional_kwargs got unknown argument\(s\) 'foo_bar'"):
        chat_model(server, additional_kwargs={"foo_bar": 1})
    assert server.chats == []


def test_every_request_field_is_taken_and_sent_with_every_request(recwarn: pytest.WarningsRecorder) -> None:
    server = ChatServer(completion({"content": "ok"}), sse(delta(content="ok"), finish("stop")))
    llm = chat_model(
        server,
        routing_key="tenant-7",
        chat_template_kwargs={"enable_thinking": False},
        min_tokens=2,
        additional_kwargs={"n": 1},
    )
    assert not recwarn.list
    llm.chat(user())
    list(llm.stream_chat(user()))
    for sent in server.chats:
        assert (sent["routing_key"], sent["chat_template_kwargs"], sent["min_tokens"], sent["n"]) == (
            "tenant-7",
            {"enable_thinking": False},
            2,
            1,
        )


def test_known_arguments_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    SIEChatModel(model="m", base_url=BASE_URL, system_prompt="be brief", callback_manager=CallbackManager([]))
    SIEChatModel.from_dict(SIEChatModel(model="m", base_url=BASE_URL, **REQUEST_FIELDS).to_dict())
    assert [w for w in recwarn if issubclass(w.category, UserWarning)] == []


# --- SIEChatModel: logprobs --------------------------------------------------------------

WIRE_LOGPROBS = {
    "content": [
        {
            "token": "It",
            "logprob": -0.1,
            "bytes": [73, 116],
            "top_logprobs": [
                {"token": "It", "logprob": -0.1, "bytes": [73, 116]},
                {"token": "!", "logprob": -2.5},
            ],
        },
        {"token": " is", "logprob": -0.2, "top_logprobs": []},
        {"id": 265, "logprob": 0.0},  # MLX without top_logprobs: the token id, no token text
    ]
}


def test_token_logprobs_mapping() -> None:
    from llama_index.core.base.llms.types import LogProb

    from sie_integrations.llama_index._messages import token_logprobs

    assert token_logprobs(WIRE_LOGPROBS) == [
        [LogProb(token="It", logprob=-0.1, bytes=[73, 116]), LogProb(token="!", logprob=-2.5, bytes=[])],
        [LogProb(token=" is", logprob=-0.2, bytes=[])],
        [LogProb(token="", logprob=0.0, bytes=[])],
    ]
    assert token_logprobs(None) is None
    assert token_logprobs({"content": None}) is None
    assert token_logprobs({"content": []}) is None
    hostile = {
        "content": [
            "not an entry",
            {"token": "x"},  # no logprob
            {"token": "y", "logprob": True},
            {"token": 5, "logprob": -1, "bytes": "ab", "top_logprobs": [{"token": "z"}, 3]},
        ]
    }
    assert token_logprobs(hostile) == [[LogProb(token="", logprob=-1.0, bytes=[])]]


def with_logprobs(response: httpx.Response, logprobs: Any) -> httpx.Response:
    body = response.json()
    body["choices"][0]["logprobs"] = logprobs
    return httpx.Response(200, json=body)


async def test_chat_fills_response_logprobs() -> None:
    def answer() -> httpx.Response:
        return with_logprobs(completion({"content": "It is"}), WIRE_LOGPROBS)

    server = ChatServer(answer(), answer())
    llm = chat_model(server, logprobs=True, top_logprobs=2)
    for response in (llm.chat(user()), await llm.achat(user())):
        assert response.logprobs is not None
        assert [[p.token for p in alternatives] for alternatives in response.logprobs] == [["It", "!"], [" is"], [""]]
    assert server.chats[0]["logprobs"] is True and server.chats[0]["top_logprobs"] == 2
    assert chat_model(ChatServer(completion({"content": "ok"}))).chat(user()).logprobs is None


def test_streamed_logprobs_accumulate_when_chunks_carry_them() -> None:
    first, second, third = WIRE_LOGPROBS["content"]
    chunk_a, chunk_b = delta(content="It"), delta(content=" is")
    chunk_a["choices"][0]["logprobs"] = {"content": [first]}
    chunk_b["choices"][0]["logprobs"] = {"content": [second, third]}
    responses = list(chat_model(ChatServer(sse(chunk_a, chunk_b, finish("stop")))).stream_chat(user()))
    assert [len(r.logprobs or []) for r in responses] == [1, 3, 3]
    plain = list(chat_model(ChatServer(sse(delta(content="x"), finish("stop")))).stream_chat(user()))
    assert all(r.logprobs is None for r in plain)


# --- SIEChatModel: tool calls in additional_kwargs ---------------------------------------


def wire_calls(response: ChatResponse) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = response.message.additional_kwargs.get("tool_calls", [])
    return calls


def test_tool_calls_also_in_additional_kwargs() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"tz": '}},
    ]
    server = ChatServer(completion({"content": "Checking.", "tool_calls": calls}, finish="tool_calls"))
    response = chat_model(server).chat(user())
    assert wire_calls(response) == calls  # arguments kept as the wire string, even when malformed
    assert tool_calls(response) == [("a", "get_weather", {"city": "Oslo"}), ("b", "get_weather", '{"tz": ')]
    plain = chat_model(ChatServer(completion({"content": "no tools"}))).chat(user())
    assert "tool_calls" not in plain.message.additional_kwargs


def test_a_call_without_id_gets_the_same_id_in_both_places() -> None:
    calls = [{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]
    response = chat_model(ChatServer(completion({"content": None, "tool_calls": calls}, finish="tool_calls"))).chat(
        user()
    )
    [(block_id, _, _)] = tool_calls(response)
    assert block_id and [c["id"] for c in wire_calls(response)] == [block_id]


@pytest.mark.parametrize(("events", "expected"), STREAMED_CALLS)
def test_every_streamed_response_carries_its_calls_in_additional_kwargs(
    events: list[dict[str, Any]], expected: list[tuple[str | None, str, dict[str, Any]]]
) -> None:
    from sie_integrations.llama_index._messages import tool_kwargs

    responses = list(chat_model(ChatServer(sse(*events, finish("tool_calls")))).stream_chat(user()))
    for response in responses:
        calls = wire_calls(response)
        assert all(c["type"] == "function" for c in calls)
        as_blocks = [(c["id"], c["function"]["name"], tool_kwargs(c["function"]["arguments"])) for c in calls]
        assert as_blocks == tool_calls(response)
    final = wire_calls(responses[-1])
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in final] == [
        (name, kwargs) for _, name, kwargs in expected
    ]


def test_parallel_calls_trimmed_in_both_places_when_not_allowed() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    server = ChatServer(completion({"content": None, "tool_calls": calls}, finish="tool_calls"))
    single = chat_model(server).chat_with_tools([WEATHER_TOOL], user_msg="x")
    assert [c["id"] for c in wire_calls(single)] == ["a"]
    both = chat_model(server).chat_with_tools([WEATHER_TOOL], user_msg="x", allow_parallel_tool_calls=True)
    assert [c["id"] for c in wire_calls(both)] == ["a", "b"]


def test_a_response_sent_back_carries_each_call_once() -> None:
    calls: list[dict[str, Any]] = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
    ]
    server = ChatServer(
        completion({"content": "Checking.", "tool_calls": calls}, finish="tool_calls"),
        sse(
            delta(content="Checking."),
            *[
                call_delta(i, id=c["id"], name="get_weather", args=c["function"]["arguments"])
                for i, c in enumerate(calls)
            ],
            finish("tool_calls"),
        ),
        completion({"content": "done"}),
    )
    llm = chat_model(server)
    chatted = llm.chat(user())
    streamed = list(llm.stream_chat(user()))[-1]
    for response in (chatted, streamed):
        history = [
            *user(),
            response.message,
            *(
                ChatMessage(role=MessageRole.TOOL, content="sunny", additional_kwargs={"tool_call_id": c["id"]})
                for c in calls
            ),
        ]
        llm.chat(history)
        sent = server.chats[-1]["messages"][1]
        assert sent == {"role": "assistant", "content": "Checking.", "tool_calls": calls}


def test_llama_index_helpers_see_the_tool_calls() -> None:
    """chat engines and streaming structured output read ``additional_kwargs["tool_calls"]``, not the blocks."""
    from llama_index.core.chat_engine.types import is_function

    server = ChatServer(
        sse(
            call_delta(0, id="a", name="Weather", args='{"city": "Pa'),
            call_delta(0, args='ris", "temp_c": 21}'),
            finish("tool_calls"),
        )
    )
    llm = chat_model(server)
    llm._caps.value = ChatCapabilities(known=True, tools=True)  # a tool-calling model that cannot constrain
    assert is_function(list(llm.stream_chat(user()))[-1].message)
    outputs = list(llm.stream_structured_predict(Weather, PROMPT, city="Paris"))
    assert outputs[-1] == Weather(city="Paris", temp_c=21)
    assert outputs[0].city == "Pa"  # type: ignore[union-attr]  # partial objects while the arguments stream
    assert server.chats[-1]["tools"][0]["function"]["name"] == "Weather"


# --- SIEEmbeddings -----------------------------------------------------------------------


# --- SIESparseEmbeddings -----------------------------------------------------------------


# --- SIEReranker -------------------------------------------------------------------------


# --- SIEExtractor ------------------------------------------------------------------------


# --- import guard ------------------------------------------------------------------------
