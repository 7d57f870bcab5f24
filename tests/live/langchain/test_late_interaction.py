"""Late interaction in LangChain: multivector embeddings and the MaxSim reranker, live on sie-fake-full."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from qdrant_client import QdrantClient, models

from sie_integrations.langchain import SIEEmbeddings, SIEMaxSimReranker, SIEMultiVectorEmbeddings
from tests.support.late_interaction import MODEL, QUERY, TEXTS, reference_scores, token_vectors


@pytest.mark.live
@pytest.mark.vcr
async def test_multivector_embeddings_are_token_matrices_in_input_order(sie_url: str) -> None:
    embeddings = SIEMultiVectorEmbeddings(model=MODEL, base_url=sie_url, batch_size=2)
    vectors = embeddings.embed_documents(TEXTS)
    assert all(v.ndim == 2 and v.shape[1] == 128 for v in vectors)
    assert len({v.shape[0] for v in vectors}) > 1  # one row per token: longer texts, more rows
    for got, want in zip(vectors, token_vectors(sie_url, TEXTS), strict=True):
        np.testing.assert_array_equal(got, want)
    query = embeddings.embed_query(QUERY)
    assert query.ndim == 2
    again = await embeddings.aembed_documents(TEXTS)
    assert all(np.array_equal(a, b) for a, b in zip(again, vectors, strict=True))
    np.testing.assert_array_equal(await embeddings.aembed_query(QUERY), query)


@pytest.mark.live
@pytest.mark.vcr
async def test_the_reranker_scores_by_maxsim_equal_to_a_plain_reference(sie_url: str) -> None:
    reranker = SIEMaxSimReranker(model=MODEL, base_url=sie_url, top_n=3)
    documents = [Document(page_content=t, metadata={"n": i}) for i, t in enumerate(TEXTS)]
    kept = reranker.compress_documents(documents, QUERY)
    scores = reference_scores(sie_url, QUERY, TEXTS)
    best = sorted(range(len(TEXTS)), key=lambda i: -scores[i])[:3]
    assert [d.metadata["n"] for d in kept] == best
    assert [d.metadata["relevance_score"] for d in kept] == pytest.approx([scores[i] for i in best], rel=1e-5)
    assert all("relevance_score" not in d.metadata for d in documents)  # inputs untouched
    ranked = reranker.rerank(TEXTS, QUERY)
    assert [r["index"] for r in ranked] == sorted(range(len(TEXTS)), key=lambda i: -scores[i])
    again = await reranker.acompress_documents(documents, QUERY)
    assert [d.metadata for d in again] == [d.metadata for d in kept]
    assert reranker.compress_documents([], QUERY) == []


@pytest.mark.live
@pytest.mark.vcr
def test_after_a_vector_store_with_no_multivector_support(sie_url: str) -> None:
    store = InMemoryVectorStore.from_texts(TEXTS, SIEEmbeddings(model=MODEL, base_url=sie_url))
    retriever = ContextualCompressionRetriever(
        base_compressor=SIEMaxSimReranker(model=MODEL, base_url=sie_url, top_n=2),
        base_retriever=store.as_retriever(search_kwargs={"k": 4}),
    )
    found = retriever.invoke(QUERY)
    candidates = [d.page_content for d in store.similarity_search(QUERY, k=4)]
    scores = reference_scores(sie_url, QUERY, candidates)
    best = sorted(range(4), key=lambda i: -scores[i])[:2]
    assert [d.page_content for d in found] == [candidates[i] for i in best]


@pytest.mark.live
@pytest.mark.vcr
def test_stored_and_queried_in_qdrant_multivectors_with_the_same_scores(sie_url: str) -> None:
    """Qdrant (local mode) compares with MaxSim itself: its ranking and scores equal the reranker's."""
    embeddings = SIEMultiVectorEmbeddings(model=MODEL, base_url=sie_url)
    vectors = embeddings.embed_documents(TEXTS)
    qdrant = QdrantClient(":memory:")
    qdrant.create_collection(
        "docs",
        vectors_config=models.VectorParams(
            size=vectors[0].shape[1],
            distance=models.Distance.DOT,
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
        ),
    )
    qdrant.upsert(
        "docs", [models.PointStruct(id=i, vector=v.tolist(), payload={"text": TEXTS[i]}) for i, v in enumerate(vectors)]
    )
    hits = qdrant.query_points("docs", query=embeddings.embed_query(QUERY).tolist(), limit=3).points
    ours = SIEMaxSimReranker(model=MODEL, base_url=sie_url).rerank(TEXTS, QUERY, top_n=3)
    assert [hit.id for hit in hits] == [r["index"] for r in ours]
    assert [hit.score for hit in hits] == pytest.approx([r["relevance_score"] for r in ours], rel=1e-4)
