"""Token counts of a chat completion, read the same way by both chat models, and the estimate when none is asked."""

from __future__ import annotations

import math
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


CHARS_PER_TOKEN = 4.0
"""The estimate's rule, LangChain's ``count_tokens_approximately``'s too: about 4 characters a token."""
MESSAGE_OVERHEAD = 3
"""Tokens a chat template adds around each message, estimated (``count_tokens_approximately`` adds 3 too)."""
_COUNTED_TEXTS = 4096


def estimated_tokens(text: str) -> int:
    """About how many tokens a text takes; nothing is sent."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class Counted:
    """Token counts a server gave for texts, kept for the next count (up to 4,096 texts, then started afresh)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def get(self, text: str) -> int | None:
        return self._counts.get(text)

    def put(self, text: str, count: int) -> int:
        if len(self._counts) >= _COUNTED_TEXTS:
            self._counts.clear()
        self._counts[text] = count
        return count
