"""Late interaction in LlamaIndex: multivector embeddings and the MaxSim node postprocessor, live on sie-fake-full."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from sie_integrations.llama_index import SIELLM, SIEEmbeddings, SIEMaxSimReranker, SIEMultiVectorEmbeddings
from tests.support.events import Dispatched
from tests.support.late_interaction import MODEL, QUERY, TEXTS, reference_scores, token_vectors


@pytest.mark.live
@pytest.mark.vcr
async def test_multivector_embeddings_match_the_client(sie_url: str) -> None:
    embeddings = SIEMultiVectorEmbeddings(model=MODEL, base_url=sie_url, batch_size=2)
    vectors = embeddings.get_text_embeddings(TEXTS)
    for got, want in zip(vectors, token_vectors(sie_url, TEXTS), strict=True):
        np.testing.assert_array_equal(got, want)
    assert embeddings.get_query_embedding(QUERY).ndim == 2
    again = await embeddings.aget_text_embeddings(TEXTS)
    assert all(np.array_equal(a, b) for a, b in zip(again, vectors, strict=True))
    np.testing.assert_array_equal(await embeddings.aget_query_embedding(QUERY), embeddings.get_query_embedding(QUERY))


@pytest.mark.live
@pytest.mark.vcr
async def test_the_postprocessor_keeps_the_best_by_maxsim_with_rerank_events(sie_url: str) -> None:
    handler = Dispatched()
    get_dispatcher().add_event_handler(handler)
    try:
        reranker = SIEMaxSimReranker(model=MODEL, base_url=sie_url, top_n=2)
        nodes = [NodeWithScore(node=TextNode(text=t, id_=f"n{i}"), score=0.0) for i, t in enumerate(TEXTS)]
        kept = reranker.postprocess_nodes(nodes, QueryBundle(QUERY))
        again = await reranker.apostprocess_nodes(nodes, QueryBundle(QUERY))
    finally:
        get_dispatcher().event_handlers.remove(handler)
    scores = reference_scores(sie_url, QUERY, TEXTS)
    best = sorted(range(len(TEXTS)), key=lambda i: -scores[i])[:2]
    assert [n.node.node_id for n in kept] == [f"n{i}" for i in best]
    assert [n.score for n in kept] == pytest.approx([scores[i] for i in best], rel=1e-5)
    assert [(n.node.node_id, n.score) for n in again] == [(n.node.node_id, n.score) for n in kept]
    starts = [e for e in handler.events if isinstance(e, ReRankStartEvent)]
    ends = [e for e in handler.events if isinstance(e, ReRankEndEvent)]
    assert len(starts) == len(ends) == 2 and starts[0].top_n == 2 and starts[0].model_name == MODEL
    assert [n.node.node_id for n in ends[0].nodes] == [f"n{i}" for i in best]
    with pytest.raises(ValueError, match="SIEMaxSimReranker needs a query"):
        reranker.postprocess_nodes(nodes)


@pytest.mark.live
@pytest.mark.vcr
def test_a_query_engine_reranks_a_plain_vector_index(sie_url: str) -> None:
    """A store without multivectors, the MaxSim reranker, and SIELLM answering from the nodes it kept."""
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in TEXTS], embed_model=SIEEmbeddings(model=MODEL, base_url=sie_url)
    )
    candidates = [n.node.get_content() for n in index.as_retriever(similarity_top_k=4).retrieve(QUERY)]
    engine = index.as_query_engine(
        llm=SIELLM(model="tiny-chat", base_url=sie_url, max_new_tokens=16),
        similarity_top_k=4,
        node_postprocessors=[SIEMaxSimReranker(model=MODEL, base_url=sie_url, top_n=2)],
    )
    response = engine.query(QUERY)
    scores = reference_scores(sie_url, QUERY, candidates)
    best = sorted(range(4), key=lambda i: -scores[i])[:2]
    assert [n.node.get_content() for n in response.source_nodes] == [candidates[i] for i in best]
    assert str(response) == "Hello from tiny-chat!"
