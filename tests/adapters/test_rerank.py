"""Reranking many documents (``_adapters/rerank.py``): planned requests, scores merged best first, ties in
input order."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sie_integrations._adapters.rerank import MAX_ITEMS_PER_REQUEST, Ranked, arerank, merge, rerank
from sie_integrations._core.batches import Batch
from sie_integrations._core.concurrency import Limit
from sie_integrations.types import (
    ScoreEntry,
)


def entries(*scores: float) -> list[ScoreEntry]:
    """Score entries of one request, best first, as the server sends them."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [ScoreEntry(index=i, score=scores[i], rank=rank, item_id=f"item-{i}") for rank, i in enumerate(order)]


def test_merge_indexes_every_batch_into_the_whole_input_best_first() -> None:
    batches = [Batch([2, 0], ["c", "a"]), Batch([1], ["b"])]
    merged = merge(batches, [entries(0.1, 0.9), entries(0.5)], top_n=None)
    assert merged == [Ranked(0, 0.9), Ranked(1, 0.5), Ranked(2, 0.1)]


def test_merge_keeps_ties_in_input_order() -> None:
    batches = [Batch([2, 0], ["c", "a"]), Batch([1], ["b"])]
    assert [r.index for r in merge(batches, [entries(0.5, 0.5), entries(0.5)], top_n=None)] == [0, 1, 2]


@pytest.mark.parametrize(("top_n", "kept"), [(None, 3), (-1, 3), (0, 0), (2, 2), (10, 3)])
def test_merge_top_n(top_n: int | None, kept: int) -> None:
    assert len(merge([Batch([0, 1, 2], ["a", "b", "c"])], [entries(0.3, 0.2, 0.1)], top_n=top_n)) == kept


class Scorer:
    """A stub client: scores each text by its number, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str], str | None]] = []

    def _score(self, model: str, query: str, items: Sequence[str], instruction: str | None) -> list[ScoreEntry]:
        self.calls.append((model, query, list(items), instruction))
        return entries(*(float(text) for text in items))

    def score(self, model: str, query: str, items: Sequence[str], *, instruction: str | None) -> list[ScoreEntry]:
        return self._score(model, query, items, instruction)


class AsyncScorer(Scorer):
    async def score(  # type: ignore[override]
        self, model: str, query: str, items: Sequence[str], *, instruction: str | None
    ) -> list[ScoreEntry]:
        return self._score(model, query, items, instruction)


TEXTS = [str(i % 7) for i in range(MAX_ITEMS_PER_REQUEST + 3)]


def check_reranked(scorer: Scorer, ranked: list[Ranked]) -> None:
    assert [(c[0], c[1], len(c[2]), c[3]) for c in scorer.calls] == [
        ("m", "q", MAX_ITEMS_PER_REQUEST, "find"),
        ("m", "q", 3, "find"),
    ]
    assert [r.score for r in ranked] == [6.0, 6.0]
    assert all(TEXTS[r.index] == "6" for r in ranked)


def test_rerank_sends_one_request_per_part() -> None:
    scorer = Scorer()
    ranked = rerank(lambda part: scorer.score("m", "q", part, instruction="find"), TEXTS, top_n=2, limit=Limit())
    check_reranked(scorer, ranked)


async def test_arerank_sends_one_request_per_part() -> None:
    scorer = AsyncScorer()
    ranked = await arerank(lambda part: scorer.score("m", "q", part, instruction="find"), TEXTS, top_n=2, limit=Limit())
    check_reranked(scorer, ranked)


def test_rerank_of_nothing_sends_nothing() -> None:
    scorer = Scorer()
    assert rerank(lambda part: scorer.score("m", "q", part, instruction=None), [], top_n=3, limit=Limit()) == []
    assert scorer.calls == []
