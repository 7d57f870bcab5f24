"""A reasoning model's thinking goes back with the assistant turns of a tool loop (``reasoning_content``), from
``additional_kwargs``, v1 ``reasoning`` blocks and ``thinking`` blocks; ``send_reasoning=False`` keeps it home."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from sie_integrations.langchain import SIEChatModel
from sie_integrations.langchain._messages import message_to_wire, messages_to_wire
from tests.fakes.chat import thinking_agent
from tests.fakes.sie import FakeSIE

CALL = {"name": "get_weather", "args": {"location": "Paris"}, "id": "c1", "type": "tool_call"}


@pytest.mark.parametrize(
    "assistant",
    [
        AIMessage("", additional_kwargs={"reasoning_content": "Paris needs a lookup."}, tool_calls=[CALL]),
        AIMessage([{"type": "reasoning", "reasoning": "Paris needs a lookup."}], tool_calls=[CALL]),
        AIMessage(
            [{"type": "reasoning", "reasoning": "Paris needs "}, {"type": "reasoning", "reasoning": "a lookup."}],
            tool_calls=[CALL],
        ),
        AIMessage([{"type": "thinking", "thinking": "Paris needs a lookup."}], tool_calls=[CALL]),
    ],
    ids=["additional_kwargs", "v1 block", "v1 blocks", "thinking block"],
)
def test_an_assistants_reasoning_is_sent_back(assistant: AIMessage) -> None:
    wire = message_to_wire(assistant)
    assert wire["reasoning_content"] == "Paris needs a lookup."
    assert wire["tool_calls"][0]["function"]["name"] == "get_weather"
    assert "content" not in wire  # the reasoning blocks are not content
    assert "reasoning_content" not in message_to_wire(assistant, reasoning=False)


def test_additional_kwargs_win_over_blocks_so_nothing_is_sent_twice() -> None:
    both = AIMessage(
        [{"type": "reasoning", "reasoning": "think"}, {"type": "text", "text": "Sunny."}],
        additional_kwargs={"reasoning_content": "think"},
    )
    assert message_to_wire(both) == {"role": "assistant", "content": "Sunny.", "reasoning_content": "think"}


def test_messages_without_reasoning_are_unchanged() -> None:
    history: list[BaseMessage] = [HumanMessage("hi"), AIMessage("hello"), ToolMessage("18C", tool_call_id="c1")]
    assert all("reasoning_content" not in m for m in messages_to_wire(history))


@pytest.mark.parametrize("send_reasoning", [True, False])
@pytest.mark.parametrize("output_version", ["v0", "v1"])
def test_a_tool_loop_sends_the_models_own_reasoning_back(send_reasoning: bool, output_version: str) -> None:
    server = FakeSIE(chat=thinking_agent)
    llm = SIEChatModel(model="m", send_reasoning=send_reasoning, output_version=output_version, **server.connection())
    history: list[BaseMessage] = [HumanMessage("Weather in Paris?")]
    first = llm.invoke(history)
    history += [first, ToolMessage("sunny", tool_call_id="c1")]
    assert llm.invoke(history).text == "It is sunny in Paris."
    replayed = server.sent("chat")[1]["messages"][1]
    assert replayed["role"] == "assistant"
    assert replayed.get("reasoning_content") == ("Paris needs a lookup." if send_reasoning else None)
