"""The LangChain sparse encoder against the real SIE peer (live): langchain-qdrant's ``SparseEmbeddings`` in a
hybrid ``QdrantVectorStore``, sync and async; replayed from cassettes by default."""

from __future__ import annotations

import pytest
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings, SparseVector

from sie_integrations.langchain import SIEEmbeddings, SIEQdrantSparseEmbeddings
from tests.support.live import LONGER_FACTS, MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

DOCS = LONGER_FACTS


def test_hybrid_search_in_qdrant(sie_url: str) -> None:
    """MiniLM dense vectors and ``sie-fake-full`` sparse ones (made up: one text, one vector) in Qdrant."""
    sparse = SIEQdrantSparseEmbeddings(model="sie-fake-full", base_url=sie_url, batch_size=2)
    assert isinstance(sparse, SparseEmbeddings)
    store = QdrantVectorStore.from_texts(
        DOCS,
        embedding=SIEEmbeddings(model=MINILM, base_url=sie_url),
        sparse_embedding=sparse,
        retrieval_mode=RetrievalMode.HYBRID,
        location=":memory:",
        collection_name="sie",
    )
    # A document's own text: first by its dense vector and by its sparse one.
    assert [d.page_content for d in store.similarity_search(DOCS[2], k=1)] == [DOCS[2]]
    hits = store.similarity_search("What is the weather like in Paris?", k=2)
    assert DOCS[1] in [d.page_content for d in hits]  # first by MiniLM; fused with the made-up sparse ranking


async def test_sync_and_native_async_vectors_agree(sie_url: str) -> None:
    sparse = SIEQdrantSparseEmbeddings(model="sie-fake-full", base_url=sie_url, batch_size=2, max_concurrency=2)
    vectors = sparse.embed_documents(DOCS)
    assert all(isinstance(v, SparseVector) and len(v.indices) == len(v.values) > 0 for v in vectors)
    assert all(isinstance(i, int) for v in vectors for i in v.indices)
    assert await sparse.aembed_documents(DOCS) == vectors
    query = sparse.embed_query("weather in Paris")
    assert await sparse.aembed_query("weather in Paris") == query
    assert sparse.encode_queries("weather in Paris") == {"indices": query.indices, "values": query.values}
