"""A LlamaIndex instrumentation handler that keeps every event it is sent, for tests that check them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
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


@contextmanager
def recorded() -> Iterator[list[BaseEvent]]:
    """Every event dispatched inside the block, in order."""
    recorder = Dispatched()
    root = get_dispatcher()
    root.add_event_handler(recorder)
    try:
        yield recorder.events
    finally:
        root.event_handlers.remove(recorder)
