"""SIEEmbeddings against ``FakeSIE``: planned batches in input order, queries, the key and where it goes."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from sie_integrations._core.batches import plan
from sie_integrations.langchain import SIEEmbeddings
from tests.fakes.sie import FakeSIE, vector_of

KEY = "sk-unit-secret-123456"


def sized(text: str) -> list[float]:
    """A text's vector: its length, then 1."""
    return [float(len(text)), 1.0]


@pytest.fixture
def recorder() -> FakeSIE:
    """Vectors ``sized``, sparse vectors ``([1, 5], [0.5, 0.25])``, scores by the number a text ends with."""
    return FakeSIE(vector=sized, sparse=lambda text: ([1, 5], [0.5, 0.25]))


def test_embed_documents_batches_in_order(recorder: FakeSIE) -> None:
    texts = ["a" * n for n in range(1, 11)]
    emb = SIEEmbeddings(
        model="m", base_url="http://sie.test", batch_size=3, max_concurrency=2, http_client=recorder.client()
    )
    vectors = emb.embed_documents(texts)
    assert [v[0] for v in vectors] == [float(n) for n in range(1, 11)]
    assert sorted(map(len, recorder.encode_batches)) == [1, 3, 3, 3]


def test_embed_query_sends_is_query_and_empty_sends_nothing(recorder: FakeSIE) -> None:
    emb = SIEEmbeddings(model="m", base_url="http://sie.test", instruction="find it", http_client=recorder.client())
    assert emb.embed_documents([]) == []
    assert recorder.requests == []
    assert emb.embed_query("hello") == [5.0, 1.0]
    params = recorder.bodies[0]["params"]
    assert params == {"output_types": ["dense"], "instruction": "find it", "options": {"is_query": True}}


def test_api_key_is_secret_everywhere(recorder: FakeSIE) -> None:
    emb = SIEEmbeddings(model="m", base_url="https://sie.test", api_key=KEY, http_client=recorder.client())
    assert KEY not in repr(emb) and KEY not in str(emb)
    assert KEY not in json.dumps(emb.model_dump(mode="json"))
    emb.embed_query("x")
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_env_key_is_not_sent_to_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIE_API_KEY", "env-key")
    monkeypatch.setenv("SIE_BASE_URL", "https://sie.example.com")
    assert SIEEmbeddings(model="m").api_key is not None
    assert SIEEmbeddings(model="m", base_url="https://sie.example.com/").api_key is not None
    assert SIEEmbeddings(model="m", base_url="https://elsewhere.example.com").api_key is None


LONG = [("x" * 30_000)[: 30_000 - i] for i in range(40)]  # 40 texts of about 30,000 characters


@pytest.mark.parametrize("door", ["embed_documents", "aembed_documents", "embed_documents_array"])
async def test_every_door_sends_the_planned_requests(door: str) -> None:
    """40 texts of 30,000 characters with ``batch_size=40``: the requests the planner makes (under the
    400,000-character budget), as LlamaIndex's ``SIEEmbeddings`` and ``sie-integrations embed`` send them."""
    server = FakeSIE()
    model = SIEEmbeddings(model="m", batch_size=40, **server.connection())
    result = getattr(model, door)(LONG)
    vectors = await result if asyncio.iscoroutine(result) else result
    assert np.array_equal(np.asarray(vectors, dtype=np.float32), np.array([vector_of(t) for t in LONG], np.float32))
    assert sorted(server.encode_batches) == sorted(batch.items for batch in plan(LONG, 40))
    assert max(sum(map(len, batch)) for batch in server.encode_batches) <= 400_000
