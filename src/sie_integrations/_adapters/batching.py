"""Large calls of the adapters: planned into batches (``_core/batches.py``), sent with a limit in flight, results
in input order; and the concurrency and batch size fields every batched adapter shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from .._core.batches import Batch, plan, restore
from .._core.concurrency import Limit
from .._core.extract import located
from .._core.items import check_items
from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from .._http.dispatch import arun_batches, run_batches
from ..errors import RequestError, SIEError
from ..types import EncodeResult, ItemLike

Progress = Callable[[int], None]
Matrix = np.ndarray[Any, Any]
Items = Sequence[ItemLike]
R = TypeVar("R")
BatchSize = Annotated[int, Field(ge=1)]
"""The type of every adapter's items per request (its default is the adapter's own)."""


class Concurrent(BaseModel):
    """The number of requests a batched adapter keeps in flight: adapted to the server, or pinned; and how its
    large calls are sent (``_batching``: items per request from its field ``_size_field``)."""

    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once. None (the default) adapts it to the server: it grows while the server answers
    without queueing and backs off when requests queue or are refused, between 1 and 128; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)
    _size_field: ClassVar[str] = "batch_size"

    def _limit(self) -> Limit:
        """``max_concurrency`` pinned when it is set, else this adapter's adaptive limit."""
        return self._adaptive if self.max_concurrency is None else Limit(pinned=self.max_concurrency)

    def _batching(self, progress: Progress | None = None) -> Batching:
        return Batching(getattr(self, self._size_field), self._limit(), progress)


class Batched(Concurrent):
    """``Concurrent``, with the number of items a request carries."""

    batch_size: BatchSize = 256
    """Items per request (default 256); fewer when their text passes 400,000 characters or their images 8 MiB."""


@dataclass(frozen=True)
class Batching:
    """How a large call is sent: ``size`` items per request, ``limit`` requests at a time."""

    size: int
    limit: Limit = field(default_factory=lambda: Limit(pinned=1))
    progress: Progress | None = None

    def done(self, batch: Batch[Any]) -> None:
        """Report a finished batch."""
        if self.progress is not None:
            self.progress(len(batch.items))


def batches(items: Items, size: int) -> list[Batch[ItemLike]]:
    """Every item checked first (nothing is sent if one is bad), then planned."""
    return [] if check_items(items) else plan(items, size)


def _failed_in(batch: Batch[Any], error: SIEError) -> SIEError:
    """A per-item failure of ``batch``'s request, named by its position in the input."""
    if error.item_index is not None and 0 <= error.item_index < len(batch.positions):
        located(error, batch.positions[error.item_index])
    return error


def map_batched(fn: Callable[[Items], list[R]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches on up to ``batching.limit`` threads; its results in input order."""

    def run(batch: Batch[ItemLike]) -> list[R]:
        try:
            result = fn(batch.items)
        except SIEError as error:
            raise _failed_in(batch, error) from None
        batching.done(batch)
        return result

    planned = batches(items, batching.size)
    return restore(planned, run_batches(run, planned, batching.limit))


async def amap_batched(fn: Callable[[Items], Awaitable[list[R]]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches with up to ``batching.limit`` in flight; its results in input order."""

    async def run(batch: Batch[ItemLike]) -> list[R]:
        try:
            result = await fn(batch.items)
        except SIEError as error:
            raise _failed_in(batch, error) from None
        batching.done(batch)
        return result

    planned = batches(items, batching.size)
    return restore(planned, await arun_batches(run, planned, batching.limit))


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

    def put(self, positions: list[int], batch: Matrix) -> None:
        if self._out is None:
            self._out = np.empty((self._count, batch.shape[1]), dtype=batch.dtype)
        elif batch.shape[1] != self._out.shape[1] or batch.dtype != self._out.dtype:
            raise RequestError(
                f"malformed encode response: batches differ ({self._out.dtype}[{self._out.shape[1]}] "
                f"and {batch.dtype}[{batch.shape[1]}])",
                code="MALFORMED_RESPONSE",
            )
        self._out[positions] = batch

    def result(self) -> Matrix:
        return self._out if self._out is not None else np.empty((0, 0), dtype=np.float32)


def embed_matrix(client: SIEClient, model: str, items: Items, batching: Batching, **args: Any) -> Matrix:
    """Dense vectors as one ``(len(items), dims)`` matrix, batched like ``embed_rows``."""
    planned = batches(items, batching.size)
    out = _Matrix(len(items))

    def run(batch: Batch[ItemLike]) -> Matrix:
        matrix = client.encode_dense(model, batch.items, **args)
        batching.done(batch)
        return matrix

    for batch, matrix in zip(planned, run_batches(run, planned, batching.limit), strict=True):
        out.put(batch.positions, matrix)
    return out.result()


async def aembed_matrix(client: AsyncSIEClient, model: str, items: Items, batching: Batching, **args: Any) -> Matrix:
    """Async ``embed_matrix``."""
    out = _Matrix(len(items))

    async def run(batch: Batch[ItemLike]) -> None:
        matrix = await client.encode_dense(model, batch.items, **args)
        out.put(batch.positions, matrix)
        batching.done(batch)

    await arun_batches(run, batches(items, batching.size), batching.limit)
    return out.result()
