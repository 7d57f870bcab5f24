"""The chat completion request of both chat models, built from their settings, a call's fields and the messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.chat_completions import chat_request as checked_request
from ..chat import ChatCompletionRequest, ChatSettings

WIRE_TOOL_CHOICES = ("auto", "none", "required")
SETTINGS: tuple[str, ...] = tuple(ChatSettings.model_fields)
"""The names of the request fields a chat model holds."""


def settings_of(model: ChatSettings, *, json: bool = False) -> dict[str, Any]:
    """The request fields a chat model sets (those not None): the validated values it holds, or as JSON."""
    values = {name: value for name in SETTINGS if (value := getattr(model, name)) is not None}
    return model.model_dump(include=set(values), mode="json") if json else values


def chat_request(
    settings: Mapping[str, Any],
    call: Mapping[str, Any],
    *,
    model: str,
    messages: list[dict[str, Any]],
    stream: bool,
    stream_usage: bool,
    stop: str | list[str] | None = None,
) -> ChatCompletionRequest:
    """One completion's request: the model's ``settings``, then the ``call``'s fields, then model and messages.

    ``stop`` is added when given; ``stream_options`` goes with a stream only, which asks for usage when
    ``stream_usage`` is set and the fields choose no options. Invalid or unknown fields raise ``ValueError``
    before anything is sent.
    """
    fields: dict[str, Any] = {**settings, **call, "model": model, "messages": messages}
    if stop:
        fields["stop"] = stop
    if not stream:
        fields.pop("stream_options", None)  # a model's stream options are for its streams only
    elif stream_usage and fields.get("stream_options") is None:
        fields["stream_options"] = {"include_usage": True}
    return checked_request(fields)


def output_budget(fields: Mapping[str, Any]) -> int | None:
    """The most tokens a request lets the model generate: ``max_completion_tokens``, else ``max_tokens``."""
    budget = fields.get("max_completion_tokens") or fields.get("max_tokens")
    return int(budget) if budget is not None else None


def wire_tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """``choice`` in wire form: None, a dict or one of ``WIRE_TOOL_CHOICES`` as is; another string names a tool."""
    if choice is None or isinstance(choice, dict) or choice in WIRE_TOOL_CHOICES:
        return choice
    return {"type": "function", "function": {"name": choice}}
