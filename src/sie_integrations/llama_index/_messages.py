"""Pure mapping between LlamaIndex chat messages and SIE's chat completion wire objects."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from io import IOBase
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ImageBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from .._adapters.chunks import ChunkReader
from .._adapters.tool_calls import new_call_id
from .._adapters.usage import total_tokens
from ..chat import ChatCompletion, ChatCompletionChunk, ChatUsage

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "developer",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}


# --- LlamaIndex -> wire ------------------------------------------------------------------


def _image_part(block: ImageBlock) -> dict[str, Any]:
    url = str(block.url) if block.url is not None else None
    if url and url.startswith("data:"):
        return {"type": "image_url", "image_url": {"url": url}}
    if block.image is None and block.path is None:
        raise ValueError("SIE takes images as bytes or data: URLs, not as URLs to fetch")
    if isinstance(block.image, IOBase):  # LlamaIndex keeps a file object as it is, never base64-encoded
        block.image.seek(0)
        encoded = base64.b64encode(block.image.read()).decode("ascii")
    else:
        encoded = block.resolve_image(as_base64=True).read().decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{block.image_mimetype or 'image/png'};base64,{encoded}"}}


def _arguments(kwargs: dict[str, Any] | str) -> str:
    return kwargs if isinstance(kwargs, str) else json.dumps(kwargs, ensure_ascii=False)


def message_to_wire(message: ChatMessage, *, reasoning: bool = True) -> dict[str, Any]:
    """One LlamaIndex message as a chat completion message; ``reasoning``: with an assistant's ``ThinkingBlock``s."""
    role = _ROLES.get(message.role)
    if role is None:
        raise ValueError(f"SIE chat cannot send a message with role {message.role!r}")
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    thoughts: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif isinstance(block, ToolCallBlock):
            calls.append(
                {
                    "id": block.tool_call_id or new_call_id(),
                    "type": "function",
                    "function": {"name": block.tool_name, "arguments": _arguments(block.tool_kwargs)},
                }
            )
        elif isinstance(block, ThinkingBlock):
            thoughts.append(block.content or "")
        else:
            raise ValueError(f"SIE chat does not take {type(block).__name__} content")
    if not calls and role == "assistant":
        legacy = message.additional_kwargs.get("tool_calls") or []
        calls = [_legacy_call(c) for c in legacy]
    wire: dict[str, Any] = {"role": role}
    if all(p["type"] == "text" for p in parts):
        text = "".join(p["text"] for p in parts)
        if text or not calls:
            wire["content"] = text
    else:
        wire["content"] = parts
    if calls and role == "assistant":
        wire["tool_calls"] = calls
    if reasoning and role == "assistant" and "".join(thoughts):
        wire["reasoning_content"] = "".join(thoughts)
    if role == "tool":
        call_id = message.additional_kwargs.get("tool_call_id")
        if not call_id:
            raise ValueError("a tool message needs additional_kwargs['tool_call_id']")
        wire["tool_call_id"] = call_id
    name = message.additional_kwargs.get("name")
    if isinstance(name, str) and role != "tool":
        wire["name"] = name
    return wire


def _legacy_call(call: Any) -> dict[str, Any]:
    data = call.model_dump() if hasattr(call, "model_dump") else dict(call)
    function = data.get("function") or {}
    return {
        "id": data.get("id") or new_call_id(),
        "type": "function",
        "function": {"name": function.get("name"), "arguments": function.get("arguments") or "{}"},
    }


def messages_to_wire(messages: Sequence[ChatMessage], *, reasoning: bool = True) -> list[dict[str, Any]]:
    return [message_to_wire(m, reasoning=reasoning) for m in messages]


# --- wire -> LlamaIndex ------------------------------------------------------------------


def tool_kwargs(arguments: str) -> dict[str, Any] | str:
    """Parsed arguments, or the raw string when they are not (yet) a JSON object."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return arguments
    return parsed if isinstance(parsed, dict) else arguments


def usage_counts(usage: ChatUsage | None) -> dict[str, int]:
    """The token counts LlamaIndex's token counter reads."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": total_tokens(usage),
    }


def _logprob(entry: Any) -> LogProb | None:
    """One ``{"token", "logprob", "bytes"?}`` entry; None when it has no numeric logprob."""
    if not isinstance(entry, Mapping):
        return None
    value = entry.get("logprob")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    token = entry.get("token")
    raw_bytes = entry.get("bytes")
    if not isinstance(raw_bytes, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in raw_bytes):
        raw_bytes = []
    return LogProb(token=token if isinstance(token, str) else "", logprob=float(value), bytes=raw_bytes)


def token_logprobs(logprobs: Any) -> list[list[LogProb]] | None:
    """A choice's ``logprobs`` per token: its ``top_logprobs``, or the token alone when it has none.

    None when there are none. Unlike llama-index-llms-openai, a token without alternatives is kept, so the
    list lines up with the generated tokens; malformed entries are skipped.
    """
    content = logprobs.get("content") if isinstance(logprobs, Mapping) else None
    if not isinstance(content, list):
        return None
    result: list[list[LogProb]] = []
    for entry in content:
        token = _logprob(entry)
        if token is None:
            continue
        top = entry.get("top_logprobs")
        alternatives = [p for p in map(_logprob, top if isinstance(top, list) else []) if p is not None]
        result.append(alternatives or [token])
    return result or None


def wire_tool_calls(calls: Sequence[tuple[str, str | None, str]]) -> list[dict[str, Any]]:
    """Tool calls as OpenAI-style dicts, for the LlamaIndex helpers that read ``additional_kwargs["tool_calls"]``."""
    return [{"id": i, "type": "function", "function": {"name": n or "", "arguments": a}} for i, n, a in calls]


def _message(text: str, reasoning: str, calls: Sequence[tuple[str, str | None, str]]) -> ChatMessage:
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    if text:
        blocks.append(TextBlock(text=text))
    blocks += [ToolCallBlock(tool_call_id=i, tool_name=n or "", tool_kwargs=tool_kwargs(a)) for i, n, a in calls]
    extra = {"tool_calls": wire_tool_calls(calls)} if calls else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _raw(model: str, completion_id: str, finish_reason: str | None, usage: ChatUsage | None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "model": model,
        "finish_reason": finish_reason,
        "usage": usage.model_dump(exclude_none=True) if usage is not None else None,
    }


def chat_response(completion: ChatCompletion) -> ChatResponse:
    """The first choice of a completion as a ``ChatResponse``, with usage where the token counter looks."""
    if not completion.choices:
        raise ValueError("the server returned a chat completion without choices")
    choice = completion.choices[0]
    calls = [(c.id or new_call_id(), c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
    message = _message(choice.message.content or "", choice.message.reasoning_content or "", calls)
    return ChatResponse(
        message=message,
        raw=_raw(completion.model, completion.id, choice.finish_reason, completion.usage),
        additional_kwargs=usage_counts(completion.usage),
        logprobs=token_logprobs(choice.logprobs),
    )


class StreamAccumulator:
    """Builds the accumulated ``ChatResponse`` of a stream, one chunk at a time."""

    def __init__(self, model: str) -> None:
        self._reader = ChunkReader(model)
        self.text = ""
        self.reasoning = ""
        self._calls: list[list[Any]] = []  # [id, name, arguments] per call
        self.logprobs: list[list[LogProb]] = []

    def _response(self, delta: str, thinking_delta: str = "") -> ChatResponse:
        reader = self._reader
        extra: dict[str, Any] = usage_counts(reader.usage)
        if thinking_delta:
            extra["thinking_delta"] = thinking_delta
        return ChatResponse(
            message=_message(self.text, self.reasoning, [(c[0], c[1], c[2]) for c in self._calls]),
            delta=delta,
            raw=_raw(reader.model, reader.id or "", reader.finish_reason, reader.usage),
            additional_kwargs=extra,
            logprobs=list(self.logprobs) or None,
        )

    def feed(self, chunk: ChatCompletionChunk) -> ChatResponse | None:
        choice = next((c for c in chunk.choices if c.index == 0), None)
        self.logprobs += token_logprobs(choice.logprobs if choice is not None else None) or []
        delta = self._reader.feed(chunk)
        if delta is None:
            return None
        for fragment in delta.fragments:
            if fragment.index == len(self._calls):
                self._calls.append([fragment.id, fragment.name, ""])
            call = self._calls[fragment.index]
            call[1] = call[1] or fragment.name
            call[2] += fragment.arguments
        self.text += delta.content
        self.reasoning += delta.reasoning
        return self._response(delta.content, delta.reasoning)

    def finish(self) -> ChatResponse:
        """The last response: the whole message, the finish reason and the usage."""
        return self._response("")
