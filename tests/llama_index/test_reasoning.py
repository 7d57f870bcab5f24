"""A reasoning model's ``ThinkingBlock``s go back with the assistant turns of a tool loop (``reasoning_content``);
``send_reasoning=False`` keeps them home."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ThinkingBlock, ToolCallBlock

from sie_integrations.llama_index import SIEChatModel
from sie_integrations.llama_index._messages import message_to_wire
from tests.fakes.chat import thinking_agent
from tests.fakes.sie import FakeSIE


def test_thinking_blocks_are_sent_back_as_reasoning_content() -> None:
    assistant = ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            ThinkingBlock(content="Paris needs "),
            ThinkingBlock(content="a lookup."),
            ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs={"location": "Paris"}),
        ],
    )
    wire = message_to_wire(assistant)
    assert wire["reasoning_content"] == "Paris needs a lookup."
    assert wire["tool_calls"][0]["id"] == "c1"
    assert "reasoning_content" not in message_to_wire(assistant, reasoning=False)


def test_only_an_assistant_sends_reasoning() -> None:
    user = ChatMessage(role=MessageRole.USER, blocks=[ThinkingBlock(content="x"), TextBlock(text="hi")])
    assert message_to_wire(user) == {"role": "user", "content": "hi"}


@pytest.mark.parametrize("send_reasoning", [True, False])
async def test_a_tool_loop_sends_the_models_own_reasoning_back(send_reasoning: bool) -> None:
    server = FakeSIE(chat=thinking_agent)
    llm = SIEChatModel(model_name="m", send_reasoning=send_reasoning, **server.connection())
    history = [ChatMessage(role=MessageRole.USER, content="Weather in Paris?")]
    first = await llm.achat(history)
    tool = ChatMessage(role=MessageRole.TOOL, content="sunny", additional_kwargs={"tool_call_id": "c1"})
    assert (await llm.achat([*history, first.message, tool])).message.content == "It is sunny in Paris."
    replayed = server.sent("chat")[1]["messages"][1]
    assert replayed["role"] == "assistant"
    assert replayed.get("reasoning_content") == ("Paris needs a lookup." if send_reasoning else None)
