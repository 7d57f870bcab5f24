"""SIESparseEncoder against FakeSIE: the shape Pinecone's hybrid retriever takes."""

from __future__ import annotations

from sie_integrations.langchain import SIESparseEncoder
from tests.fakes.sie import FakeSIE


def test_sparse_encoder_returns_pinecone_shape() -> None:
    recorder = FakeSIE(sparse=lambda text: ([1, 5], [0.5, 0.25]))
    enc = SIESparseEncoder(model="m", base_url="http://sie.test", http_client=recorder.client())
    assert enc.encode_documents("x") == {"indices": [1, 5], "values": [0.5, 0.25]}
    assert enc.encode_queries(["x", "y"]) == [{"indices": [1, 5], "values": [0.5, 0.25]}] * 2
    assert recorder.bodies[1]["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}
