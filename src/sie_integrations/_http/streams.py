"""What a streaming call returns: ``Stream`` and ``AsyncStream``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Stream(Generic[T]):
    """A streamed answer: iterate it for chunks; ``close()`` (or leaving ``with``) ends it early.

    The client's streaming methods return one; iterating it raises the stream's errors as they arrive.
    """

    def __init__(self, chunks: Iterator[T]) -> None:
        """Wrap the chunks the client reads.

        Args:
            chunks: The chunks, as the client decodes them from the response.
        """
        self._chunks = chunks

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._chunks)

    def close(self) -> None:
        """Stop reading and close the response; safe to call twice."""
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
    """An async streamed answer: ``async for`` it; ``aclose()`` (or leaving ``async with``) ends it.

    The async client's streaming methods return one; iterating it raises the stream's errors as they arrive.
    """

    def __init__(self, chunks: AsyncIterator[T]) -> None:
        """Wrap the chunks the client reads.

        Args:
            chunks: The chunks, as the client decodes them from the response.
        """
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop reading and close the response; safe to call twice."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
