"""The LangChain adapters against the real SIE peer (live), replayed from cassettes by default."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from sie_integrations.langchain import SIEEmbeddings, SIEReranker, SIESparseEncoder
from tests.support.live import FACTS, LIVE_API_KEY, MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

DOCS = FACTS


def test_batched_embeddings_keep_input_order(sie_url: str) -> None:
    texts = [f"document number {i} about topic {i % 7}" for i in range(23)]
    batched = SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, batch_size=4, max_concurrency=3)
    whole = SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, batch_size=64)
    a, b = batched.embed_documents(texts), whole.embed_documents(texts)
    assert len(a) == len(texts)
    assert np.allclose(np.array(a), np.array(b), atol=1e-5)
    assert batched.embed_documents([]) == []


async def test_async_batched_embeddings_keep_input_order(sie_url: str) -> None:
    texts = [f"async document {i}" for i in range(10)]
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, batch_size=3, max_concurrency=2)
    vectors = await embeddings.aembed_documents(texts)
    singles = [await embeddings.aembed_documents([t]) for t in texts[::4]]
    for k, single in enumerate(singles):
        assert np.allclose(vectors[k * 4], single[0], atol=1e-5)
    await embeddings.aclose()


def test_embeddings_as_one_numpy_matrix(sie_url: str) -> None:
    texts = [f"document number {i} about topic {i % 7}" for i in range(23)]
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, batch_size=4, max_concurrency=3)
    matrix = embeddings.embed_documents_array(texts)
    assert isinstance(matrix, np.ndarray) and matrix.shape == (23, 384) and matrix.dtype == np.float32
    assert np.allclose(matrix, np.array(embeddings.embed_documents(texts)), atol=1e-6)
    query = embeddings.embed_documents_array(["topic 3"], is_query=True)
    assert np.allclose(query[0], embeddings.embed_query("topic 3"), atol=1e-6)


async def test_async_embeddings_as_one_numpy_matrix(sie_url: str) -> None:
    texts = [f"async document {i}" for i in range(10)]
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, batch_size=3, max_concurrency=2)
    matrix = await embeddings.aembed_documents_array(texts)
    assert matrix.shape == (10, 384)
    assert np.allclose(matrix, np.array(await embeddings.aembed_documents(texts)), atol=1e-6)
    await embeddings.aclose()


def test_retrieval_with_a_vector_store_and_reranker(sie_url: str) -> None:
    store = InMemoryVectorStore(SIEEmbeddings(model=MINILM, base_url=sie_url))
    store.add_documents([Document(page_content=d, metadata={"n": i}) for i, d in enumerate(DOCS)])
    hits = store.similarity_search("What is the weather like in Paris?", k=3)
    assert hits[0].page_content == "Paris has mild summers."
    reranker = SIEReranker(model="sie-fake", base_url=sie_url, top_n=2)
    before = [h.model_copy(deep=True) for h in hits]
    ranked = reranker.compress_documents(hits, "What is the weather like in Paris?")
    assert len(ranked) == 2
    assert [h.metadata for h in hits] == [b.metadata for b in before]  # inputs untouched
    scores = [d.metadata["relevance_score"] for d in ranked]
    assert scores == sorted(scores, reverse=True)
    assert {d.page_content for d in ranked} <= {h.page_content for h in hits}
    every = reranker.rerank(DOCS, "query", top_n=None)
    assert sorted(r["index"] for r in every) == list(range(len(DOCS)))


async def test_async_reranker(sie_url: str) -> None:
    reranker = SIEReranker(model="sie-fake", base_url=sie_url, top_n=3)
    docs = [Document(page_content=d) for d in DOCS]
    ranked = await reranker.acompress_documents(docs, "Paris")
    sync_ranked = reranker.compress_documents(docs, "Paris")
    assert [d.page_content for d in ranked] == [d.page_content for d in sync_ranked]
    assert all("relevance_score" in d.metadata for d in ranked)


def test_sparse_encoder_shapes(sie_url: str) -> None:
    encoder = SIESparseEncoder(model="sie-fake-full", base_url=sie_url, batch_size=2)
    docs = encoder.encode_documents(["alpha beta", "gamma", "delta epsilon"])
    assert len(docs) == 3
    for vector in docs:
        assert set(vector) == {"indices", "values"}
        assert len(vector["indices"]) == len(vector["values"]) > 0
        assert all(isinstance(i, int) for i in vector["indices"])
    query = encoder.encode_queries("alpha beta")
    assert set(query) == {"indices", "values"}


def test_reranker_inside_a_contextual_compression_retriever(sie_url: str) -> None:
    from langchain_classic.retrievers import ContextualCompressionRetriever

    store = InMemoryVectorStore(SIEEmbeddings(model=MINILM, base_url=sie_url))
    store.add_texts(DOCS)
    retriever = ContextualCompressionRetriever(
        base_compressor=SIEReranker(model="sie-fake", base_url=sie_url, top_n=2),
        base_retriever=store.as_retriever(search_kwargs={"k": 4}),
    )
    docs = retriever.invoke("What is the weather like in Paris?")
    assert len(docs) == 2
    assert all(isinstance(d.metadata["relevance_score"], float) for d in docs)
    assert docs[0].metadata["relevance_score"] >= docs[1].metadata["relevance_score"]
    assert {d.page_content for d in docs} <= set(DOCS)
