"""Incremental server-sent-events framing: bytes in, the ``data`` of each event out."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import SIEStreamError

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
