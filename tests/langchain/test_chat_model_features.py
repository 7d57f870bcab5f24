"""SIEChatModel's agent features on canned wire data (an httpx.MockTransport): structured output planning,
profile, n, logprobs, unknown arguments, and v1 blocks after reasoning (which the CPU peer strips)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessageChunk, HumanMessage
from pydantic import BaseModel

from sie_integrations.langchain import SIEChatModel, SIEEmbeddings
from tests.fakes.chat import REQUEST_FIELDS, ChatServer, completion, delta, finish, model_info, sse


class Weather(BaseModel):
    city: str
    temp_c: int


def chat_model(server: ChatServer, **kwargs: Any) -> SIEChatModel:
    return SIEChatModel(model="m", **server.connection(), **kwargs)


def refused(param: str) -> httpx.Response:
    body = {"error": {"message": f"field {param!r} is not supported", "code": "unsupported_field", "param": param}}
    return httpx.Response(400, json=body)


UPSTREAM_502 = httpx.Response(
    502, json={"error": {"message": "upstream generation request failed", "code": "upstream_error"}}
)
WEATHER = '{"city": "Paris", "temp_c": 21}'
TOOL_CALL = {"id": "c1", "type": "function", "function": {"name": "Weather", "arguments": WEATHER}}


# --- structured output through the model --------------------------------------------------


def test_constraining_server_gets_response_format_once() -> None:
    server = ChatServer(completion({"content": WEATHER}), info=model_info(["json_schema"], max_sequence_length=8192))
    result = chat_model(server).with_structured_output(Weather, include_raw=True).invoke("Weather?")
    assert result["parsed"] == Weather(city="Paris", temp_c=21)
    assert result["raw"].response_metadata["structured_output_method"] == "json_schema"
    assert server.chats[0]["response_format"]["json_schema"]["name"] == "Weather"
    assert len(server.chats) == 1


def test_refused_response_format_falls_back_to_a_forced_tool_call_and_is_remembered() -> None:
    """Capabilities unknown: json_schema is tried, refused (400), then a forced tool call answers."""
    server = ChatServer(
        refused("response_format"),
        completion({"content": None, "tool_calls": [TOOL_CALL]}, finish="tool_calls"),
        completion({"content": None, "tool_calls": [TOOL_CALL]}, finish="tool_calls"),
        info=model_info(None, max_sequence_length=8192),
    )
    llm = chat_model(server)
    structured = llm.with_structured_output(Weather)
    assert structured.invoke("Weather?") == Weather(city="Paris", temp_c=21)
    assert "response_format" in server.chats[0]
    assert server.chats[1]["tool_choice"] == {"type": "function", "function": {"name": "Weather"}}
    assert structured.invoke("Weather?") == Weather(city="Paris", temp_c=21)
    assert len(server.chats) == 3  # the refusal is not repeated
    assert len(server.lookups) == 1  # capabilities asked once per instance


def test_rendered_502_on_response_format_falls_back_too() -> None:
    server = ChatServer(
        UPSTREAM_502,
        completion({"content": None, "tool_calls": [TOOL_CALL]}),
        info=model_info(None, max_sequence_length=8192),
    )
    assert chat_model(server).with_structured_output(Weather).invoke("Weather?") == Weather(city="Paris", temp_c=21)


def test_no_grammar_uses_auto_tool_choice_then_the_schema_in_the_prompt() -> None:
    server = ChatServer(
        completion({"content": "It is sunny."}),
        completion({"content": WEATHER}),
        info=model_info([], max_sequence_length=8192),
    )
    result = chat_model(server).with_structured_output(Weather, include_raw=True).invoke("Weather?")
    assert result["parsed"] == Weather(city="Paris", temp_c=21)
    assert result["raw"].response_metadata["structured_output_method"] == "json_prompt"
    assert server.chats[0]["tool_choice"] == "auto" and "response_format" not in server.chats[0]
    system = server.chats[1]["messages"][0]
    assert system["role"] == "system" and '"temp_c"' in system["content"]


async def test_async_and_streamed_structured_output_yield_the_validated_object() -> None:
    server = ChatServer(
        completion({"content": None, "tool_calls": [TOOL_CALL]}, finish="tool_calls"),
        sse(delta(role="assistant", content='{"city": "Pa'), delta(content='ris", "temp_c": 21}'), finish("stop")),
        info=model_info([], max_sequence_length=8192),
    )
    llm = chat_model(server)
    assert await llm.with_structured_output(Weather).ainvoke("Weather?") == Weather(city="Paris", temp_c=21)
    llm._structured.last = "json_prompt"
    streamed = [x async for x in llm.with_structured_output(Weather).astream("Weather?")]
    assert streamed == [Weather(city="Paris", temp_c=21)]


def test_a_reply_that_does_not_validate_raises_or_is_reported_with_include_raw() -> None:
    server = ChatServer(
        completion({"content": "no idea"}),
        completion({"content": "no idea"}),
        info=model_info([], max_sequence_length=8192, tools=False),
    )
    llm = chat_model(server)
    with pytest.raises(OutputParserException) as caught:
        llm.with_structured_output(Weather).invoke("Weather?")
    assert caught.value.llm_output == "no idea"
    result = llm.with_structured_output(Weather, include_raw=True).invoke("Weather?")
    assert result["parsed"] is None and isinstance(result["parsing_error"], OutputParserException)


# --- profile -----------------------------------------------------------------------------


def test_profile_is_read_from_the_server_on_first_use_only() -> None:
    server = ChatServer(info=model_info(["json_schema"], max_sequence_length=8192))
    llm = chat_model(server)
    assert len(server.lookups) == 0  # building the model sends nothing
    assert "asked from the server" in repr(llm.profile)
    assert llm.profile is not None and llm.profile["structured_output"] is True
    assert llm.profile["tool_choice"] is True and llm.profile["max_input_tokens"] == 8192
    assert dict(llm.profile)["tool_calling"] is True
    assert len(server.lookups) == 1


def test_profile_without_capabilities_claims_no_structured_output() -> None:
    llm = chat_model(ChatServer(info=model_info(None, max_sequence_length=8192)))
    assert llm.profile is not None and llm.profile["structured_output"] is False


# --- request surface ---------------------------------------------------------------------


def test_first_class_fields_are_sent() -> None:
    server = ChatServer(completion({"content": "hi"}), info=model_info([], max_sequence_length=8192))
    chat_model(server, **REQUEST_FIELDS).invoke("Hi")
    assert {k: server.chats[0][k] for k in REQUEST_FIELDS} == REQUEST_FIELDS


def test_n_gives_n_generations_and_refuses_streaming() -> None:
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {"index": 1, "message": {"role": "assistant", "content": "two"}, "finish_reason": "stop"},
            {"index": 0, "message": {"role": "assistant", "content": "one"}, "finish_reason": "stop"},
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    server = ChatServer(httpx.Response(200, json=body), info=model_info([], max_sequence_length=8192))
    llm = chat_model(server, n=2)
    result = llm.generate([[HumanMessage("Hi")]])
    assert [g.text for g in result.generations[0]] == ["one", "two"]
    assert server.chats[0]["n"] == 2
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        list(llm.stream("Hi"))


def test_logprobs_land_in_response_metadata() -> None:
    logprobs = {"content": [{"token": "hi", "logprob": -0.1, "top_logprobs": [{"token": "hi", "logprob": -0.1}]}]}
    body = {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "logprobs": logprobs}],
    }
    message = chat_model(
        ChatServer(httpx.Response(200, json=body), info=model_info([], max_sequence_length=8192)), logprobs=True
    ).invoke("Hi")
    assert message.response_metadata["logprobs"] == logprobs


def test_every_request_field_is_taken_and_sent_without_a_warning(recwarn: pytest.WarningsRecorder) -> None:
    server = ChatServer(completion({"content": "hi"}), info=model_info([], max_sequence_length=8192))
    fields = {"min_tokens": 2, "seed": 7, "top_k": 5, "repetition_penalty": 1.1}
    llm = chat_model(server, **fields, chat_template_kwargs={"enable_thinking": False}, model_kwargs={"best_of": 2})
    llm.invoke("Hi")
    assert {k: server.chats[0][k] for k in fields} == fields
    assert server.chats[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert server.chats[0]["best_of"] == 2
    assert not recwarn.list


def test_unknown_chat_arguments_are_refused_at_construction_with_the_closest_field() -> None:
    server = ChatServer(info=model_info([], max_sequence_length=8192))
    with pytest.raises(ValueError, match=r"'frequency_penaltyy' \(did you mean 'frequency_penalty'\?\)"):
        chat_model(server, frequency_penaltyy=0.5)
    with pytest.raises(ValueError, match="'foo_bar'"):
        chat_model(server, foo_bar=1)
    with pytest.raises(ValueError, match=r"model_kwargs got unknown argument\(s\) 'foo_bar'"):
        chat_model(server, model_kwargs={"foo_bar": 1})
    with pytest.raises(ValueError, match="top_k"):
        chat_model(server, model_kwargs={"top_k": 0})
    assert server.chats == []


def test_unknown_embedding_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'batch_sise' \(did you mean 'batch_size'\?\)"):
        SIEEmbeddings(model="m", batch_sise=8)


def test_every_client_option_reaches_the_client() -> None:
    llm = SIEChatModel(
        model="m",
        base_url="https://sie.test",
        provision_timeout=12,
        headers={"X-Team": "a"},
        wire_format="json",
        stream_chunk_timeout=3,
    )
    config = llm.client._config
    assert config.policy.provision_timeout == 12
    assert config.headers["X-Team"] == "a"
    assert config.wire_format == "json"
    assert config.stream_chunk_timeout == 3
    assert "X-Team" not in repr(llm) and "headers" not in llm.model_dump()


# --- v1 blocks after reasoning -----------------------------------------------------------


def test_v1_keeps_reasoning_text_and_two_tool_calls_apart() -> None:
    def call(index: int, id: str, city: str) -> dict[str, Any]:
        entry = {"index": index, "id": id, "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        return delta(tool_calls=[entry])

    def args(index: int, city: str) -> dict[str, Any]:
        return delta(tool_calls=[{"index": index, "function": {"arguments": json.dumps({"location": city})}}])

    stream = sse(
        delta(role="assistant", reasoning_content="Two cities, "),
        delta(reasoning_content="two calls."),
        delta(content="Let me check "),
        delta(content="both cities."),
        call(0, "call_a", "Paris"),
        args(0, "Paris"),
        call(1, "call_b", "Oslo"),
        args(1, "Oslo"),
        finish("tool_calls"),
    )
    server = ChatServer(stream, info=model_info([], max_sequence_length=8192))
    chunks = list(chat_model(server, output_version="v1").stream("Weather in Paris and Oslo?"))
    total: AIMessageChunk = chunks[0]  # type: ignore[assignment]
    for chunk in chunks[1:]:
        total = total + chunk  # type: ignore[assignment]
    blocks = [b for b in total.content if isinstance(b, dict)]
    kinds = [b["type"] for b in blocks if b["type"] != "reasoning"]
    assert kinds == ["text", "tool_call", "tool_call"], blocks
    assert next(b for b in blocks if b["type"] == "text")["text"] == "Let me check both cities."
    assert [b["args"] for b in blocks if b["type"] == "tool_call"] == [{"location": "Paris"}, {"location": "Oslo"}]
    assert total.additional_kwargs["reasoning_content"] == "Two cities, two calls."


def test_stop_sequences_is_taken_for_stop() -> None:
    server = ChatServer(completion({"content": "hi"}), info=model_info([], max_sequence_length=8192))
    llm = chat_model(server, stop_sequences=["\n"])
    assert llm.stop == ["\n"]
    llm.invoke("Hi")
    assert server.chats[0]["stop"] == ["\n"]
    llm.invoke("Hi", stop=["END"])  # a call's stop replaces the model's
    assert server.chats[1]["stop"] == ["END"]
