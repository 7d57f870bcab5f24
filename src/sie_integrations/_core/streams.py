"""SIE's stream rules: events into chunks, error events, and how a stream must end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ..chat import ChatCompletionChunk
from ..errors import RequestError, SIEConnectionError, SIEStreamError
from ..types import GenerateChunk
from .call import Call
from .codec import WireFormatError, loads_json
from .error_mapping import stream_error
from .generate import parse_generate_chunk
from .sse import SSEDecoder

C = TypeVar("C")
DONE = "[DONE]"


def _event_json(data: str) -> Mapping[str, Any]:
    try:
        payload = loads_json(data)
    except WireFormatError as exc:
        raise SIEStreamError(f"the stream sent an event that is not JSON: {exc}", code="malformed_stream") from exc
    if not isinstance(payload, Mapping):
        raise SIEStreamError("the stream sent an event that is not a JSON object", code="malformed_stream")
    return payload


class StreamState(Generic[C]):
    """Turns the events of a stream into chunks and checks that it ended with its final chunk and [DONE]."""

    what = "stream"
    final = "its final chunk"

    def __init__(self) -> None:
        self.done = False
        self.finished = False

    def _chunk(self, payload: Mapping[str, Any]) -> tuple[C, bool]:
        """The chunk of one event, and whether it is the final one."""
        raise NotImplementedError

    def on_event(self, data: str) -> C | None:
        if data == DONE:
            self.done = True
            return None
        if self.done:
            raise SIEStreamError("the stream sent events after [DONE]", code="malformed_stream")
        payload = _event_json(data)
        if payload.get("error") is not None:
            raise stream_error(payload)
        chunk, final = self._chunk(payload)
        self.finished = self.finished or final
        return chunk

    def on_end(self) -> None:
        if not self.done or not self.finished:
            missing = "[DONE]" if self.finished else self.final
            raise SIEConnectionError(f"the {self.what} ended without {missing}; the answer is incomplete")


class ChatStream(StreamState[ChatCompletionChunk]):
    what, final = "chat stream", "its final chunk (finish_reason)"

    def _chunk(self, payload: Mapping[str, Any]) -> tuple[ChatCompletionChunk, bool]:
        try:
            chunk = ChatCompletionChunk.model_validate(payload)
        except ValidationError as exc:
            raise SIEStreamError(f"the stream sent a malformed chunk: {exc}", code="malformed_stream") from exc
        return chunk, any(choice.finish_reason for choice in chunk.choices)


class GenerateStream(StreamState[GenerateChunk]):
    what, final = "generate stream", "its final chunk (done: true)"

    def _chunk(self, payload: Mapping[str, Any]) -> tuple[GenerateChunk, bool]:
        try:
            chunk = parse_generate_chunk(payload)
        except RequestError as exc:
            raise SIEStreamError(exc.message, code="malformed_stream") from exc
        return chunk, chunk.done


@dataclass(frozen=True)
class Streamed(Generic[C]):
    """A streaming call and the rules its events follow."""

    call: Call[Any]
    state: StreamState[C]


class EventReader(Generic[C]):
    """Bytes of a stream in, chunks out: SSE framing plus a stream's rules."""

    def __init__(self, state: StreamState[C]) -> None:
        self._state = state
        self._decoder = SSEDecoder()

    @property
    def done(self) -> bool:
        """Whether ``[DONE]`` has arrived: nothing more is read."""
        return self._state.done

    def feed(self, raw: bytes) -> Iterator[C]:
        """The chunks these bytes complete."""
        for data in self._decoder.feed(raw):
            chunk = self._state.on_event(data)
            if chunk is not None:
                yield chunk

    def finish(self) -> Iterator[C]:
        """The chunks left once the body has ended; raises when the stream did not end as it must."""
        if not self._state.done:
            for data in self._decoder.flush():
                chunk = self._state.on_event(data)
                if chunk is not None:
                    yield chunk
        self._state.on_end()
