"""Tool calling for the LlamaIndex chat model: the ``FunctionCallingLLM`` hooks, in wire form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ToolCallBlock
from llama_index.core.llms.llm import ToolSelection

from .._adapters.chat_request import wire_tool_choice
from .._adapters.tool_calls import parse_partial_json

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool


def _parse_partial(arguments: str) -> dict[str, Any]:
    """Arguments of a (possibly still streaming) tool call; never raises."""
    value = parse_partial_json(arguments)
    return value if isinstance(value, dict) else {}


def _tool_choice(tool_choice: str | dict[str, Any] | None, tool_required: bool) -> str | dict[str, Any] | None:
    """``tool_choice`` in wire form; without one, "required" when ``tool_required``."""
    if not tool_choice and not isinstance(tool_choice, dict):
        return "required" if tool_required else None
    return wire_tool_choice(tool_choice)


class ToolCalling:
    """The tool-calling hooks of ``FunctionCallingLLM``: tools offered in wire form, calls read back (safe on the
    partial arguments of a stream), one call kept unless parallel calls are allowed."""

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        if strict is not None:
            for spec in specs:
                spec["function"]["strict"] = strict
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
            choice = _tool_choice(tool_choice, tool_required)
            if choice is not None:
                prepared["tool_choice"] = choice
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
            for extra in calls[1:]:
                response.message.blocks.remove(extra)
            wire_calls = response.message.additional_kwargs.get("tool_calls")
            if isinstance(wire_calls, list):
                response.message.additional_kwargs["tool_calls"] = wire_calls[:1]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls of a response; safe on the partial arguments of a streaming response.

        Args:
            response: A response of ``chat_with_tools`` (or ``stream_chat_with_tools``).
            error_on_no_tool_call: Raise ``ValueError`` when the response has no tool call; False returns ``[]``.
            **kwargs: Not used.
        """
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not calls and error_on_no_tool_call:
            raise ValueError(f"expected at least one tool call, got none: {response.message.content!r}")
        return [
            ToolSelection(
                tool_id=call.tool_call_id or "",
                tool_name=call.tool_name,
                tool_kwargs=call.tool_kwargs
                if isinstance(call.tool_kwargs, dict)
                else _parse_partial(call.tool_kwargs),
            )
            for call in calls
        ]
