"""A LlamaIndex instrumentation handler that keeps every event it is sent, for tests that check them."""

from __future__ import annotations

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import Field


class Dispatched(BaseEventHandler):
    """Every event, in order."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Dispatched"

    def handle(self, event: BaseEvent, **kwargs: object) -> None:
        self.events.append(event)
