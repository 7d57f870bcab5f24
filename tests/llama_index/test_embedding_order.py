"""LlamaIndex ``get_text_embedding_batch``: batches of similar length, results in input order (MockTransport)."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler

from sie_integrations.llama_index import SIEEmbeddings
from tests.unit.test_length_batching import CORPUS, Server, vector_of


def embeddings(server: Server, handler: LlamaDebugHandler) -> SIEEmbeddings:
    return SIEEmbeddings(
        model_name="m",
        base_url="https://sie.test",
        embed_batch_size=10,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        callback_manager=CallbackManager([handler]),
    )


def test_batches_hold_texts_of_similar_length_and_results_keep_input_order() -> None:
    server, handler = Server(), LlamaDebugHandler()
    vectors = embeddings(server, handler).get_text_embedding_batch(CORPUS)
    assert np.array_equal(np.array(vectors, dtype=np.float32), np.array([vector_of(t) for t in CORPUS], np.float32))
    sent = [len(t) for texts in server.requests for t in texts]
    assert sent == sorted(sent)  # shortest first, ten per request
    assert [len(texts) for texts in server.requests] == [10] * 30
    # LlamaIndex's own events still fire once per batch, each with its texts and their vectors.
    pairs = handler.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 30
    for _, end in pairs:
        assert [vector_of(t) for t in end.payload["chunks"]] == end.payload["embeddings"]


def test_async_batches_keep_input_order() -> None:
    server, handler = Server(), LlamaDebugHandler()
    vectors = asyncio.run(embeddings(server, handler).aget_text_embedding_batch(CORPUS))
    assert vectors == [vector_of(t) for t in CORPUS]
    by_length = sorted(CORPUS, key=len)
    expected = [by_length[i : i + 10] for i in range(0, len(by_length), 10)]
    assert sorted(server.requests) == sorted(expected)  # the same batches, whatever order they ran in
