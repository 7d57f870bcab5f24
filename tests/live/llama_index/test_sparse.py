"""The LlamaIndex sparse embeddings against the real SIE peer (live): a ``BaseSparseEmbedding`` with
LlamaIndex's events, and Qdrant's sparse functions in a hybrid index; replayed from cassettes by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import SparseEmbeddingEndEvent, SparseEmbeddingStartEvent

from sie_integrations.llama_index import SIEEmbeddings, SIESparseEmbeddings
from tests.support.events import recorded
from tests.support.live import LONGER_FACTS, MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

TEXTS = LONGER_FACTS


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    with recorded() as seen:
        yield seen


def ends(events: list[BaseEvent]) -> list[SparseEmbeddingEndEvent]:
    return [e for e in events if isinstance(e, SparseEmbeddingEndEvent)]


async def test_a_base_sparse_embedding_with_events(sie_url: str, events: list[BaseEvent]) -> None:
    sparse = SIESparseEmbeddings(model="sie-fake-full", base_url=sie_url, embed_batch_size=2, max_concurrency=2)
    assert isinstance(sparse, BaseSparseEmbedding)
    rows = sparse.get_text_embedding_batch(TEXTS)
    assert len(rows) == len(TEXTS)
    assert all(row and all(isinstance(i, int) and isinstance(w, float) for i, w in row.items()) for row in rows)
    starts = [e for e in events if isinstance(e, SparseEmbeddingStartEvent)]
    assert len(starts) == len(ends(events)) == 2  # one pair per request of two texts
    assert all(e.model_dict["model_name"] == "sie-fake-full" for e in starts)
    assert sorted(t for e in ends(events) for t in e.chunks) == sorted(TEXTS)
    assert await sparse.aget_text_embedding_batch(TEXTS) == rows
    assert len(ends(events)) == 4
    query = sparse.get_query_embedding(TEXTS[2])
    assert await sparse.aget_query_embedding(TEXTS[2]) == query
    scores = [sparse.similarity(query, row) for row in rows]
    assert max(scores) == scores[2] == pytest.approx(1.0)  # made-up vectors: a text's own is the one alike
    assert ends(events)[-1].chunks == [TEXTS[2]]


def test_hybrid_search_in_qdrant(sie_url: str) -> None:
    """The same object: Qdrant's sparse functions, and a ``BaseSparseEmbedding`` for the query."""
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    sparse = SIESparseEmbeddings(model="sie-fake-full", base_url=sie_url)
    store = QdrantVectorStore(
        collection_name="sie",
        client=QdrantClient(location=":memory:"),
        enable_hybrid=True,
        sparse_doc_fn=sparse.encode_documents,
        sparse_query_fn=sparse.encode_queries,
    )
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in TEXTS],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=SIEEmbeddings(model=MINILM, base_url=sie_url),
    )
    retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=1, sparse_top_k=1)
    assert [h.node.get_content() for h in retriever.retrieve(TEXTS[2])] == [TEXTS[2]]
    indices, values = sparse.encode_queries([TEXTS[2]])
    assert dict(zip(indices[0], values[0], strict=True)) == sparse.get_query_embedding(TEXTS[2])
