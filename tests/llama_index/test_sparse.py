"""SIESparseEmbeddings (LlamaIndex) against ``FakeSIE``: (indices, values) batches, sync and async."""

from __future__ import annotations

from sie_integrations.llama_index import (
    SIESparseEmbeddings,
)
from tests.fakes.sie import FakeSIE, numbered_sparse, numbered_vector


def test_sparse_embeddings_batches() -> None:
    encoder = FakeSIE(vector=numbered_vector, sparse=numbered_sparse)
    sparse = SIESparseEmbeddings(model="m", batch_size=2, max_concurrency=2, **encoder.connection())
    indices, values = sparse.encode_documents(["t1", "t2", "t3"])
    assert indices == [[1, 50], [2, 50], [3, 50]]
    assert values == [[0.5, 0.25]] * 3
    assert all(isinstance(i, int) for row in indices for i in row)
    assert sorted(len(b["items"]) for b in encoder.bodies) == [1, 2]
    assert all(b["params"] == {"output_types": ["sparse"]} for b in encoder.bodies)
    assert sparse.encode_queries(["t7"]) == ([[7, 50]], [[0.5, 0.25]])
    assert encoder.bodies[-1]["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}
    assert sparse.encode_documents([]) == ([], [])
    assert len(encoder.bodies) == 3


async def test_async_sparse_embeddings() -> None:
    encoder = FakeSIE(vector=numbered_vector, sparse=numbered_sparse)
    sparse = SIESparseEmbeddings(model="m", batch_size=2, **encoder.connection())
    assert await sparse.aencode_queries(["t4", "t5", "t6"]) == (
        [[4, 50], [5, 50], [6, 50]],
        [[0.5, 0.25]] * 3,
    )
    assert all(b["params"]["options"] == {"is_query": True} for b in encoder.bodies)
    assert await sparse.aencode_documents(["t9"]) == ([[9, 50]], [[0.5, 0.25]])
