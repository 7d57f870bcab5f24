"""Token counting for the served model without ``transformers``: on the server (a one-token generation's
``usage.prompt_tokens``) or estimated; ``trim_messages(token_counter=llm)`` works. On ``FakeSIE``."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import tool

from sie_integrations.langchain import SIEChatModel
from tests.fakes.sie import FakeSIE


@tool
def get_weather(location: str) -> str:
    """Get the current weather at a location."""
    return "sunny"


def counting_server() -> FakeSIE:
    """Chat and generate answers whose usage counts one token a character of the text sent."""
    return FakeSIE(prompt_tokens=len)


def test_messages_are_counted_by_the_server_for_one_token() -> None:
    server = counting_server()
    llm = SIEChatModel(model="m", max_tokens=512, n=1, **server.connection())
    assert llm.get_num_tokens_from_messages([HumanMessage("hello"), AIMessage("hi there")]) == 13
    sent = server.sent("chat")[0]
    assert sent["max_completion_tokens"] == 1 and "max_tokens" not in sent and "n" not in sent
    assert [m["content"] for m in sent["messages"]] == ["hello", "hi there"]
    assert "tools" not in sent
    llm.get_num_tokens_from_messages([HumanMessage("hello")], tools=[get_weather])
    assert server.sent("chat")[1]["tools"][0]["function"]["name"] == "get_weather"
    assert llm.get_num_tokens_from_messages([]) == 0
    assert len(server.sent("chat")) == 2


def test_text_is_counted_by_the_server_without_a_template() -> None:
    server = counting_server()
    llm = SIEChatModel(model="m", **server.connection())
    assert llm.get_num_tokens("hello world") == 11
    assert server.sent("generate")[0] == {"prompt": "hello world", "max_new_tokens": 1}


def test_the_estimate_sends_nothing() -> None:
    server = FakeSIE()
    llm = SIEChatModel(model="m", count_tokens="estimate", **server.connection())
    messages: list[BaseMessage] = [HumanMessage("x" * 40)]
    assert llm.get_num_tokens_from_messages(messages) == count_tokens_approximately(messages)
    assert llm.get_num_tokens("y" * 41) == 11
    assert llm.get_num_tokens_from_messages(messages, tools=[get_weather]) > 13
    assert server.requests == []


def test_token_ids_need_a_tokenizer_of_the_users_own() -> None:
    with pytest.raises(NotImplementedError, match="get_num_tokens"):
        SIEChatModel(model="m", base_url="http://127.0.0.1:9").get_token_ids("hello")
    custom = SIEChatModel(model="m", base_url="http://127.0.0.1:9", custom_get_token_ids=lambda t: list(t.encode()))
    assert custom.get_token_ids("hé") == [104, 195, 169]
    assert custom.get_num_tokens("hé") == 3  # the user's tokenizer, nothing sent


def test_trim_messages_with_the_model_as_counter() -> None:
    """Before: ``ImportError: Could not import transformers`` (LangChain's GPT-2 fallback)."""
    server = counting_server()
    llm = SIEChatModel(model="m", **server.connection())
    history: list[BaseMessage] = [
        SystemMessage("be brief"),
        HumanMessage("first question"),
        AIMessage("first answer"),
        HumanMessage("second question"),
        AIMessage("second answer"),
    ]
    trimmed = trim_messages(history, max_tokens=40, token_counter=llm, strategy="last", include_system=True)
    assert [m.content for m in trimmed] == ["be brief", "second question", "second answer"]
