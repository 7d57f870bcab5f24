"""What a chat model can do, as ``GET /v1/models/{id}`` says: tools, constrained decoding, context size."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from ..errors import SIEError
from ..types import ModelInfo

logger = logging.getLogger("sie_integrations")

LOOKUP_TIMEOUT = 5.0


@dataclass(frozen=True)
class ChatCapabilities:
    """A chat model's capabilities; ``known`` is False when the server did not say (then everything is tried)."""

    known: bool
    tools: bool = True
    grammar: frozenset[str] = frozenset()
    streaming: bool = True
    max_input_tokens: int | None = None

    @property
    def constrained_json(self) -> bool:
        """Whether ``response_format`` json_schema is enforced by constrained decoding (or may be)."""
        return "json_schema" in self.grammar or not self.known

    @property
    def forced_tools(self) -> bool:
        """Whether a forced ``tool_choice`` ("required" or a named tool) can be honoured (or may be)."""
        return bool(self.grammar) or not self.known


UNKNOWN = ChatCapabilities(known=False)


def chat_capabilities(info: ModelInfo) -> ChatCapabilities:
    """Capabilities from a model description; unknown when it has none."""
    caps = info.capabilities
    if caps is None:
        return ChatCapabilities(known=False, max_input_tokens=info.max_sequence_length)
    grammar = caps.get("grammar")
    return ChatCapabilities(
        known=True,
        tools=bool(caps.get("tools", False)),
        grammar=frozenset(str(g) for g in grammar) if isinstance(grammar, list) else frozenset(),
        streaming=bool(caps.get("streaming", True)),
        max_input_tokens=info.max_sequence_length,
    )


class CapabilityCache:
    """One model's capabilities, asked once per instance (a failed lookup is remembered as unknown)."""

    def __init__(self) -> None:
        self.value: ChatCapabilities | None = None

    def __reduce__(self) -> tuple[type[CapabilityCache], tuple[()]]:
        return (CapabilityCache, ())

    def _failed(self, model: str, exc: SIEError) -> ChatCapabilities:
        logger.warning("capabilities of %s unknown (%s); every structured output method will be tried", model, exc)
        return UNKNOWN

    def get(self, client: SIEClient, model: str) -> ChatCapabilities:
        if self.value is None:
            try:
                self.value = chat_capabilities(client.get_model(model, timeout=LOOKUP_TIMEOUT))
            except SIEError as exc:
                self.value = self._failed(model, exc)
        return self.value

    async def aget(self, client: AsyncSIEClient, model: str) -> ChatCapabilities:
        if self.value is None:
            try:
                self.value = chat_capabilities(await client.get_model(model, timeout=LOOKUP_TIMEOUT))
            except SIEError as exc:
                self.value = self._failed(model, exc)
        return self.value
