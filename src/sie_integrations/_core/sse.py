"""Incremental server-sent-events decoding and the end-of-stream rules of SIE's streams."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ..chat import ChatCompletionChunk
from ..errors import RequestError, SIEConnectionError, SIEStreamError
from ..types import GenerateChunk
from .codec import WireFormatError, loads_json
from .error_mapping import stream_error
from .generate import parse_generate_chunk

C = TypeVar("C")
DONE = "[DONE]"
MAX_EVENT_BYTES = 16 * 1024 * 1024


class SSEDecoder:
    """Feeds raw bytes, yields the ``data`` payload of each complete event (as text).

    Lines end with ``\\n``, ``\\r\\n`` or ``\\r``; comment lines (``:``) and fields other than
    ``data`` are skipped; several ``data`` lines of one event are joined with ``\\n``. An event or a line
    longer than ``max_event_bytes`` (default ``MAX_EVENT_BYTES``) raises ``SIEStreamError``, so buffering is bounded.
    """

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._buffer = bytearray()
        self._data: list[str] = []
        self._data_size = 0
        self._max = MAX_EVENT_BYTES if max_event_bytes is None else max_event_bytes
        self._pending_cr = False

    def feed(self, chunk: bytes) -> Iterator[str]:
        buffer = self._buffer
        if self._pending_cr and chunk:  # an empty read must not forget a \r that may precede a \n
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
            self._pending_cr = False
        buffer += chunk
        start = 0
        while True:
            newline = _find_line_end(buffer, start)
            if newline < 0:
                break
            line = bytes(buffer[start:newline])
            if buffer[newline] == 0x0D:  # \r, maybe followed by \n
                if newline + 1 < len(buffer):
                    start = newline + 2 if buffer[newline + 1] == 0x0A else newline + 1
                else:
                    self._pending_cr = True
                    start = newline + 1
            else:
                start = newline + 1
            event = self._line(line)
            if event is not None:
                yield event
        del buffer[:start]
        if len(buffer) + self._data_size > self._max:
            raise SIEStreamError(f"an SSE event exceeds {self._max} bytes", code="event_too_large")

    def _line(self, raw: bytes) -> str | None:
        if not raw:
            if not self._data:
                return None
            event = "\n".join(self._data)
            self._data, self._data_size = [], 0
            return event
        if raw[:1] == b":":
            return None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SIEStreamError(f"the stream sent bytes that are not UTF-8: {exc}", code="malformed_stream") from exc
        name, _, value = line.partition(":")
        if name != "data":
            return None
        if value.startswith(" "):
            value = value[1:]
        self._data.append(value)
        self._data_size += len(raw)
        if self._data_size > self._max:
            raise SIEStreamError(f"an SSE event exceeds {self._max} bytes", code="event_too_large")
        return None

    def flush(self) -> Iterator[str]:
        """Events left when the body ends (a last event without its blank line)."""
        if self._buffer:
            tail = bytes(self._buffer)
            self._buffer.clear()
            event = self._line(tail)
            if event is not None:
                yield event
        if self._data:
            yield "\n".join(self._data)
            self._data, self._data_size = [], 0


def _find_line_end(buffer: bytearray, start: int) -> int:
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    return cr if cr >= 0 else lf


def _event_json(data: str) -> Mapping[str, Any]:
    try:
        payload = loads_json(data)
    except WireFormatError as exc:
        raise SIEStreamError(f"the stream sent an event that is not JSON: {exc}", code="malformed_stream") from exc
    if not isinstance(payload, Mapping):
        raise SIEStreamError("the stream sent an event that is not a JSON object", code="malformed_stream")
    return payload


class _StreamState(Generic[C]):
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


class ChatStream(_StreamState[ChatCompletionChunk]):
    what, final = "chat stream", "its final chunk (finish_reason)"

    def _chunk(self, payload: Mapping[str, Any]) -> tuple[ChatCompletionChunk, bool]:
        try:
            chunk = ChatCompletionChunk.model_validate(payload)
        except ValidationError as exc:
            raise SIEStreamError(f"the stream sent a malformed chunk: {exc}", code="malformed_stream") from exc
        return chunk, any(choice.finish_reason for choice in chunk.choices)


class GenerateStream(_StreamState[GenerateChunk]):
    what, final = "generate stream", "its final chunk (done: true)"

    def _chunk(self, payload: Mapping[str, Any]) -> tuple[GenerateChunk, bool]:
        try:
            chunk = parse_generate_chunk(payload)
        except RequestError as exc:
            raise SIEStreamError(exc.message, code="malformed_stream") from exc
        return chunk, chunk.done
