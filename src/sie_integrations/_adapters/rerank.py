"""Reranking many documents: split into requests the server takes, scores merged best first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from .._core.concurrency import Limit, batch_cost
from .._http.dispatch import arun_batches, run_batches
from ..types import ScoreEntry
from .batching import split

MAX_ITEMS_PER_REQUEST = 1000


@dataclass(frozen=True)
class Ranked:
    """One document's place in the merged ranking: its position in the input, and its score."""

    index: int
    score: float


def parts(texts: Sequence[str]) -> list[Sequence[str]]:
    """The texts in runs of at most ``MAX_ITEMS_PER_REQUEST``, one request each."""
    return split(texts, MAX_ITEMS_PER_REQUEST)


def best_first(scored: Sequence[Ranked], top_n: int | None) -> list[Ranked]:
    """The best ``top_n`` of ``scored``, best first (ties keep their order); None or negative keeps all."""
    ordered = sorted(scored, key=lambda r: -r.score)
    return ordered if top_n is None or top_n < 0 else ordered[:top_n]


def merge(scored_parts: Sequence[Sequence[ScoreEntry]], top_n: int | None) -> list[Ranked]:
    """The scores of every part, indexed into the whole input, ``best_first``."""
    merged = [
        Ranked(index=part * MAX_ITEMS_PER_REQUEST + entry.index, score=entry.score)
        for part, entries in enumerate(scored_parts)
        for entry in entries
    ]
    return best_first(merged, top_n)


def _cost(part: Sequence[str]) -> float:
    return batch_cost(map(len, part))


Score = Callable[[Sequence[str]], list[ScoreEntry]]
AsyncScore = Callable[[Sequence[str]], Awaitable[list[ScoreEntry]]]


def rerank(score: Score, texts: Sequence[str], *, top_n: int | None, limit: Limit) -> list[Ranked]:
    """``score`` each part of ``texts``, ``limit`` parts at a time; the best ``top_n`` of all."""
    return merge(list(run_batches(score, parts(texts), limit, _cost)), top_n)


async def arerank(score: AsyncScore, texts: Sequence[str], *, top_n: int | None, limit: Limit) -> list[Ranked]:
    """Async ``rerank``."""
    return merge(await arun_batches(score, parts(texts), limit, _cost), top_n)
