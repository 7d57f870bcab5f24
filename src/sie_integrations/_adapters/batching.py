"""Splitting large encode calls into batches sent with bounded concurrency, results in input order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from .._core.items import check_items
from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from ..errors import RequestError
from ..types import EncodeResult, ItemLike

Progress = Callable[[int], None]
Matrix = np.ndarray[Any, Any]
Items = Sequence[ItemLike]
R = TypeVar("R")
T = TypeVar("T")


def split(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in runs of at most ``size``, in order."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class Batching:
    """How a large encode call is sent: ``size`` items per request, ``concurrency`` requests at a time."""

    size: int
    concurrency: int = 1
    progress: Progress | None = None

    def done(self, part: Sequence[Any]) -> None:
        """Report a finished part."""
        if self.progress is not None:
            self.progress(len(part))


def batches(items: Items, batch_size: int) -> list[Items]:
    """Every item checked first (nothing is sent if one is bad), then split."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if check_items(items):
        return []
    return split(items, batch_size)


def _in_order(run: Callable[[Items], R], parts: list[Items], max_concurrency: int) -> Iterator[R]:
    if len(parts) <= 1 or max_concurrency <= 1:
        yield from map(run, parts)
        return
    with ThreadPoolExecutor(max_workers=min(max_concurrency, len(parts))) as pool:
        yield from pool.map(run, parts)  # a failure cancels the batches not yet started


async def _all_or_cancel(coros: Iterable[Awaitable[R]]) -> list[R]:
    """``asyncio.gather``, except that the first failure cancels the batches still running or waiting."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def map_batched(fn: Callable[[Items], list[R]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches on up to ``batching.concurrency`` threads; its results joined in input order."""

    def run(part: Items) -> list[R]:
        result = fn(part)
        batching.done(part)
        return result

    parts = batches(items, batching.size)
    return [r for chunk in _in_order(run, parts, batching.concurrency) for r in chunk]


async def amap_batched(fn: Callable[[Items], Awaitable[list[R]]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches with at most ``batching.concurrency`` in flight; its results joined in input order."""
    gate = asyncio.Semaphore(max(1, batching.concurrency))

    async def run(part: Items) -> list[R]:
        async with gate:
            result = await fn(part)
        batching.done(part)
        return result

    chunks = await _all_or_cancel(run(part) for part in batches(items, batching.size))
    return [r for chunk in chunks for r in chunk]


def encode_batched(client: SIEClient, model: str, items: Items, batching: Batching, **args: Any) -> list[EncodeResult]:
    """Encode in batches; results in input order."""
    return map_batched(lambda part: client.encode(model, part, **args), items, batching)


async def aencode_batched(
    client: AsyncSIEClient, model: str, items: Items, batching: Batching, **args: Any
) -> list[EncodeResult]:
    """Async ``encode_batched``."""

    async def run(part: Items) -> list[EncodeResult]:
        return await client.encode(model, part, **args)

    return await amap_batched(run, items, batching)


def embed_rows(client: SIEClient, model: str, items: Items, batching: Batching, **args: Any) -> list[list[float]]:
    """Dense vectors as lists of floats, each batch converted as soon as it arrives."""

    def run(part: Items) -> list[list[float]]:
        rows: list[list[float]] = client.encode_dense(model, part, **args).tolist()
        return rows

    return map_batched(run, items, batching)


async def aembed_rows(
    client: AsyncSIEClient, model: str, items: Items, batching: Batching, **args: Any
) -> list[list[float]]:
    """Async ``embed_rows``."""

    async def run(part: Items) -> list[list[float]]:
        rows: list[list[float]] = (await client.encode_dense(model, part, **args)).tolist()
        return rows

    return await amap_batched(run, items, batching)


class _Matrix:
    """The ``(count, dims)`` result, filled batch by batch; no batch is kept after it is copied in."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._out: Matrix | None = None

    def put(self, start: int, batch: Matrix) -> None:
        if self._out is None:
            self._out = np.empty((self._count, batch.shape[1]), dtype=batch.dtype)
        elif batch.shape[1] != self._out.shape[1] or batch.dtype != self._out.dtype:
            raise RequestError(
                f"malformed encode response: batches differ ({self._out.dtype}[{self._out.shape[1]}] "
                f"and {batch.dtype}[{batch.shape[1]}])",
                code="MALFORMED_RESPONSE",
            )
        self._out[start : start + len(batch)] = batch

    def result(self) -> Matrix:
        return self._out if self._out is not None else np.empty((0, 0), dtype=np.float32)


def embed_matrix(client: SIEClient, model: str, items: Items, batching: Batching, **args: Any) -> Matrix:
    """Dense vectors as one ``(len(items), dims)`` matrix, batched like ``embed_rows``."""
    parts = batches(items, batching.size)
    out = _Matrix(len(items))

    def run(part: Items) -> Matrix:
        matrix = client.encode_dense(model, part, **args)
        batching.done(part)
        return matrix

    start = 0
    for matrix in _in_order(run, parts, batching.concurrency):
        out.put(start, matrix)
        start += len(matrix)
    return out.result()


async def aembed_matrix(client: AsyncSIEClient, model: str, items: Items, batching: Batching, **args: Any) -> Matrix:
    """Async ``embed_matrix``."""
    parts = batches(items, batching.size)
    out = _Matrix(len(items))
    gate = asyncio.Semaphore(max(1, batching.concurrency))

    async def run(start: int, part: Items) -> None:
        async with gate:
            matrix = await client.encode_dense(model, part, **args)
        out.put(start, matrix)
        batching.done(part)

    await _all_or_cancel(run(i * batching.size, part) for i, part in enumerate(parts))
    return out.result()
