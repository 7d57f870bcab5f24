"""What each request of a large call carries: batches of similar length within the request limits, and their cost.

The server pads every text of a request to the longest one, so batches of similar length spare it that padding.
Every batched call plans its requests here (embeddings, rerankers, extractors, ``sie-integrations embed``), so the
same items give the same requests whichever way they came in; the results are put back in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..types import Item, ItemLike

R = TypeVar("R")
T = TypeVar("T", bound=ItemLike)

MAX_BATCH_CHARS = 400_000
"""The most characters of text one request carries (about 100,000 tokens), whatever the batch size."""

MAX_BATCH_IMAGE_BYTES = 8 * 1024 * 1024
"""The most image and document bytes one request carries, well inside the server's body limits (16 MiB at a
gateway); a larger item goes alone."""

IMAGE_CHARS = 1_000
"""What one image counts as, in characters of text, when batches are sorted and their cost estimated."""


def text_length(item: ItemLike) -> int:
    """The characters of text in one item, each image counting as ``IMAGE_CHARS``."""
    return len(item) if isinstance(item, str) else len(item.text or "") + IMAGE_CHARS * len(item.images)


def data_bytes(item: ItemLike) -> int:
    """The bytes of the images and the document of one item."""
    if isinstance(item, str):
        return 0
    return sum(len(image.data) for image in item.images) + (len(item.document.data) if item.document else 0)


def cost(items: Iterable[ItemLike]) -> float:
    """What the server computes for a request, about: its items times its longest text (it pads to that)."""
    lengths = [text_length(item) for item in items]
    return len(lengths) * max(1, max(lengths, default=0))


@dataclass(frozen=True)
class Batch(Generic[T]):
    """One request's items, and where each of them is in the input."""

    positions: list[int]
    items: list[T]

    @property
    def cost(self) -> float:
        """``cost`` of its items."""
        return cost(self.items)


def length_order(items: Sequence[ItemLike]) -> list[int]:
    """The positions of ``items``, shortest text first (equal lengths keep their order)."""
    lengths = [text_length(item) for item in items]
    return sorted(range(len(items)), key=lengths.__getitem__)


def plan(items: Sequence[T], size: int, max_chars: int = MAX_BATCH_CHARS) -> list[Batch[T]]:
    """The items in batches of similar length, shortest first.

    Each batch has at most ``size`` items, ``max_chars`` characters and ``MAX_BATCH_IMAGE_BYTES`` of images and
    documents; an item larger than that goes alone.
    """
    if size < 1:
        raise ValueError("batch_size must be >= 1")
    batches: list[list[int]] = []
    chars = data = 0
    for position in length_order(items):
        length, size_of = text_length(items[position]), data_bytes(items[position])
        full = chars + length > max_chars or data + size_of > MAX_BATCH_IMAGE_BYTES
        if not batches or len(batches[-1]) == size or full:
            batches.append([])
            chars = data = 0
        batches[-1].append(position)
        chars += length
        data += size_of
    return [Batch(batch, [items[i] for i in batch]) for batch in batches]


def in_order_groups(sizes: Sequence[int], size: int) -> list[list[int]]:
    """Positions in input order, at most ``size`` a group and ``MAX_BATCH_IMAGE_BYTES`` of ``sizes`` (the bytes of
    each item; a larger item goes alone)."""
    if size < 1:
        raise ValueError("batch_size must be >= 1")
    groups: list[list[int]] = []
    data = 0
    for position, size_of in enumerate(sizes):
        if not groups or len(groups[-1]) == size or data + size_of > MAX_BATCH_IMAGE_BYTES:
            groups.append([])
            data = 0
        groups[-1].append(position)
        data += size_of
    return groups


def in_order(items: Sequence[T], size: int) -> list[Batch[T]]:
    """The items in batches of ``in_order_groups``: for work a server does item by item, such as parsing
    documents, whose results are wanted as they come."""
    return [Batch(group, [items[i] for i in group]) for group in in_order_groups([data_bytes(i) for i in items], size)]


def stand_ins(sizes: Sequence[int], size: int) -> list[Batch[Item]]:
    """Batches of ``in_order_groups`` for documents read only when their request is sent (``sizes``: their bytes):
    each item stands for one document, with no data yet, so it counts as one in a request's ``cost``."""
    return [Batch(group, [Item() for _ in group]) for group in in_order_groups(sizes, size)]


def singles(items: Sequence[T]) -> list[Batch[T]]:
    """Each item a batch of its own, in order (for calls that take one item, such as a generation)."""
    return [Batch([i], [item]) for i, item in enumerate(items)]


def restore(batches: Sequence[Batch[Any]], results: Iterable[Sequence[R]]) -> list[R]:
    """The results of each batch (one per item, in the batch's order) put back in input order."""
    out: list[Any] = [None] * sum(len(batch.positions) for batch in batches)
    for batch, chunk in zip(batches, results, strict=True):
        for position, result in zip(batch.positions, chunk, strict=True):
            out[position] = result
    return out
