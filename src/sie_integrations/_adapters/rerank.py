"""Reranking many documents: split into requests the server takes, scores merged best first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
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


def merge(scored_parts: Sequence[Sequence[ScoreEntry]], top_n: int | None) -> list[Ranked]:
    """The scores of every part, indexed into the whole input, best first (ties keep their order).

    ``top_n`` None or negative keeps all.
    """
    merged = [
        Ranked(index=part * MAX_ITEMS_PER_REQUEST + entry.index, score=entry.score)
        for part, entries in enumerate(scored_parts)
        for entry in entries
    ]
    merged.sort(key=lambda r: -r.score)
    return merged if top_n is None or top_n < 0 else merged[:top_n]


def rerank(
    client: SIEClient, model: str, query: str, texts: Sequence[str], *, instruction: str | None, top_n: int | None
) -> list[Ranked]:
    """Score ``texts`` against ``query``, one request per part in turn; the best ``top_n``."""
    return merge([client.score(model, query, part, instruction=instruction) for part in parts(texts)], top_n)


async def arerank(
    client: AsyncSIEClient, model: str, query: str, texts: Sequence[str], *, instruction: str | None, top_n: int | None
) -> list[Ranked]:
    """Async ``rerank``."""
    return merge([await client.score(model, query, part, instruction=instruction) for part in parts(texts)], top_n)
