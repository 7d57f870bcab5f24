"""Reranking many documents: planned into requests the server takes, scores merged best first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .._core.batches import Batch, plan
from .._core.concurrency import Limit
from .._http.dispatch import arun_batches, run_batches
from ..types import ScoreEntry

MAX_ITEMS_PER_REQUEST = 1000
"""The most candidates one score request carries."""


@dataclass(frozen=True)
class Ranked:
    """One document's place in the merged ranking: its position in the input, and its score."""

    index: int
    score: float


def best_first(scored: Sequence[Ranked], top_n: int | None) -> list[Ranked]:
    """The best ``top_n`` of ``scored``, best first (ties keep their order); None or negative keeps all."""
    ordered = sorted(scored, key=lambda r: -r.score)
    return ordered if top_n is None or top_n < 0 else ordered[:top_n]


def merge(batches: Sequence[Batch[str]], scored: Sequence[Sequence[ScoreEntry]], top_n: int | None) -> list[Ranked]:
    """The scores of every batch, indexed into the whole input, ``best_first`` (ties in input order)."""
    merged = [
        Ranked(index=batch.positions[entry.index], score=entry.score)
        for batch, entries in zip(batches, scored, strict=True)
        for entry in entries
    ]
    return best_first(sorted(merged, key=lambda r: r.index), top_n)


Score = Callable[[Sequence[str]], list[ScoreEntry]]
AsyncScore = Callable[[Sequence[str]], Awaitable[list[ScoreEntry]]]


def rerank(score: Score, texts: Sequence[str], *, top_n: int | None, limit: Limit) -> list[Ranked]:
    """``score`` each batch of ``texts``, ``limit`` batches at a time; the best ``top_n`` of all."""
    batches = plan(texts, MAX_ITEMS_PER_REQUEST)
    return merge(batches, list(run_batches(lambda batch: score(batch.items), batches, limit)), top_n)


async def arerank(score: AsyncScore, texts: Sequence[str], *, top_n: int | None, limit: Limit) -> list[Ranked]:
    """Async ``rerank``."""
    batches = plan(texts, MAX_ITEMS_PER_REQUEST)
    return merge(batches, await arun_batches(lambda batch: score(batch.items), batches, limit), top_n)
