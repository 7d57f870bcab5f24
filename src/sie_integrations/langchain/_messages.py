"""Pure mapping between LangChain messages and SIE's chat completion wire objects."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolCallChunk,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call

from .._adapters.chunks import ChunkReader
from .._adapters.tool_calls import ToolCallFragment
from .._adapters.usage import cached_tokens, reasoning_tokens, total_tokens
from ..chat import ChatCompletion, ChatCompletionChunk, ChatUsage, Choice

PROVIDER = "sie"
# Tool-call chunks start at index 2: in output_version="v1" a reasoning block takes index 0 and the text
# block the next one, so a tool call never merges into either.
TOOL_INDEX_OFFSET = 2
_DROPPED_BLOCKS = frozenset({"tool_use", "thinking", "reasoning", "reasoning_content", "redacted_thinking"})


# --- LangChain -> wire -------------------------------------------------------------------


def _data_block_part(block: Mapping[str, Any]) -> dict[str, Any]:
    """A standard image data block as an ``image_url`` part (base64 only: the server fetches no URLs)."""
    data = block.get("base64") or block.get("data")
    mime = block.get("mime_type") or "image/png"
    if block.get("source_type") == "base64" or block.get("base64"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    url = block.get("url")
    if isinstance(url, str) and url.startswith("data:"):
        return {"type": "image_url", "image_url": {"url": url}}
    raise ValueError("SIE takes images as base64 data only, not as URLs to fetch")


def content_parts(content: str | list[Any]) -> str | list[dict[str, Any]]:
    """Message content for the wire: text kept, tool-use and reasoning blocks dropped."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
            continue
        kind = block.get("type")
        if kind in ("text", "input_text"):
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind in _DROPPED_BLOCKS or kind in ("tool_call", "tool_call_chunk", "invalid_tool_call"):
            continue
        elif kind == "image_url":
            parts.append({"type": "image_url", "image_url": block["image_url"]})
        elif kind == "image":
            parts.append(_data_block_part(block))
        else:
            raise ValueError(f"SIE chat does not take content blocks of type {kind!r}")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool_call_wire(call: ToolCall | InvalidToolCall, arguments: str) -> dict[str, Any]:
    return {"id": call.get("id"), "type": "function", "function": {"name": call.get("name"), "arguments": arguments}}


def reasoning_of(message: AIMessage) -> str:
    """An assistant message's reasoning: ``additional_kwargs["reasoning_content"]``, else its ``reasoning``
    (v1) and ``thinking`` blocks."""
    given = message.additional_kwargs.get("reasoning_content")
    if isinstance(given, str) and given:
        return given
    if isinstance(message.content, str):
        return ""
    blocks = [b for b in message.content if isinstance(b, dict) and b.get("type") in ("reasoning", "thinking")]
    return "".join(str(b.get(b["type"]) or "") for b in blocks)


def message_to_wire(message: BaseMessage, *, reasoning: bool = True) -> dict[str, Any]:
    """One LangChain message as a chat completion message; ``reasoning``: with an assistant's reasoning."""
    wire: dict[str, Any]
    if isinstance(message, SystemMessage):
        role = "developer" if message.additional_kwargs.get("__openai_role__") == "developer" else "system"
        wire = {"role": role, "content": content_parts(message.content)}
    elif isinstance(message, HumanMessage):
        wire = {"role": "user", "content": content_parts(message.content)}
    elif isinstance(message, AIMessage):
        wire = {"role": "assistant", "content": content_parts(message.content)}
        calls = [_tool_call_wire(c, json.dumps(c["args"], ensure_ascii=False)) for c in message.tool_calls]
        calls += [_tool_call_wire(c, c.get("args") or "") for c in message.invalid_tool_calls]
        if calls:
            wire["tool_calls"] = calls
            if not wire["content"]:
                del wire["content"]
        thought = reasoning_of(message) if reasoning else ""
        if thought:
            wire["reasoning_content"] = thought
    elif isinstance(message, ToolMessage):
        content = content_parts(message.content)
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        wire = {"role": "tool", "tool_call_id": message.tool_call_id, "content": content}
    elif isinstance(message, ChatMessage):
        wire = {"role": message.role, "content": content_parts(message.content)}
    else:
        raise ValueError(f"SIE chat cannot send a {type(message).__name__}")
    if message.name and not isinstance(message, ToolMessage):
        wire["name"] = message.name
    return wire


def counted_text(message: BaseMessage) -> str:
    """What of a message a model reads as text, for counting its tokens: its text, and its tool calls as JSON."""
    calls = [{"name": c["name"], "arguments": c["args"]} for c in getattr(message, "tool_calls", [])]
    return message.text + (json.dumps(calls, ensure_ascii=False) if calls else "")


def messages_to_wire(messages: Sequence[BaseMessage], *, reasoning: bool = True) -> list[dict[str, Any]]:
    return [message_to_wire(m, reasoning=reasoning) for m in messages]


# --- wire -> LangChain -------------------------------------------------------------------


def usage_metadata(usage: ChatUsage | None) -> UsageMetadata | None:
    """Token usage in LangChain's shape, with cache and reasoning details when the server gives them."""
    if usage is None:
        return None
    result: dict[str, Any] = {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": total_tokens(usage),
    }
    cached = cached_tokens(usage)
    if cached is not None:
        result["input_token_details"] = {"cache_read": cached}
    reasoning = reasoning_tokens(usage)
    if reasoning is not None:
        result["output_token_details"] = {"reasoning": reasoning}
    return cast(UsageMetadata, result)


def parse_tool_calls(raw_calls: Sequence[Mapping[str, Any]]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Tool calls from the wire; malformed arguments become invalid tool calls instead of raising."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        try:
            parsed = parse_tool_call(dict(raw), return_id=True)
        except Exception as exc:  # any parse failure, whatever the server sent
            invalid.append(make_invalid_tool_call(dict(raw), str(exc)))
            continue
        if parsed is not None and not isinstance(parsed.get("args"), dict):  # JSON, but "[1]" or "42"
            invalid.append(make_invalid_tool_call(dict(raw), "the arguments are not a JSON object"))
            continue
        if parsed is not None:
            calls.append(parsed)  # type: ignore[arg-type]
    return calls, invalid


def ai_messages(completion: ChatCompletion) -> list[AIMessage]:
    """Every choice of a completion (``n`` > 1 gives several), in order, as ``AIMessage``s."""
    if not completion.choices:
        raise ValueError("the server returned a chat completion without choices")
    return [_choice_message(completion, choice) for choice in sorted(completion.choices, key=lambda c: c.index)]


def _choice_message(completion: ChatCompletion, choice: Choice) -> AIMessage:
    message = choice.message
    raw_calls = [c.model_dump(exclude_none=True) for c in message.tool_calls or []]
    calls, invalid = parse_tool_calls(raw_calls)
    extra: dict[str, Any] = {}
    if message.reasoning_content:
        extra["reasoning_content"] = message.reasoning_content
    metadata = final_metadata(completion.model, choice.finish_reason, completion.id, completion)
    if choice.logprobs is not None:
        metadata["logprobs"] = choice.logprobs
    return AIMessage(
        content=message.content or "",
        tool_calls=calls,
        invalid_tool_calls=invalid,
        additional_kwargs=extra,
        usage_metadata=usage_metadata(completion.usage) if choice.index == 0 else None,
        response_metadata=metadata,
        id=completion.id or None,
    )


def final_metadata(model: str, finish_reason: str | None, completion_id: str, source: Any = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_name": model, "finish_reason": finish_reason, "model_provider": PROVIDER}
    if completion_id:
        metadata["id"] = completion_id
    fingerprint = getattr(source, "system_fingerprint", None)
    if fingerprint:
        metadata["system_fingerprint"] = fingerprint
    return metadata


def delta_chunk(
    *,
    content: str,
    reasoning: str | None,
    fragments: Sequence[ToolCallFragment],
    index_offset: int,
    message_id: str | None,
) -> AIMessageChunk:
    """A streamed delta; tool-call indexes shifted past the text block so v1 blocks never merge."""
    chunks = [
        ToolCallChunk(name=f.name, args=f.arguments, id=f.id, index=f.index + index_offset, type="tool_call_chunk")
        for f in fragments
    ]
    return AIMessageChunk(
        content=content,
        tool_call_chunks=chunks,
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        response_metadata={"model_provider": PROVIDER},
        id=message_id,
    )


def last_chunk(
    *, model: str, finish_reason: str | None, usage: ChatUsage | None, message_id: str | None
) -> AIMessageChunk:
    """The closing chunk: finish reason, model name and usage, once."""
    return AIMessageChunk(
        content="",
        usage_metadata=usage_metadata(usage),
        response_metadata=final_metadata(model, finish_reason, message_id or ""),
        id=message_id,
        chunk_position="last",
    )


class ChunkMapper:
    """Maps one chat stream's chunks to ``AIMessageChunk``s; ``finish()`` gives the closing chunk."""

    def __init__(self, model: str) -> None:
        self._reader = ChunkReader(model)

    def feed(self, chunk: ChatCompletionChunk) -> AIMessageChunk | None:
        delta = self._reader.feed(chunk)
        if delta is None:
            return None
        return delta_chunk(
            content=delta.content,
            reasoning=delta.reasoning,
            fragments=delta.fragments,
            index_offset=TOOL_INDEX_OFFSET,
            message_id=self._reader.id,
        )

    def finish(self) -> AIMessageChunk:
        reader = self._reader
        return last_chunk(
            model=reader.model, finish_reason=reader.finish_reason, usage=reader.usage, message_id=reader.id
        )
