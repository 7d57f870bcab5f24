"""The chat completion request of both chat models: their shared fields, and the body built from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

WIRE_TOOL_CHOICES = ("auto", "none", "required")


class ChatRequestFields(BaseModel):
    """The request fields both chat models take as their own; each is sent only when set."""

    temperature: float | None = None
    """Sampling temperature, ``>= 0`` (0 is greedy); None: the model's default."""
    max_tokens: int | None = Field(default=None, ge=1)
    """The most tokens to generate per answer; None: the server's limit."""
    top_p: float | None = None
    """Nucleus sampling, in ``(0, 1]``."""
    top_k: int | None = None
    """Sample from the ``top_k`` most likely tokens only (at least 1)."""
    repetition_penalty: float | None = None
    """Penalty on repeated tokens, in ``(0, 2]``; 1.0 is none."""
    seed: int | None = None
    """A seed, for best-effort reproducible sampling."""
    frequency_penalty: float | None = None
    """Penalty on tokens by how often they already appear, in ``[-2, 2]``."""
    presence_penalty: float | None = None
    """Penalty on tokens that already appear at all, in ``[-2, 2]``."""
    logit_bias: dict[str, float] | None = None
    """Token id (as a string) to a bias in ``[-100, 100]`` added to its logit."""
    logprobs: bool | None = None
    """Return token log probabilities (LangChain: in ``response_metadata["logprobs"]``; LlamaIndex: in
    ``ChatResponse.logprobs``)."""
    top_logprobs: int | None = None
    """How many alternatives per token to return with ``logprobs`` (0 to 20)."""
    user: str | None = None
    """An id of the end user, for the server's logs."""
    safety_identifier: str | None = None
    """A stable id of the end user, for abuse detection."""
    include_reasoning: bool | None = None
    """Ask for the model's reasoning (LangChain: it comes back as ``additional_kwargs["reasoning_content"]``;
    LlamaIndex: as a ``ThinkingBlock``)."""
    parallel_tool_calls: bool | None = None
    """Allow several tool calls in one turn (LlamaIndex's ``chat_with_tools`` sets it per call from
    ``allow_parallel_tool_calls``)."""


REQUEST_FIELDS: tuple[str, ...] = tuple(ChatRequestFields.model_fields)


def set_fields(source: object, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``source`` that are not None."""
    return {name: value for name in names if (value := getattr(source, name)) is not None}


def chat_request(
    params: Mapping[str, Any],
    call: Mapping[str, Any],
    *,
    model: str,
    messages: list[dict[str, Any]],
    stream: bool,
    stream_usage: bool,
    stop: list[str] | None = None,
) -> dict[str, Any]:
    """The body of one completion: the model's ``params``, then the ``call``'s, then model and messages.

    ``stop`` is added when given; a stream asks for usage (``stream_options``) when ``stream_usage`` is
    set and the caller did not choose its own.
    """
    request: dict[str, Any] = {**params, **call, "model": model, "messages": messages}
    if stop:
        request["stop"] = stop
    if stream and stream_usage and "stream_options" not in request:
        request["stream_options"] = {"include_usage": True}
    return request


def wire_tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """``choice`` in wire form: None, a dict or one of ``WIRE_TOOL_CHOICES`` as is; another string names a tool."""
    if choice is None or isinstance(choice, dict) or choice in WIRE_TOOL_CHOICES:
        return choice
    return {"type": "function", "function": {"name": choice}}
