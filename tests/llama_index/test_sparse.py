"""SIESparseEmbeddings (LlamaIndex) against ``FakeSIE``: a ``BaseSparseEmbedding`` with LlamaIndex's events,
and (indices, values) batches for Qdrant; sync and async."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import SparseEmbeddingEndEvent, SparseEmbeddingStartEvent

from sie_integrations.llama_index import (
    SIESparseEmbeddings,
)
from tests.fakes.sie import FakeSIE, numbered_sparse, numbered_vector
from tests.support.events import recorded

KEY = "sk-sparse-secret-123456"


def row(n: int) -> dict[int, float]:
    """The fake's sparse embedding of the text ``f"t{n}"``."""
    return {n: 0.5, 50: 0.25}


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    with recorded() as seen:
        yield seen


def sparse_events(events: list[BaseEvent]) -> list[tuple[str, Any]]:
    """The sparse embedding events, in order: ``("start", model_dict)`` and ``("end", (chunks, embeddings))``."""
    seen: list[tuple[str, Any]] = []
    for event in events:
        if isinstance(event, SparseEmbeddingStartEvent):
            seen.append(("start", event.model_dict))
        elif isinstance(event, SparseEmbeddingEndEvent):
            seen.append(("end", (event.chunks, event.embeddings)))
    return seen


def refused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the sync client was used: {request.url}")


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


def test_a_base_sparse_embedding_with_events_for_each_request(events: list[BaseEvent]) -> None:
    encoder = FakeSIE(sparse=numbered_sparse)
    sparse = SIESparseEmbeddings(model="m", embed_batch_size=2, max_concurrency=2, api_key=KEY, **encoder.connection())
    assert isinstance(sparse, BaseSparseEmbedding)
    texts = [f"t{n}" for n in range(1, 6)]
    assert sparse.get_text_embedding_batch(texts) == [row(n) for n in range(1, 6)]
    assert sorted(map(len, encoder.encode_batches)) == [1, 2, 2]
    assert all(b["params"] == {"output_types": ["sparse"]} for b in encoder.bodies)
    seen = sparse_events(events)
    assert [kind for kind, _ in seen].count("start") == [kind for kind, _ in seen].count("end") == 3
    payload = {"class_name": "SIESparseEmbeddings", "model_name": "m", "embed_batch_size": 2}
    assert all(value == payload for kind, value in seen if kind == "start")
    ends = [value for kind, value in seen if kind == "end"]
    assert sorted(chunks for chunks, _ in ends) == sorted(encoder.encode_batches)
    assert all(rows == [row(int(text[1:])) for text in chunks] for chunks, rows in ends)
    assert KEY not in repr(events)

    events.clear()
    assert sparse.get_query_embedding("t7") == row(7)
    assert encoder.bodies[-1]["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}
    assert sparse.get_text_embedding("t8") == row(8)
    assert "options" not in encoder.bodies[-1]["params"]
    assert sparse_events(events) == [
        ("start", payload),
        ("end", (["t7"], [row(7)])),
        ("start", payload),
        ("end", (["t8"], [row(8)])),
    ]
    assert sparse.get_text_embedding_batch([]) == []
    assert len(encoder.bodies) == 5
    assert sparse.similarity(row(1), row(1)) == pytest.approx(1.0)


async def test_async_base_sparse_embedding_is_native_with_events(events: list[BaseEvent]) -> None:
    encoder = FakeSIE(sparse=numbered_sparse)
    sparse = SIESparseEmbeddings(
        model="m",
        embed_batch_size=2,
        base_url="http://sie.test",
        http_client=httpx.Client(transport=httpx.MockTransport(refused)),
        http_async_client=encoder.async_client(),
    )
    assert await sparse.aget_text_embedding_batch(["t1", "t2", "t3"]) == [row(1), row(2), row(3)]
    assert sorted(map(len, encoder.encode_batches)) == [1, 2]
    ends = [value for kind, value in sparse_events(events) if kind == "end"]
    assert sorted(chunks for chunks, _ in ends) == sorted(encoder.encode_batches)
    assert await sparse.aget_query_embedding("t4") == row(4)
    assert encoder.bodies[-1]["params"]["options"] == {"is_query": True}
    assert await sparse.aget_text_embedding("t5") == row(5)
    assert "options" not in encoder.bodies[-1]["params"]
    kinds = [kind for kind, _ in sparse_events(events)]
    assert sorted(kinds[:4]) == ["end", "end", "start", "start"] and kinds[0] == "start"
    assert kinds[4:] == ["start", "end"] * 2


async def test_calls_started_at_once_stay_under_max_concurrency() -> None:
    encoder = FakeSIE(sparse=numbered_sparse, delay=0.02)
    sparse = SIESparseEmbeddings(model="m", max_concurrency=2, **encoder.connection())
    rows = await asyncio.gather(*(sparse.aget_query_embedding(f"t{n}") for n in range(8)))
    assert rows == [row(n) for n in range(8)]
    assert encoder.max_in_flight == 2


def test_fields_names_and_pickling() -> None:
    sparse = SIESparseEmbeddings(model="m", batch_size=3, base_url="http://sie.test", api_key=KEY)
    assert (sparse.model_name, sparse.embed_batch_size) == ("m", 3)
    assert SIESparseEmbeddings(model_name="m", embed_batch_size=4).embed_batch_size == 4
    assert SIESparseEmbeddings.class_name() == "SIESparseEmbeddings"
    dumped = sparse.model_dump()
    assert dumped["class_name"] == "SIESparseEmbeddings" and "api_key" not in dumped
    copy = pickle.loads(pickle.dumps(sparse))
    assert (copy.model_name, copy.embed_batch_size, copy.base_url) == ("m", 3, "http://sie.test")
    with pytest.raises(ValueError, match="embed_batch_size"):
        SIESparseEmbeddings(model="m", embed_batch_sise=2)
