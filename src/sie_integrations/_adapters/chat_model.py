"""What both chat models hold beyond their framework: connection, request fields, and what they learn of the model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import PrivateAttr

from .capabilities import CapabilityCache
from .chat_request import ChatRequestFields
from .connection import SIEConnection, carry_unknown
from .structured import StructuredMemory


class ChatConnection(SIEConnection, ChatRequestFields):
    """A chat model's connection and request fields, its capabilities asked once, its structured output memory.

    Unknown constructor arguments are kept: they go into the dict field named by ``_unknown_into``
    and are sent with every request.
    """

    _unknown_into: ClassVar[str]
    stream_usage: bool = True
    """Ask a stream for token usage (``stream_options.include_usage``) unless the call sets its own."""

    _caps: CapabilityCache = PrivateAttr(default_factory=CapabilityCache)
    _structured: StructuredMemory = PrivateAttr(default_factory=StructuredMemory)

    @classmethod
    def _unknown_arguments(cls, data: dict[str, Any], unknown: list[str]) -> dict[str, Any]:
        """Moved into ``_unknown_into`` and sent with every request, with a warning naming them."""
        return carry_unknown(cls, data, unknown, cls._unknown_into)
