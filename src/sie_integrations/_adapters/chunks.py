"""What one chat stream's chunks add up to, before any framework: metadata and the first choice's deltas."""

from __future__ import annotations

from dataclasses import dataclass

from ..chat import ChatCompletionChunk, ChatUsage
from .tool_calls import ToolCallFragment, ToolCallMerger


@dataclass(frozen=True)
class ChunkDelta:
    """What one chunk adds to the first choice."""

    content: str
    reasoning: str
    fragments: list[ToolCallFragment]


class ChunkReader:
    """Tracks a stream's id, model, finish reason and usage; tool-call deltas merged by ``ToolCallMerger``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None
        self.finish_reason: str | None = None
        self.usage: ChatUsage | None = None
        self._tools = ToolCallMerger()

    def feed(self, chunk: ChatCompletionChunk) -> ChunkDelta | None:
        """The first choice's delta, or None when the chunk adds no text, reasoning or tool call."""
        self.id = self.id or chunk.id or None
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        choice = next((c for c in chunk.choices if c.index == 0), None)
        if choice is None:
            return None
        self.finish_reason = choice.finish_reason or self.finish_reason
        delta = choice.delta
        fragments = self._tools.feed(delta.tool_calls) if delta.tool_calls else []
        if not delta.content and not delta.reasoning_content and not fragments:
            return None
        return ChunkDelta(delta.content or "", delta.reasoning_content or "", fragments)
