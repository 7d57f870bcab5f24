"""Token counting for the served model without ``transformers``: each text by the server's tokenizer (a one-token
``/v1/generate``), plus 3 a message, or estimated; ``trim_messages(token_counter=llm)`` works. On ``FakeSIE``."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import tool

from sie_integrations.langchain import SIEChatModel
from tests.fakes.sie import FakeSIE


@tool
def get_weather(location: str) -> str:
    """Get the current weather at a location."""
    return "sunny"


def counting_server() -> FakeSIE:
    """Generate answers whose usage counts one token a character of the prompt."""
    return FakeSIE(prompt_tokens=len)


def prompts(server: FakeSIE) -> list[str]:
    return [body["prompt"] for body in server.sent("generate")]


def test_each_message_is_counted_once_by_the_server_plus_three() -> None:
    server = counting_server()
    llm = SIEChatModel(model="m", **server.connection())
    history: list[BaseMessage] = [HumanMessage("hello"), AIMessage("hi there")]
    assert llm.get_num_tokens_from_messages(history) == 5 + 8 + 2 * 3
    assert all(body == {"prompt": body["prompt"], "max_new_tokens": 1} for body in server.sent("generate"))
    assert llm.get_num_tokens_from_messages([*history, HumanMessage("hello")]) == 5 + 8 + 5 + 3 * 3
    assert prompts(server) == ["hello", "hi there"]  # a text counted once is not sent again
    assert server.sent("chat") == []


def test_the_count_is_a_sum_whatever_the_order() -> None:
    """trim_messages counts reversed slices (strategy="last"): they must add up as the conversation does."""
    llm = SIEChatModel(model="m", **counting_server().connection())
    history: list[BaseMessage] = [SystemMessage("be brief"), HumanMessage("what?"), AIMessage("this")]
    whole = llm.get_num_tokens_from_messages(history)
    assert llm.get_num_tokens_from_messages(history[::-1]) == whole
    assert sum(llm.get_num_tokens_from_messages([m]) for m in history) == whole


def test_tool_calls_and_tools_count() -> None:
    server = counting_server()
    call = {"name": "get_weather", "args": {"location": "Paris"}, "id": "c1", "type": "tool_call"}
    llm = SIEChatModel(model="m", **server.connection())
    llm.get_num_tokens_from_messages([AIMessage("", tool_calls=[call]), ToolMessage("sunny", tool_call_id="c1")])
    assert prompts(server) == ['[{"name": "get_weather", "arguments": {"location": "Paris"}}]', "sunny"]
    llm.get_num_tokens_from_messages([HumanMessage("x")], tools=[get_weather])
    assert '"get_weather"' in prompts(server)[-1]


def test_the_models_own_tools_count_by_default() -> None:
    server = counting_server()
    spec = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    llm = SIEChatModel(model="m", tools=[spec], **server.connection())
    assert llm.get_num_tokens_from_messages([HumanMessage("x")]) > 1 + 3
    assert '"get_weather"' in prompts(server)[-1]


def test_a_server_without_usage_gets_the_estimate() -> None:
    server = FakeSIE(prompt_tokens=lambda text: 0)
    assert SIEChatModel(model="m", **server.connection()).get_num_tokens("y" * 41) == 11


def test_the_estimate_sends_nothing() -> None:
    server = FakeSIE()
    llm = SIEChatModel(model="m", count_tokens="estimate", **server.connection())
    messages: list[BaseMessage] = [HumanMessage("x" * 40)]
    assert llm.get_num_tokens_from_messages(messages) == count_tokens_approximately(messages)
    assert llm.get_num_tokens("y" * 41) == 11
    assert llm.get_num_tokens_from_messages(messages, tools=[get_weather]) > count_tokens_approximately(messages)
    assert server.requests == []


def test_token_ids_need_a_tokenizer_of_the_users_own() -> None:
    with pytest.raises(NotImplementedError, match="get_num_tokens"):
        SIEChatModel(model="m", base_url="http://127.0.0.1:9").get_token_ids("hello")
    custom = SIEChatModel(model="m", base_url="http://127.0.0.1:9", custom_get_token_ids=lambda t: list(t.encode()))
    assert custom.get_token_ids("hé") == [104, 195, 169]
    assert custom.get_num_tokens("hé") == 3  # the user's tokenizer, nothing sent
    assert custom.get_num_tokens_from_messages([HumanMessage("hé")]) == 3 + 3


def test_trim_messages_with_the_model_as_counter() -> None:
    """Before: ``ImportError: Could not import transformers`` (LangChain's GPT-2 fallback)."""
    llm = SIEChatModel(model="m", **counting_server().connection())
    history: list[BaseMessage] = [
        SystemMessage("be brief"),
        HumanMessage("first question"),
        AIMessage("first answer"),
        HumanMessage("second question"),
        AIMessage("second answer"),
    ]
    trimmed = trim_messages(history, max_tokens=45, token_counter=llm, strategy="last", include_system=True)
    assert [m.content for m in trimmed] == ["be brief", "second question", "second answer"]
    assert llm.get_num_tokens_from_messages(trimmed) == 8 + 15 + 13 + 3 * 3 <= 45
