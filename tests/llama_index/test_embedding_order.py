"""LlamaIndex ``get_text_embedding_batch``: batches of similar length, results in input order (MockTransport)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np
import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler

from sie_integrations.errors import RequestError
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
    by_length = sorted(CORPUS, key=len)
    assert sorted(server.requests) == sorted(by_length[i : i + 10] for i in range(0, 300, 10))  # ten per request
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


class SlowServer(Server):
    """The same MockTransport server, each answer after 20 ms, counting the requests in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.02)
        try:
            return super().__call__(request)
        finally:
            with self._lock:
                self.now -= 1


def test_sync_batches_go_out_several_at_a_time_with_one_event_pair_each() -> None:
    server, handler = SlowServer(), LlamaDebugHandler()
    model = embeddings(server, handler)
    model.max_concurrency = 4
    vectors = model.get_text_embedding_batch(CORPUS)
    assert vectors == [vector_of(t) for t in CORPUS]
    assert server.most == 4  # LlamaIndex's own loop sends one at a time
    pairs = handler.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 30
    for _, end in pairs:
        assert [vector_of(t) for t in end.payload["chunks"]] == end.payload["embeddings"]


class RefusingThird(Server):
    """The MockTransport server, except that its third request is refused (400)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if len(self.requests) == 2:
            self.requests.append([])
            return httpx.Response(400, json={"detail": {"code": "INVALID_INPUT", "message": "refused"}})
        return super().__call__(request)


def test_a_failed_sync_batch_raises_and_ends_the_open_events_with_the_error() -> None:
    server, handler = RefusingThird(), LlamaDebugHandler()
    model = embeddings(server, handler)
    model.max_concurrency = 1
    with pytest.raises(RequestError, match="refused"):
        model.get_text_embedding_batch(CORPUS)
    ends = [end for _, end in handler.get_event_pairs(CBEventType.EMBEDDING)]
    assert [EventPayload.EXCEPTION in end.payload for end in ends] == [False, False, True]
    assert len(server.requests) == 3  # nothing sent after the failure
