"""SIEReranker (LlamaIndex) against ``FakeSIE``: top_n, scores, embed metadata, rerank events, native async."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode

from sie_integrations._core.batches import plan
from sie_integrations.llama_index import (
    SIEReranker,
)
from tests.fakes.sie import FakeSIE
from tests.support.events import recorded

BASE_URL = "https://sie.test"


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    with recorded() as seen:
        yield seen


def rerank_nodes() -> list[NodeWithScore]:
    return [
        NodeWithScore(
            node=TextNode(
                text=f"doc {n}",
                id_=f"n{n}",
                metadata={"title": f"T{n}", "secret": "hidden"},
                excluded_embed_metadata_keys=["secret"],
            ),
            score=0.0,
        )
        for n in (2, 9, 4, 7)
    ]


def test_reranker_top_n_scores_and_embed_metadata(events: list[BaseEvent]) -> None:
    scorer = FakeSIE()
    reranker = SIEReranker(model="m", top_n=2, instruction="rank it", **scorer.connection())
    nodes = rerank_nodes()
    ranked = reranker.postprocess_nodes(nodes, query_str="which doc?")
    assert [(n.node.node_id, n.score) for n in ranked] == [("n9", 9.0), ("n7", 7.0)]
    body = scorer.bodies[0]
    assert body["query"]["text"] == "which doc?"
    assert body["instruction"] == "rank it"
    texts = [item["text"] for item in body["items"]]
    assert texts[0] == nodes[0].node.get_content(metadata_mode=MetadataMode.EMBED)
    assert all("title: T" in t for t in texts)
    assert not any("hidden" in t or "secret" in t for t in texts)
    starts = [e for e in events if isinstance(e, ReRankStartEvent)]
    ends = [e for e in events if isinstance(e, ReRankEndEvent)]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0].query is not None and starts[0].query.query_str == "which doc?"
    assert (starts[0].top_n, starts[0].model_name, len(starts[0].nodes)) == (2, "m", 4)
    assert [n.node.node_id for n in ends[0].nodes] == ["n9", "n7"]
    assert [n.score for n in nodes] == [0.0] * 4  # the input nodes are left as they were


async def test_reranker_native_async(events: list[BaseEvent]) -> None:
    sync_scorer, async_scorer = FakeSIE(), FakeSIE()
    reranker = SIEReranker(
        model="m",
        top_n=3,
        base_url=BASE_URL,
        http_client=sync_scorer.client(),
        http_async_client=async_scorer.async_client(),
    )
    ranked = await reranker.apostprocess_nodes(rerank_nodes(), query_bundle=QueryBundle("which doc?"))
    assert [(n.node.node_id, n.score) for n in ranked] == [("n9", 9.0), ("n7", 7.0), ("n4", 4.0)]
    assert len(async_scorer.bodies) == 1 and sync_scorer.bodies == []
    assert [type(e) for e in events if isinstance(e, ReRankStartEvent | ReRankEndEvent)] == [
        ReRankStartEvent,
        ReRankEndEvent,
    ]


async def test_reranker_needs_a_query() -> None:
    scorer = FakeSIE()
    reranker = SIEReranker(model="m", **scorer.connection())
    with pytest.raises(ValueError, match="needs a query"):
        reranker.postprocess_nodes(rerank_nodes())
    with pytest.raises(ValueError, match="needs a query"):
        await reranker.apostprocess_nodes(rerank_nodes())
    assert scorer.bodies == []


def test_the_requests_are_the_planners() -> None:
    """1,500 nodes of mixed length: the score requests ``plan`` makes (1,000 at most, grouped by length), as
    LangChain's reranker sends them."""
    texts = [f"doc {'x' * (i % 37)} {i}" for i in range(1500)]
    server = FakeSIE()
    nodes = [NodeWithScore(node=TextNode(text=text)) for text in texts]
    ranked = SIEReranker(model="m", top_n=3, **server.connection()).postprocess_nodes(nodes, query_str="q")
    assert [n.score for n in ranked] == [1499.0, 1498.0, 1497.0]  # scores back in input positions
    sent = sorted([item["text"] for item in body["items"]] for body in server.sent("score"))
    assert sent == sorted(batch.items for batch in plan(texts, 1000))
