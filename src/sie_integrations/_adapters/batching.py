"""Splitting large encode calls into batches of similar length, sent with a limit in flight, results in input order.

The server pads every text of a request to the longest one, so batches of similar length spare it
that padding; the results are put back in input order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from .._core.concurrency import Limit, batch_cost
from .._core.items import check_items
from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from .._http.dispatch import arun_batches, run_batches
from ..errors import RequestError
from ..types import EncodeResult, ItemLike

Progress = Callable[[int], None]
Matrix = np.ndarray[Any, Any]
Items = Sequence[ItemLike]
R = TypeVar("R")
T = TypeVar("T")
L = TypeVar("L", bound=ItemLike)


def in_flight(max_concurrency: int | None, adaptive: Limit) -> Limit:
    """``max_concurrency`` pinned when it is set, else the adapter's ``adaptive`` limit."""
    return adaptive if max_concurrency is None else Limit(pinned=max_concurrency)


def split(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in runs of at most ``size``, in order."""
    return [items[i : i + size] for i in range(0, len(items), size)]


MAX_BATCH_CHARS = 400_000
"""The most characters of text one request carries (about 100,000 tokens), whatever the batch size."""

MAX_BATCH_IMAGE_BYTES = 8 * 1024 * 1024
"""The most image bytes one request carries, well inside the server's body limits (16 MiB at a gateway)."""

IMAGE_CHARS = 1_000
"""What one image counts as, in characters of text, when batches are sorted and their cost estimated."""


@dataclass(frozen=True)
class Batching:
    """How a large encode call is sent: ``size`` items per request, ``limit`` requests at a time."""

    size: int
    limit: Limit = field(default_factory=lambda: Limit(pinned=1))
    progress: Progress | None = None
    max_chars: int = MAX_BATCH_CHARS

    def done(self, part: Part[Any]) -> None:
        """Report a finished part."""
        if self.progress is not None:
            self.progress(len(part.items))


@dataclass(frozen=True)
class Part(Generic[T]):
    """One request's items, and where each of them is in the input."""

    positions: list[int]
    items: list[T]


def text_length(item: ItemLike) -> int:
    """The characters of text in one item, each image counting as ``IMAGE_CHARS``."""
    return len(item) if isinstance(item, str) else len(item.text or "") + IMAGE_CHARS * len(item.images)


def image_bytes(item: ItemLike) -> int:
    """The bytes of the images of one item."""
    return 0 if isinstance(item, str) else sum(len(image.data) for image in item.images)


def cost(part: Part[ItemLike]) -> float:
    """``batch_cost`` of a part's texts."""
    return batch_cost(map(text_length, part.items))


def length_order(items: Sequence[ItemLike]) -> list[int]:
    """The positions of ``items``, shortest text first (equal lengths keep their order)."""
    lengths = [text_length(item) for item in items]
    return sorted(range(len(items)), key=lengths.__getitem__)


def by_length(items: Sequence[L]) -> tuple[list[int], list[L]]:
    """``length_order(items)``, and the items in that order; every item checked first."""
    check_items(items)
    order = length_order(items)
    return order, [items[i] for i in order]


def restore(order: Sequence[int], results: Sequence[R]) -> list[R]:
    """The results of items taken in ``order``, put back in input order."""
    out: list[Any] = [None] * len(order)
    for position, result in zip(order, results, strict=True):
        out[position] = result
    return out


def plan(items: Sequence[ItemLike], size: int, max_chars: int = MAX_BATCH_CHARS) -> list[Part[ItemLike]]:
    """The items in batches of similar length, shortest first.

    Each batch has at most ``size`` items, ``max_chars`` characters and ``MAX_BATCH_IMAGE_BYTES`` of images;
    an item larger than that goes alone.
    """
    batches: list[list[int]] = []
    chars = data = 0
    for position in length_order(items):
        length, size_of = text_length(items[position]), image_bytes(items[position])
        full = chars + length > max_chars or data + size_of > MAX_BATCH_IMAGE_BYTES
        if not batches or len(batches[-1]) == size or full:
            batches.append([])
            chars = data = 0
        batches[-1].append(position)
        chars += length
        data += size_of
    return [Part(batch, [items[i] for i in batch]) for batch in batches]


def batches(items: Items, batching: Batching) -> list[Part[ItemLike]]:
    """Every item checked first (nothing is sent if one is bad), then planned."""
    if batching.size < 1:
        raise ValueError("batch_size must be >= 1")
    if check_items(items):
        return []
    return plan(items, batching.size, batching.max_chars)


def in_input_order(parts: Sequence[Part[Any]], chunks: Iterable[Sequence[R]]) -> list[R]:
    """Each part's results put back where its items are in the input."""
    results = [result for chunk in chunks for result in chunk]
    return restore([position for part in parts for position in part.positions], results)


def map_batched(fn: Callable[[Items], list[R]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches on up to ``batching.limit`` threads; its results in input order."""

    def run(part: Part[ItemLike]) -> list[R]:
        result = fn(part.items)
        batching.done(part)
        return result

    parts = batches(items, batching)
    return in_input_order(parts, run_batches(run, parts, batching.limit, cost))


async def amap_batched(fn: Callable[[Items], Awaitable[list[R]]], items: Items, batching: Batching) -> list[R]:
    """``fn`` over batches with up to ``batching.limit`` in flight; its results in input order."""

    async def run(part: Part[ItemLike]) -> list[R]:
        result = await fn(part.items)
        batching.done(part)
        return result

    parts = batches(items, batching)
    return in_input_order(parts, await arun_batches(run, parts, batching.limit, cost))


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
    parts = batches(items, batching)
    out = _Matrix(len(items))

    def run(part: Part[ItemLike]) -> Matrix:
        matrix = client.encode_dense(model, part.items, **args)
        batching.done(part)
        return matrix

    for part, matrix in zip(parts, run_batches(run, parts, batching.limit, cost), strict=True):
        out.put(part.positions, matrix)
    return out.result()


async def aembed_matrix(client: AsyncSIEClient, model: str, items: Items, batching: Batching, **args: Any) -> Matrix:
    """Async ``embed_matrix``."""
    out = _Matrix(len(items))

    async def run(part: Part[ItemLike]) -> None:
        matrix = await client.encode_dense(model, part.items, **args)
        out.put(part.positions, matrix)
        batching.done(part)

    await arun_batches(run, batches(items, batching), batching.limit, cost)
    return out.result()
