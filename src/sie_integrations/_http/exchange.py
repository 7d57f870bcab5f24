"""What the sync and async clients share around each HTTP exchange: outcomes and stream wrappers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

from .._core.call import Call
from .._core.error_mapping import error_info
from .._core.retry import Attempts, connection_error
from ..errors import SIEConnectionError, SIETimeoutError

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """Wait this many seconds, then send the call again."""

    delay: float


def settle(call: Call[T], attempts: Attempts, status: int, headers: Mapping[str, str], content: bytes) -> T | Retry:
    """The parsed result of a response, a ``Retry``, or a raised typed error."""
    if stream_opened(status):
        return call.parse(content, headers.get("content-type"))
    info = error_info(status, headers, content)
    delay = attempts.retry_delay(info)
    if delay is not None:
        return Retry(delay)
    if call.on_error is not None:
        return call.on_error(info)
    raise attempts.final_error(info)


def stream_retry_delay(attempts: Attempts, status: int, headers: Mapping[str, str], content: bytes) -> float:
    """Seconds to wait before re-opening a stream refused with an error status; raises otherwise."""
    info = error_info(status, headers, content)
    delay = attempts.retry_delay(info)
    if delay is None:
        raise attempts.final_error(info)
    return delay


def stream_opened(status: int) -> bool:
    return 200 <= status < 300 and status != 202


def stream_broken(exc: httpx.TransportError, url: str, chunk_timeout: float | None) -> SIEConnectionError:
    """The error of a stream whose connection broke or went quiet once sent; a stream is never re-sent."""
    if isinstance(exc, httpx.ReadTimeout) and chunk_timeout is not None:
        return SIETimeoutError(
            f"the stream from {url} sent nothing for {chunk_timeout:g}s (stream_chunk_timeout); "
            "closed it, not retried, since the request may have reached the server"
        )
    return connection_error(exc, url, not_retried=True)


class Stream(Generic[T]):
    """A streamed answer: iterate it for chunks; ``close()`` (or leaving ``with``) ends it early."""

    def __init__(self, chunks: Iterator[T]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """An async streamed answer: ``async for`` it; ``aclose()`` (or leaving ``async with``) ends it."""

    def __init__(self, chunks: AsyncIterator[T]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
