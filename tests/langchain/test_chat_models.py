"""SIEChatModel on canned wire data (``ChatServer``), for what the CPU peer cannot produce."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core import exceptions as lc_exceptions
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

from sie_integrations import RateLimitError, SIEStreamError
from sie_integrations.langchain import SIEChatModel
from tests.fakes.chat import ChatServer, completion, delta, finish, sse

KEY = "sk-chat-unit-secret-42"


def chat_model(server: ChatServer, **kwargs: Any) -> SIEChatModel:
    return SIEChatModel(model="m", **server.connection(), **kwargs)


def call_delta(
    index: int | None, *, id: str | None = None, name: str | None = None, args: str | None = None
) -> dict[str, Any]:
    function = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    entry: dict[str, Any] = {"function": function}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry.update(id=id, type="function")
    return delta(tool_calls=[entry])


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk  # type: ignore[assignment]
    return total


USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


# --- non-streamed responses --------------------------------------------------------------


def test_parallel_tool_calls_and_metadata() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "東京"}'}},
    ]
    server = ChatServer(completion({"content": None, "tool_calls": calls}, finish="tool_calls"))
    message = chat_model(server).invoke("weather?")
    assert [(c["id"], c["args"]) for c in message.tool_calls] == [("a", {"city": "Oslo"}), ("b", {"city": "東京"})]
    assert message.content == ""
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.response_metadata["model_provider"] == "sie"
    assert message.response_metadata["model_name"] == "m"
    assert message.response_metadata["id"] == "chatcmpl-1"
    assert message.usage_metadata == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


def test_malformed_tool_arguments_become_invalid_tool_calls() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": '{"x": '}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": '{"y": 1}'}},
    ]
    message = chat_model(ChatServer(completion({"content": None, "tool_calls": calls}, "tool_calls"))).invoke("x")
    assert [c["name"] for c in message.tool_calls] == ["g"]
    assert [(c["name"], c["args"]) for c in message.invalid_tool_calls] == [("f", '{"x": ')]


def test_usage_details_and_reasoning_content() -> None:
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 9,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 16},
        "completion_tokens_details": {"reasoning_tokens": 6},
    }
    server = ChatServer(completion({"content": "42", "reasoning_content": "6 times 7"}, usage=usage))
    message = chat_model(server).invoke("x")
    assert message.additional_kwargs["reasoning_content"] == "6 times 7"
    assert message.usage_metadata == {
        "input_tokens": 20,
        "output_tokens": 9,
        "total_tokens": 29,
        "input_token_details": {"cache_read": 16},
        "output_token_details": {"reasoning": 6},
    }


# --- requests ----------------------------------------------------------------------------


def test_message_conversion() -> None:
    server = ChatServer(completion({"content": "ok"}))
    history = [
        SystemMessage("be brief"),
        SystemMessage("dev rules", additional_kwargs={"__openai_role__": "developer"}),
        HumanMessage("hi 你好", name="ann"),
        AIMessage(
            content=[{"type": "text", "text": "checking"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
            tool_calls=[{"id": "t1", "name": "f", "args": {"q": "日本"}, "type": "tool_call"}],
        ),
        ToolMessage("boom", tool_call_id="t1", status="error"),
        HumanMessage(content=[{"type": "image", "base64": "AAAA", "mime_type": "image/png"}, "what is it?"]),
    ]
    chat_model(server, temperature=0.2, top_k=5, seed=3).invoke(history, stop=["END"])
    sent = server.chats[0]
    assert sent["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": "dev rules"},
        {"role": "user", "content": "hi 你好", "name": "ann"},
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"q": "日本"}'}}],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "boom"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "what is it?"},
            ],
        },
    ]
    assert (sent["temperature"], sent["top_k"], sent["seed"], sent["stop"]) == (0.2, 5, 3, ["END"])
    assert "stream" not in sent


def test_bad_input_is_refused_before_sending() -> None:
    server = ChatServer(completion({"content": "ok"}))
    model = chat_model(server)
    with pytest.raises(ValueError, match="audio"):
        model.invoke([HumanMessage(content=[{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}])])
    with pytest.raises(ValueError, match="URLs"):
        model.invoke([HumanMessage(content=[{"type": "image", "url": "https://example.com/cat.png"}])])
    with pytest.raises(ValueError, match="no_such_field"):
        model.invoke("hi", no_such_field=1)
    assert server.chats == []


def test_bind_tools_maps_tool_choice() -> None:
    def get_weather(city: str) -> str:
        """Get the weather for a city."""
        return city

    server = ChatServer(completion({"content": "ok"}))
    model = chat_model(server)
    for choice, wire in [
        ("any", "required"),
        (True, "required"),
        ("auto", "auto"),
        ("none", "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ]:
        model.bind_tools([get_weather], tool_choice=choice).invoke("x")
        assert server.chats[-1]["tool_choice"] == wire
    model.bind_tools([get_weather], strict=True, parallel_tool_calls=False).invoke("x")
    sent = server.chats[-1]
    assert sent["parallel_tool_calls"] is False
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tools"][0]["function"]["strict"] is True
    assert "tool_choice" not in sent
    with pytest.raises(ValueError, match="not one of the bound tools"):
        model.bind_tools([get_weather], tool_choice="other")


# --- streaming ---------------------------------------------------------------------------


def _stream(server: ChatServer, **kwargs: Any) -> list[AIMessageChunk]:
    return list(chat_model(server, **kwargs).stream("x"))  # type: ignore[arg-type]


def test_stream_text_usage_once_and_last_chunk() -> None:
    server = ChatServer(
        sse(
            delta(role="assistant", content="Hel"),
            delta(content="lo"),
            finish("stop"),
            {"id": "chatcmpl-2", "model": "m", "choices": [], "usage": USAGE},
        )
    )
    chunks = _stream(server)
    assert server.chats[0]["stream"] is True
    assert server.chats[0]["stream_options"] == {"include_usage": True}
    assert [c.content for c in chunks] == ["Hel", "lo", ""]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    assert ["model_name" in c.response_metadata for c in chunks] == [False, False, True]
    assert chunks[-1].chunk_position == "last"
    total = merged(chunks)
    assert total.content == "Hello"
    assert total.usage_metadata == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    assert total.response_metadata["finish_reason"] == "stop"
    assert total.response_metadata["model_name"] == "m"


def test_stream_usage_can_be_turned_off() -> None:
    server = ChatServer(sse(delta(content="x"), finish("stop")))
    _stream(server, stream_usage=False)
    assert "stream_options" not in server.chats[0]


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(  # the spec: name and id once, then argument fragments
            [
                call_delta(0, id="a", name="f", args=""),
                call_delta(0, args='{"x": '),
                call_delta(0, args="1}"),
                call_delta(1, id="b", name="g", args='{"y": 2}'),
            ],
            id="parallel-by-index",
        ),
        pytest.param(  # the name and id repeated on every delta
            [
                call_delta(0, id="a", name="f", args='{"x": '),
                call_delta(0, id="a", name="f", args="1}"),
                call_delta(1, id="b", name="g", args='{"y": '),
                call_delta(1, id="b", name="g", args="2}"),
            ],
            id="repeated-ids-and-names",
        ),
        pytest.param(  # every parallel call at index 0, told apart by id
            [
                call_delta(0, id="a", name="f", args='{"x": 1}'),
                call_delta(0, id="b", name="g", args='{"y": '),
                call_delta(0, args="2}"),
            ],
            id="index-0-parallel",
        ),
        pytest.param(  # no index and no id at all: whole calls one after another
            [
                call_delta(None, name="f", args='{"x": 1}'),
                call_delta(None, name="g", args='{"y": 2}'),
            ],
            id="no-index-no-id",
        ),
    ],
)
def test_stream_tool_call_deltas_are_normalised(events: list[dict[str, Any]]) -> None:
    chunks = _stream(ChatServer(sse(*events, finish("tool_calls", USAGE))))
    total = merged(chunks)
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("f", {"x": 1}), ("g", {"y": 2})]
    assert total.invalid_tool_calls == []
    ids = [c["id"] for c in total.tool_calls]
    assert all(ids) and len(set(ids)) == 2
    names_sent = [t["name"] for c in chunks for t in c.tool_call_chunks if t["name"]]
    assert names_sent == ["f", "g"]  # once per call
    assert all(isinstance(t["index"], int) for c in chunks for t in c.tool_call_chunks)


def test_stream_v1_keeps_text_and_tool_call_blocks_apart() -> None:
    events = [
        delta(role="assistant", content="Let me check."),
        call_delta(0, id="call_1", name="f", args=""),
        call_delta(0, args='{"a": 1}'),
        finish("tool_calls", USAGE),
    ]
    total = merged(_stream(ChatServer(sse(*events)), output_version="v1"))
    blocks = total.content_blocks
    assert [b["type"] for b in blocks] == ["text", "tool_call"]
    assert blocks[0]["text"] == "Let me check."  # type: ignore[typeddict-item]
    assert total.tool_calls[0]["args"] == {"a": 1}


def test_stream_reasoning_content() -> None:
    total = merged(_stream(ChatServer(sse(delta(reasoning_content="think "), delta(content="done"), finish("stop")))))
    assert total.additional_kwargs["reasoning_content"] == "think "
    assert total.content == "done"


def test_mid_stream_error_raises_and_is_never_text() -> None:
    error = {
        "error": {"message": "context too long", "type": "server_error", "param": None, "code": "context_exceeded"}
    }
    server = ChatServer(sse(delta(content="partial"), error))
    seen: list[Any] = []

    def consume() -> None:
        for chunk in chat_model(server).stream("x"):
            seen.append(chunk.content)

    with pytest.raises(SIEStreamError) as info:
        consume()
    assert seen == ["partial"]
    assert info.value.code == "context_exceeded"
    assert isinstance(info.value, lc_exceptions.ContextOverflowError)


def test_truncated_stream_raises() -> None:
    with pytest.raises(lc_exceptions.ModelConnectionError, match="ended without"):
        _stream(ChatServer(sse(delta(content="cut"), done=False)))


async def test_astream_matches_stream() -> None:
    events = [delta(content="a"), call_delta(0, id="c", name="f", args='{"x": 1}'), finish("tool_calls", USAGE)]
    server = ChatServer(sse(*events))
    chunks = [c async for c in chat_model(server).astream("x")]
    total = merged(chunks)  # type: ignore[arg-type]
    assert total.content == "a"
    assert total.tool_calls[0]["args"] == {"x": 1}
    assert chunks[-1].chunk_position == "last"  # type: ignore[attr-defined]


# --- structured output -------------------------------------------------------------------


class Weather(BaseModel):
    city: str
    temp_c: int


class WeatherDict(TypedDict):
    city: str
    temp_c: int


ANSWER = '{"city": "Paris", "temp_c": 21}'


@pytest.mark.parametrize(
    "schema", [Weather, WeatherDict, Weather.model_json_schema()], ids=["pydantic", "typeddict", "json"]
)
def test_structured_output_json_schema(schema: Any) -> None:
    server = ChatServer(completion({"content": ANSWER}))
    result = chat_model(server).with_structured_output(schema, method="json_schema", strict=True).invoke("weather?")
    fmt = server.chats[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"city", "temp_c"}
    expected = {"city": "Paris", "temp_c": 21}
    assert (result.model_dump() if isinstance(result, BaseModel) else result) == expected


def test_structured_output_function_calling_and_include_raw() -> None:
    call = {"id": "a", "type": "function", "function": {"name": "Weather", "arguments": ANSWER}}
    server = ChatServer(completion({"content": None, "tool_calls": [call]}, "tool_calls"))
    out = chat_model(server).with_structured_output(Weather, method="function_calling", include_raw=True).invoke("x")
    sent = server.chats[0]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "Weather"}}
    assert sent["parallel_tool_calls"] is False
    assert out["parsed"] == Weather(city="Paris", temp_c=21)
    assert out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)


def test_structured_output_json_mode_and_parsing_error() -> None:
    server = ChatServer(completion({"content": "not json"}))
    out = chat_model(server).with_structured_output(None, method="json_mode", include_raw=True).invoke("x")
    assert server.chats[0]["response_format"] == {"type": "json_object"}
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
    with pytest.raises(ValueError, match="strict"):
        chat_model(server).with_structured_output(None, method="json_mode", strict=True)


# --- errors, tracing, serialization ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "core_error"),
    [
        (429, {"error": {"message": "slow down", "code": "RATE_LIMIT"}}, "ModelRateLimitError"),
        (400, {"error": {"message": "too long", "code": "context_exceeded"}}, "ContextOverflowError"),
        (404, {"error": {"message": "no model", "code": "MODEL_NOT_FOUND"}}, "ModelNotFoundError"),
        (401, {"error": {"message": "bad key", "code": "UNAUTHORIZED"}}, "ModelAuthenticationError"),
        (400, {"error": {"message": "bad", "code": "unsupported_field", "param": "x"}}, "ModelInvalidRequestError"),
        (502, {"error": {"message": "upstream", "code": "upstream_error"}}, "ModelAPIError"),
    ],
)
def test_errors_are_also_langchain_model_errors(status: int, body: dict[str, Any], core_error: str) -> None:
    server = ChatServer(httpx.Response(status, json=body, headers={"retry-after": "0.01"}))
    with pytest.raises(getattr(lc_exceptions, core_error)) as info:
        chat_model(server, max_retries=0, wait_for_capacity=False).invoke("x")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.code == body["error"]["code"]  # type: ignore[attr-defined]
    if status == 429:
        assert isinstance(info.value, RateLimitError)


def test_ls_params_and_identifying_params() -> None:
    model = chat_model(ChatServer(completion({"content": "ok"})), temperature=0.5, max_tokens=9, stop=["x"])
    params = model._get_ls_params()
    assert params == {
        "ls_provider": "sie",
        "ls_model_name": "m",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 9,
        "ls_stop": ["x"],
    }
    assert model._get_ls_params(model="other")["ls_model_name"] == "other"
    assert model._identifying_params["model"] == "m"


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_round_trip_keeps_the_key_out() -> None:
    model = SIEChatModel(model="tiny-chat", base_url="https://sie.test", api_key=KEY, temperature=0.1)
    assert KEY not in dumps(model)
    assert KEY not in repr(model)
    restored = load(
        dumpd(model),
        allowed_objects=[SIEChatModel],  # type: ignore[list-item]
        valid_namespaces=["sie_integrations"],
        secrets_map={"SIE_API_KEY": KEY},
    )
    assert isinstance(restored, SIEChatModel)
    assert (restored.model, restored.temperature, restored.base_url) == ("tiny-chat", 0.1, "https://sie.test")
    assert restored.api_key is not None and restored.api_key.get_secret_value() == KEY


def test_request_fields_held_as_objects_round_trip_through_dumpd_and_load() -> None:
    """``tools``, ``stream_options`` and a named ``tool_choice`` are pydantic objects on the model: ``dumpd`` keeps
    them as JSON, so ``load`` builds the same model."""
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    named = {"type": "function", "function": {"name": "get_weather"}}
    model = SIEChatModel(
        model="m", base_url="https://sie.test", tools=[tool], tool_choice=named, stream_options={"include_usage": False}
    )
    restored = load(dumpd(model), allowed_objects=[SIEChatModel], valid_namespaces=["sie_integrations"])  # type: ignore[list-item]
    assert restored.tools == model.tools and restored.tool_choice == model.tool_choice
    assert restored.stream_options == model.stream_options
