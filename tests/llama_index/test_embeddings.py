"""SIEEmbeddings (LlamaIndex) against ``FakeSIE``: queries, planned batches in input order, concurrency,
serialization and pickling."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from typing import Any

import httpx
import numpy as np
import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler

from sie_integrations._core.batches import plan
from sie_integrations.errors import RequestError
from sie_integrations.llama_index import (
    SIEChatModel,
    SIEEmbeddings,
    SIEReranker,
    SIESparseEmbeddings,
)
from tests.fakes.sie import FakeSIE, numbered_sparse, numbered_vector, vector_of
from tests.support.texts import CORPUS

BASE_URL = "https://sie.test"
KEY = "sk-llama-unit-secret-9876"


def numbered(**options: Any) -> FakeSIE:
    """Texts like ``"t7"``: dense ``[7.0, 1.0]``, sparse ``([7, 50], [0.5, 0.25])``."""
    return FakeSIE(vector=numbered_vector, sparse=numbered_sparse, **options)


TEXTS = [f"t{i}" for i in range(10)]


def test_query_embedding_sends_is_query() -> None:
    encoder = numbered()
    emb = SIEEmbeddings(model_name="m", instruction="find it", **encoder.connection())
    assert emb.get_query_embedding("t3") == [3.0, 1.0]
    assert encoder.bodies[0]["params"] == {
        "output_types": ["dense"],
        "instruction": "find it",
        "options": {"is_query": True},
    }
    assert emb.get_text_embedding("t4") == [4.0, 1.0]
    assert "options" not in encoder.bodies[1]["params"]


async def test_async_query_embedding_sends_is_query() -> None:
    encoder = numbered()
    emb = SIEEmbeddings(model_name="m", **encoder.connection())
    assert await emb.aget_query_embedding("t8") == [8.0, 1.0]
    assert encoder.bodies[0]["params"]["options"] == {"is_query": True}


def test_text_embedding_batches_keep_order() -> None:
    encoder = numbered()
    emb = SIEEmbeddings(model_name="m", embed_batch_size=3, **encoder.connection())
    vectors = emb.get_text_embedding_batch(TEXTS)
    assert [v[0] for v in vectors] == [float(i) for i in range(10)]
    assert sorted([item["text"] for item in b["items"]] for b in encoder.bodies) == [  # sent 2 or more at once
        ["t0", "t1", "t2"],
        ["t3", "t4", "t5"],
        ["t6", "t7", "t8"],
        ["t9"],
    ]
    assert all("options" not in b["params"] for b in encoder.bodies)


async def test_async_batches_stay_under_max_concurrency() -> None:
    slow = numbered(delay=0.02)
    emb = SIEEmbeddings(model_name="m", embed_batch_size=2, max_concurrency=3, **slow.connection())
    texts = [f"t{i}" for i in range(24)]
    vectors = await emb.aget_text_embedding_batch(texts)
    assert [v[0] for v in vectors] == [float(i) for i in range(24)]
    assert [len(batch) for batch in slow.encode_batches] == [2] * 12
    assert slow.max_in_flight == 3  # concurrent, but never more than max_concurrency


def test_model_is_an_alias_of_model_name() -> None:
    emb = SIEEmbeddings(model="m", base_url=BASE_URL)
    assert emb.model_name == "m"
    assert SIEEmbeddings(model_name="n", base_url=BASE_URL).model_name == "n"
    assert SIEChatModel(model="c", base_url=BASE_URL).model_name == "c"
    assert SIEReranker(model="r", base_url=BASE_URL).model_name == "r"


def test_to_dict_keeps_the_key_out() -> None:
    emb = SIEEmbeddings(model="m", base_url=BASE_URL, api_key=KEY, embed_batch_size=8)
    data = emb.to_dict()
    assert "api_key" not in data
    assert data["model_name"] == "m"
    assert data["embed_batch_size"] == 8
    assert data["class_name"] == "SIEEmbeddings"
    assert KEY not in json.dumps(data, default=str)
    assert KEY not in emb.to_json()
    assert KEY not in repr(emb) and KEY not in str(emb)
    assert KEY not in json.dumps(SIEChatModel(model="m", base_url=BASE_URL, api_key=KEY).to_dict(), default=str)


def test_pickle_round_trip_builds_a_fresh_client(caplog: pytest.LogCaptureFixture) -> None:
    emb = SIEEmbeddings(model="m", base_url=BASE_URL, api_key=KEY, embed_batch_size=5)
    first_client = emb.client  # built before pickling; must not travel
    with caplog.at_level(logging.WARNING):
        restored = pickle.loads(pickle.dumps(emb))
    assert "Removing unpickleable" not in caplog.text
    assert isinstance(restored, SIEEmbeddings)
    assert (restored.model_name, restored.embed_batch_size, restored.base_url) == ("m", 5, BASE_URL)
    assert restored.api_key is not None and restored.api_key.get_secret_value() == KEY
    encoder = numbered()
    restored.http_client = encoder.client()
    assert restored.client is not first_client
    assert restored.get_query_embedding("t2") == [2.0, 1.0]
    assert encoder.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_pickling_with_injected_clients_leaves_the_original_working(caplog: pytest.LogCaptureFixture) -> None:
    encoder = numbered()
    emb = SIEEmbeddings(model="m", **encoder.connection())
    with caplog.at_level(logging.WARNING):
        restored = pickle.loads(pickle.dumps(emb))
    assert "Removing unpickleable" not in caplog.text
    # The transports cannot cross processes: the copy builds its own clients, the original keeps its own.
    assert restored.http_client is None and restored.http_async_client is None
    assert emb.get_query_embedding("t1") == [1.0, 1.0]
    assert len(encoder.requests) == 1
    sparse = SIESparseEmbeddings(model="m", **encoder.connection())
    assert pickle.loads(pickle.dumps(sparse)).http_client is None
    assert sparse.encode_queries(["t1"]) == ([[1, 50]], [[0.5, 0.25]])


def embeddings(server: FakeSIE, handler: LlamaDebugHandler) -> SIEEmbeddings:
    return SIEEmbeddings(
        model_name="m", embed_batch_size=10, callback_manager=CallbackManager([handler]), **server.connection()
    )


def test_batches_hold_texts_of_similar_length_and_results_keep_input_order() -> None:
    server, handler = FakeSIE(), LlamaDebugHandler()
    vectors = embeddings(server, handler).get_text_embedding_batch(CORPUS)
    assert np.array_equal(np.array(vectors, dtype=np.float32), np.array([vector_of(t) for t in CORPUS], np.float32))
    by_length = sorted(CORPUS, key=len)
    assert sorted(server.encode_batches) == sorted(by_length[i : i + 10] for i in range(0, 300, 10))  # ten per request
    # LlamaIndex's own events still fire once per batch, each with its texts and their vectors.
    pairs = handler.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 30
    for _, end in pairs:
        assert [vector_of(t) for t in end.payload["chunks"]] == end.payload["embeddings"]


def test_async_batches_keep_input_order() -> None:
    server, handler = FakeSIE(), LlamaDebugHandler()
    vectors = asyncio.run(embeddings(server, handler).aget_text_embedding_batch(CORPUS))
    assert vectors == [vector_of(t) for t in CORPUS]
    by_length = sorted(CORPUS, key=len)
    expected = [by_length[i : i + 10] for i in range(0, len(by_length), 10)]
    assert sorted(server.encode_batches) == sorted(expected)  # the same batches, whatever order they ran in


def test_sync_batches_go_out_several_at_a_time_with_one_event_pair_each() -> None:
    server, handler = FakeSIE(delay=0.02), LlamaDebugHandler()
    model = embeddings(server, handler)
    model.max_concurrency = 4
    vectors = model.get_text_embedding_batch(CORPUS)
    assert vectors == [vector_of(t) for t in CORPUS]
    assert server.max_in_flight == 4  # LlamaIndex's own loop sends one at a time
    pairs = handler.get_event_pairs(CBEventType.EMBEDDING)
    assert len(pairs) == 30
    for _, end in pairs:
        assert [vector_of(t) for t in end.payload["chunks"]] == end.payload["embeddings"]


def refusing_third(route: str, number: int, body: Any) -> httpx.Response | None:
    """The third request is refused (400)."""
    return (
        httpx.Response(400, json={"detail": {"code": "INVALID_INPUT", "message": "refused"}}) if number == 3 else None
    )


def test_a_failed_sync_batch_raises_and_ends_the_open_events_with_the_error() -> None:
    server, handler = FakeSIE(refuse=refusing_third), LlamaDebugHandler()
    model = embeddings(server, handler)
    model.max_concurrency = 1
    with pytest.raises(RequestError, match="refused"):
        model.get_text_embedding_batch(CORPUS)
    ends = [end for _, end in handler.get_event_pairs(CBEventType.EMBEDDING)]
    assert [EventPayload.EXCEPTION in end.payload for end in ends] == [False, False, True]
    assert len(server.requests) == 3  # nothing sent after the failure


LONG = [("x" * 30_000)[: 30_000 - i] for i in range(40)]  # 40 texts of about 30,000 characters


def planned(texts: list[str], size: int) -> list[list[str]]:
    """The requests the planner makes of ``texts``: what every door must send."""
    return sorted(batch.items for batch in plan(texts, size))


@pytest.mark.parametrize("door", ["get_text_embedding_batch", "aget_text_embedding_batch", "get_text_embedding_array"])
async def test_every_door_sends_the_planned_requests(door: str) -> None:
    """40 texts of 30,000 characters with ``embed_batch_size=40``: requests under the 400,000-character budget, the
    same the planner (and LangChain's ``SIEEmbeddings``) makes; before, one request of 1,157,220 characters."""
    server = FakeSIE()
    model = SIEEmbeddings(model_name="m", embed_batch_size=40, **server.connection())
    result = getattr(model, door)(LONG)
    vectors = await result if asyncio.iscoroutine(result) else result
    assert np.array_equal(np.asarray(vectors, dtype=np.float32), np.array([vector_of(t) for t in LONG], np.float32))
    assert sorted(server.encode_batches) == planned(LONG, 40)
    assert max(sum(map(len, batch)) for batch in server.encode_batches) <= 400_000


async def test_the_framework_s_own_batching_goes_through_the_planner_too() -> None:
    """With an embeddings cache, LlamaIndex cuts batches of ``embed_batch_size`` itself; each is planned again."""
    from llama_index.core.storage.kvstore import SimpleKVStore

    server = FakeSIE()
    model = SIEEmbeddings(model_name="m", embed_batch_size=40, embeddings_cache=SimpleKVStore(), **server.connection())
    model.get_text_embedding_batch(LONG)
    assert sorted(server.encode_batches) == planned(LONG, 40)
