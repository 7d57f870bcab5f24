"""What both chat models hold beyond their framework: connection, request settings, and what they learn of the model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import PrivateAttr, ValidationError, model_validator
from typing_extensions import Self

from ..chat import ChatSettings
from .capabilities import CapabilityCache, ChatCapabilities
from .chat_request import SETTINGS, settings_of
from .connection import SIEConnection, unknown_arguments_message
from .structured import StructuredMemory


class ChatConnection(SIEConnection, ChatSettings):
    """A chat model's connection and request settings, its capabilities asked once, its structured output memory.

    The settings are the fields of ``ChatSettings``, checked when the model is built. The dict field named by
    ``_more_fields`` holds more of them as a dict (as ``ChatOpenAI`` takes ``model_kwargs``), checked too.
    """

    _more_fields: ClassVar[str]
    _model_field: ClassVar[str] = "model"
    stream_usage: bool = True
    """Ask a stream for token usage (``stream_options.include_usage``) unless the call sets its own."""
    send_reasoning: bool = True
    """Send an assistant message's reasoning back as ``reasoning_content``: Qwen3-style chat templates render it
    inside a tool loop, and DeepSeek-style servers refuse a tool loop without it. False: never sent."""

    _caps: CapabilityCache = PrivateAttr(default_factory=CapabilityCache)
    _structured: StructuredMemory = PrivateAttr(default_factory=StructuredMemory)

    @model_validator(mode="after")
    def _check_more_fields(self) -> Self:
        """The dict of more request fields: unknown names refused with the closest field, values checked, and none
        also given as an argument."""
        more: dict[str, Any] = getattr(self, self._more_fields)
        owner = f"{type(self).__name__}.{self._more_fields}"
        unknown = sorted(set(more) - set(SETTINGS))
        if unknown:
            raise ValueError(unknown_arguments_message(owner, unknown, set(SETTINGS)))
        twice = sorted(set(more) & self.model_fields_set)
        if twice:
            raise ValueError(f"{owner} sets {', '.join(map(repr, twice))}, also given as an argument: give it once")
        try:
            ChatSettings.model_validate(more)
        except ValidationError as exc:
            raise ValueError(f"{owner}: {exc}") from None
        return self

    def capabilities(self) -> ChatCapabilities:
        """What the server says the model can do (``GET /v1/models/{id}``), asked once per instance."""
        return self._caps.get(self.client, getattr(self, self._model_field))

    async def acapabilities(self) -> ChatCapabilities:
        """``capabilities()`` without blocking the event loop."""
        return await self._caps.aget(self.async_client, getattr(self, self._model_field))

    def _settings(self) -> dict[str, Any]:
        """The request fields sent with every request: the model's own, then those of ``_more_fields``."""
        return {**settings_of(self), **getattr(self, self._more_fields)}
