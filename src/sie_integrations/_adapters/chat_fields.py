"""The chat completion fields both chat models carry as their own fields; each is sent only when set."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REQUEST_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "repetition_penalty",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "safety_identifier",
    "include_reasoning",
    "parallel_tool_calls",
)


def set_fields(source: object, names: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``source`` that are not None."""
    return {name: value for name in names if (value := getattr(source, name)) is not None}
