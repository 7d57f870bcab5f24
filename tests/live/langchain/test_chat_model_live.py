"""SIEChatModel against the real SIE peer (live), replayed from cassettes by default."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from langchain_core import exceptions as lc_exceptions
from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import ConfigurableField
from langchain_core.tools import tool

from sie_integrations import RequestError
from sie_integrations.langchain import SIEChatModel
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is 21 degrees and sunny in {city}."


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk  # type: ignore[assignment]
    return total


@pytest.mark.parametrize("model", ["tiny-tools", "tiny-tools-rendered"])
def test_tool_call_invoke_and_stream(sie_url: str, model: str) -> None:
    llm = SIEChatModel(model=model, base_url=sie_url, max_tokens=32).bind_tools([get_weather])
    message = llm.invoke("Weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    chunks = list(llm.stream("Weather in Paris?"))
    total = _merge(chunks)  # type: ignore[arg-type]
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert sum(1 for c in chunks if c.usage_metadata) == 1  # type: ignore[attr-defined]
    assert total.usage_metadata is not None and total.usage_metadata["input_tokens"] > 0
    assert total.response_metadata["model_name"] == model


def test_agent_loop_with_a_tool_result(sie_url: str) -> None:
    """tiny-tools asks for the tool; the tool runs; tiny-chat-rendered answers from the history."""
    caller = SIEChatModel(model="tiny-tools", base_url=sie_url, max_tokens=32).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    ai = caller.invoke([question])
    tool_messages = [get_weather.invoke(call) for call in ai.tool_calls]
    assert isinstance(tool_messages[0], ToolMessage)
    assert tool_messages[0].tool_call_id == ai.tool_calls[0]["id"]
    answerer = SIEChatModel(model="tiny-chat-rendered", base_url=sie_url, max_tokens=16).bind_tools([get_weather])
    final = answerer.invoke([question, ai, *tool_messages])
    assert final.content == "Hello from tiny-chat!"
    assert final.tool_calls == []


def test_async_across_two_event_loops(sie_url: str, sleeps: list[float]) -> None:
    llm = SIEChatModel(model="tiny-chat", base_url=sie_url, max_tokens=16)

    async def ask() -> str:
        chunks = [c.content async for c in llm.astream("Hi")]
        return "".join(str(c) for c in chunks)

    assert asyncio.run(ask()) == "Hello from tiny-chat!"
    assert asyncio.run(ask()) == "Hello from tiny-chat!"  # a new loop gets its own connection pool


def test_server_refusals_are_typed_twice(sie_url: str) -> None:
    forced = SIEChatModel(model="tiny-tools", base_url=sie_url).bind_tools([get_weather], tool_choice="any")
    with pytest.raises(lc_exceptions.ModelInvalidRequestError) as info:
        forced.invoke("Weather?")
    assert isinstance(info.value, RequestError)
    assert info.value.param == "tool_choice"
    with pytest.raises(lc_exceptions.ModelNotFoundError):
        SIEChatModel(model="no-such-model", base_url=sie_url).invoke("Hi")
    with pytest.raises(lc_exceptions.ModelAPIError) as no_chat:
        SIEChatModel(model="sie-fake", base_url=sie_url).invoke("Hi")
    assert no_chat.value.status_code == 501  # type: ignore[attr-defined]


def test_a_copy_reads_its_own_models_profile_and_pickling_sends_nothing(sie_url: str) -> None:
    """Before: a ``tiny-agent`` copied to ``sie-fake`` kept ``max_input_tokens: 4096``; pickling asked the server."""
    agent = SIEChatModel(model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY)
    restored = pickle.loads(pickle.dumps(agent))  # before any read: nothing asked
    assert agent.profile is not None and agent.profile["max_input_tokens"] == 4096
    fake = agent.model_copy(update={"model": "sie-fake"})
    assert fake.profile is not None and fake.profile["max_input_tokens"] == 512
    assert restored.profile is not None and restored.profile["max_input_tokens"] == 4096
    assert agent.profile["max_input_tokens"] == 4096


def test_configurable_fields_switch_the_model(sie_url: str) -> None:
    llm = SIEChatModel(model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY, max_tokens=32)
    configurable = llm.configurable_fields(model=ConfigurableField(id="model"))
    chat = configurable.with_config(configurable={"model": "tiny-chat"})
    assert chat.invoke("Hello").text == "Hello from tiny-chat!"
    assert configurable.invoke("Hello").text == "It is sunny in Paris today."
