"""Token counts of a chat completion, read the same way by both chat models."""

from __future__ import annotations

from typing import Any

from ..chat import ChatUsage


def total_tokens(usage: ChatUsage) -> int:
    """The total the server sent; prompt plus completion tokens when it sent none."""
    return usage.total_tokens or usage.prompt_tokens + usage.completion_tokens


def cached_tokens(usage: ChatUsage) -> int | None:
    """Prompt tokens read from the server's cache, when it counted them."""
    return _count(usage.prompt_tokens_details, "cached_tokens")


def reasoning_tokens(usage: ChatUsage) -> int | None:
    """Completion tokens spent on reasoning, when the server counted them."""
    return _count(usage.completion_tokens_details, "reasoning_tokens")


def _count(details: dict[str, Any] | None, key: str) -> int | None:
    value = (details or {}).get(key)
    return value if isinstance(value, int) else None
