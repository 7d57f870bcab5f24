"""SIEChatModel with the peer's agent models: multi-delta text, parallel tool calls, loops that end by themselves.

tiny-agent calls get_weather(location="Paris") and, once the result is in, answers in 7 deltas; tiny-think
writes "Let me check both cities." and then calls get_weather for Paris and Oslo in one turn. Both have
rendered twins (the server renders the template and parses the calls itself). Replayed from cassettes by
default, live with ``./dev live``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool
from pydantic import BaseModel

from sie_integrations.langchain import SIEChatModel
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]

AGENT = ["tiny-agent", "tiny-agent-rendered"]
THINK = ["tiny-think", "tiny-think-rendered"]
SUNNY = "It is sunny in Paris today."
BOTH = "Paris is sunny and Oslo is cloudy."


@tool
def get_weather(location: str) -> str:
    """Get the current weather at a location."""
    return f"It is sunny in {location}." if location == "Paris" else f"It is cloudy in {location}."


class Weather(BaseModel):
    city: str
    temp_c: int


def _merge(chunks: list[Any]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total  # type: ignore[no-any-return]


def _with_results(question: str, ai: AIMessage) -> list[BaseMessage]:
    return [HumanMessage(question), ai, *(get_weather.invoke(call) for call in ai.tool_calls)]


@pytest.mark.parametrize("model", AGENT)
def test_streamed_answer_is_the_sum_of_many_deltas(sie_url: str, model: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64)
    chunks = list(llm.stream("What is the weather in Paris?"))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 2, f"one delta only: {texts}"
    assert "".join(texts) == _merge(chunks).text == SUNNY
    assert llm.invoke("What is the weather in Paris?").text == SUNNY


@pytest.mark.parametrize("model", AGENT)
async def test_async_tool_turn_then_streamed_answer(sie_url: str, model: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64).bind_tools([get_weather])
    ai = await llm.ainvoke("What is the weather in Paris?")
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_weather", {"location": "Paris"})]
    history = _with_results("What is the weather in Paris?", ai)
    chunks = [c async for c in llm.astream(history)]
    assert sum(1 for c in chunks if c.text) >= 2
    final = _merge(chunks)
    assert final.text == SUNNY
    assert final.tool_calls == []
    assert final.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("model", THINK)
@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
def test_two_parallel_tool_calls_keep_the_text_before_them(sie_url: str, model: str, mode: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=128).bind_tools([get_weather])
    question = "What is the weather in Paris and Oslo?"

    async def astream() -> AIMessageChunk:
        return _merge([c async for c in llm.astream(question)])

    ai: AIMessage
    if mode == "invoke":
        ai = llm.invoke(question)
    elif mode == "stream":
        ai = _merge(list(llm.stream(question)))
    elif mode == "ainvoke":
        ai = asyncio.run(llm.ainvoke(question))
    else:
        ai = asyncio.run(astream())
    assert ai.text == "Let me check both cities."
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [
        ("get_weather", {"location": "Paris"}),
        ("get_weather", {"location": "Oslo"}),
    ]
    ids = [c["id"] for c in ai.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    assert ai.response_metadata["finish_reason"] == "tool_calls"
    final = llm.invoke(_with_results(question, ai))
    assert final.text == BOTH
    assert final.tool_calls == []


@pytest.mark.parametrize("model", THINK)
def test_v1_output_keeps_the_text_and_both_tool_calls_apart(sie_url: str, model: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=128, output_version="v1")
    bound = llm.bind_tools([get_weather])
    for ai in (bound.invoke("Weather in Paris and Oslo?"), _merge(list(bound.stream("Weather in Paris and Oslo?")))):
        blocks = [b for b in ai.content if isinstance(b, dict)]
        assert [b["type"] for b in blocks] == ["text", "tool_call", "tool_call"], blocks
        assert blocks[0]["text"] == "Let me check both cities."
        assert [b["args"] for b in blocks[1:]] == [{"location": "Paris"}, {"location": "Oslo"}]


@pytest.mark.parametrize("model", [*AGENT, *THINK])
def test_a_manual_tool_loop_ends_by_itself(sie_url: str, model: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=128).bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage("What is the weather in Paris and Oslo?")]
    for _ in range(5):
        ai = llm.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            break
        messages.extend(get_weather.invoke(call) for call in ai.tool_calls)
    assert isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls
    assert messages[-1].text == (SUNNY if model in AGENT else BOTH)
    assert sum(isinstance(m, ToolMessage) for m in messages) == (1 if model in AGENT else 2)


@pytest.mark.parametrize("model", [*AGENT, "tiny-think"])
def test_create_agent_runs_until_the_answer(sie_url: str, model: str) -> None:
    from langchain.agents import create_agent

    agent = create_agent(
        SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=128), tools=[get_weather]
    )
    result = agent.invoke({"messages": [HumanMessage("What is the weather in Paris and Oslo?")]})
    messages = result["messages"]
    assert messages[-1].text == (SUNNY if model in AGENT else BOTH)
    assert [m.content for m in messages if isinstance(m, ToolMessage)] == (
        ["It is sunny in Paris."] if model in AGENT else ["It is sunny in Paris.", "It is cloudy in Oslo."]
    )


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
@pytest.mark.parametrize("model", AGENT)
def test_langgraph_react_agent_streams_the_answer_tokens(sie_url: str, model: str) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(
        SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64), tools=[get_weather]
    )
    tokens: list[str] = []
    for message, metadata in agent.stream(
        {"messages": [HumanMessage("What is the weather in Paris?")]}, stream_mode="messages"
    ):
        if isinstance(message, AIMessageChunk) and metadata.get("langgraph_node") == "agent" and message.text:
            tokens.append(message.text)
    assert len(tokens) >= 2, tokens
    assert "".join(tokens) == SUNNY


@pytest.mark.parametrize("model", ["tiny-json", "tiny-json-rendered"])
def test_structured_output_on_a_server_that_cannot_constrain(sie_url: str, model: str) -> None:
    """grammar is [] on the CPU peer: no response_format; tool calling gets no call; the schema in the prompt works."""
    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64)
    assert llm.capabilities().grammar == frozenset()
    result = llm.with_structured_output(Weather, include_raw=True).invoke("Weather in Paris?")
    assert result["parsed"] == Weather(city="Paris", temp_c=21)
    assert result["parsing_error"] is None
    assert result["raw"].response_metadata["structured_output_method"] == "json_prompt"
    structured = llm.with_structured_output(Weather)
    assert list(structured.stream("Weather in Paris?"))[-1] == Weather(city="Paris", temp_c=21)

    async def both() -> tuple[Any, list[Any]]:
        return await structured.ainvoke("Weather?"), [x async for x in structured.astream("Weather?")]

    answer, streamed = asyncio.run(both())
    assert answer == streamed[-1] == Weather(city="Paris", temp_c=21)
    schema = {"title": "weather", "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert llm.with_structured_output(schema).invoke("Weather?") == {"city": "Paris", "temp_c": 21}


def test_structured_output_method_given_is_honoured_as_is(sie_url: str) -> None:
    from sie_integrations import RequestError

    llm = SIEChatModel(model="tiny-json", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64)
    with pytest.raises(RequestError) as refused:
        llm.with_structured_output(Weather, method="json_schema").invoke("Weather?")
    assert refused.value.param == "response_format"


def test_a_reply_that_does_not_validate_raises_with_the_raw_text(sie_url: str) -> None:
    from langchain_core.exceptions import OutputParserException

    class Joke(BaseModel):
        setup: str
        punchline: str

    llm = SIEChatModel(model="tiny-json", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64)
    with pytest.raises(OutputParserException) as caught:
        llm.with_structured_output(Joke).invoke("A joke?")
    assert caught.value.llm_output == '{"city": "Paris", "temp_c": 21}'


@pytest.mark.parametrize("model", ["tiny-agent", "tiny-agent-rendered"])
def test_profile_comes_from_the_server(sie_url: str, model: str) -> None:
    from langchain.agents.factory import _supports_provider_strategy

    llm = SIEChatModel(model=model, base_url=sie_url, api_key=LIVE_API_KEY)
    assert llm.profile is not None
    assert llm.profile["tool_calling"] is True
    assert llm.profile["structured_output"] is False  # the CPU peer cannot constrain decoding
    assert llm.profile["tool_choice"] is False
    assert llm.profile["max_input_tokens"] == 4096
    assert _supports_provider_strategy(llm) is False  # so create_agent(response_format=...) uses tools


def test_logprobs_come_back_in_response_metadata(sie_url: str) -> None:
    llm = SIEChatModel(
        model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=16, logprobs=True, top_logprobs=2
    )
    message = llm.invoke("Hi")
    tokens = message.response_metadata["logprobs"]["content"]
    assert "".join(t["token"] for t in tokens).startswith(SUNNY)  # then the end-of-turn token
    assert all(len(t["top_logprobs"]) == 2 for t in tokens)


def test_every_request_field_is_sent_not_dropped(sie_url: str) -> None:
    from sie_integrations import RequestError

    llm = SIEChatModel(
        model="tiny-agent-rendered", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=16, chat_template_kwargs={}
    )
    assert llm.invoke("Hi").text == SUNNY  # sent with the request, and accepted
    refused = SIEChatModel(
        model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=16, frequency_penalty=0.5
    )
    with pytest.raises(RequestError) as caught:  # a first-class field the MLX path refuses: sent, not dropped
        refused.invoke("Hi")
    assert caught.value.param == "frequency_penalty"


@pytest.mark.parametrize("model", AGENT)
def test_reasoning_sent_back_reaches_the_chat_template(sie_url: str, model: str) -> None:
    """The agent models' template renders an assistant's reasoning inside a tool loop, as Qwen3's does: the same
    loop costs more prompt tokens with the reasoning than without (the CPU peer emits none, so it is added)."""
    tokens = {}
    for send_reasoning in (True, False):
        llm = SIEChatModel(
            model=model, base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=64, send_reasoning=send_reasoning
        )
        first = llm.bind_tools([get_weather]).invoke("What is the weather in Paris?")
        assert first.tool_calls
        first.additional_kwargs["reasoning_content"] = "The user wants Paris; get_weather answers that."
        answer = llm.bind_tools([get_weather]).invoke(_with_results("What is the weather in Paris?", first))
        assert answer.text == SUNNY
        assert answer.usage_metadata is not None
        tokens[send_reasoning] = answer.usage_metadata["input_tokens"]
    assert tokens[True] > tokens[False], tokens


def test_tokens_are_counted_by_the_served_model(sie_url: str) -> None:
    """``trim_messages(token_counter=llm)`` counts with the peer's own tokenizer (before: an ImportError for
    transformers), in any order, as a sum over the messages; tools count too."""
    llm = SIEChatModel(model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY)
    history: list[BaseMessage] = [
        SystemMessage("Be brief."),
        HumanMessage("What is the weather in Paris?"),
        AIMessage(SUNNY),
        HumanMessage("And in Oslo?"),
    ]
    full = llm.get_num_tokens_from_messages(history)
    assert full == sum(llm.get_num_tokens(m.text) for m in history) + 3 * len(history)
    assert llm.get_num_tokens("What is the weather in Paris?") > llm.get_num_tokens("And in Oslo?") > 0
    assert llm.get_num_tokens_from_messages(history[::-1]) == full
    assert llm.get_num_tokens_from_messages(history, tools=[get_weather]) > full
    for include_system in (False, True):
        trimmed = trim_messages(
            history, max_tokens=full - 1, token_counter=llm, strategy="last", include_system=include_system
        )
        assert 1 < len(trimmed) < len(history) and trimmed[-1] == history[-1]
        assert (trimmed[0] == history[0]) is include_system
        assert llm.get_num_tokens_from_messages(trimmed) <= full - 1
