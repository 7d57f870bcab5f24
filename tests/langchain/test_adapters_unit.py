"""LangChain adapters offline: request shapes through an httpx.MockTransport, secrets, the import guard."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from langchain_core.documents import Document

from sie_integrations.langchain import SIEEmbeddings, SIEReranker, SIESparseEncoder

KEY = "sk-unit-secret-123456"


class Recorder:
    """An httpx.MockTransport handler that answers encode and score requests and records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if "/v1/score/" in request.url.path:
            n = len(body["items"])
            scores = [{"item_id": f"item-{i}", "score": float(i), "rank": n - 1 - i} for i in reversed(range(n))]
            return httpx.Response(200, json={"model": "m", "scores": scores})
        items = [
            {
                "dense": {"dims": 2, "dtype": "float32", "values": [float(len(item["text"])), 1.0]},
                "sparse": {"dims": 9, "dtype": "float32", "indices": [1, 5], "values": [0.5, 0.25]},
            }
            for item in body["items"]
        ]
        return httpx.Response(200, json={"model": "m", "items": items})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _http(recorder: Recorder) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(recorder))


def _json_body(request: httpx.Request) -> dict[str, object]:
    return json.loads(request.content)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _json_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send JSON so the MockTransport can read bodies; msgpack is covered by the client's own tests."""
    from sie_integrations._adapters import connection as _connection
    from sie_integrations._http.options import ClientOptions

    original = _connection.SIEConnection.client_options

    def args(self: _connection.SIEConnection) -> ClientOptions:
        return original(self).model_copy(update={"wire_format": "json"})

    monkeypatch.setattr(_connection.SIEConnection, "client_options", args)


def test_embed_documents_batches_in_order(recorder: Recorder) -> None:
    texts = ["a" * n for n in range(1, 11)]
    emb = SIEEmbeddings(
        model="m", base_url="http://sie.test", batch_size=3, max_concurrency=2, http_client=_http(recorder)
    )
    vectors = emb.embed_documents(texts)
    assert [v[0] for v in vectors] == [float(n) for n in range(1, 11)]
    assert sorted(len(_json_body(r)["items"]) for r in recorder.requests) == [1, 3, 3, 3]  # type: ignore[arg-type]


def test_embed_query_sends_is_query_and_empty_sends_nothing(recorder: Recorder) -> None:
    emb = SIEEmbeddings(model="m", base_url="http://sie.test", instruction="find it", http_client=_http(recorder))
    assert emb.embed_documents([]) == []
    assert recorder.requests == []
    assert emb.embed_query("hello") == [5.0, 1.0]
    params = _json_body(recorder.requests[0])["params"]
    assert params == {"output_types": ["dense"], "instruction": "find it", "options": {"is_query": True}}


def test_sparse_encoder_returns_pinecone_shape(recorder: Recorder) -> None:
    enc = SIESparseEncoder(model="m", base_url="http://sie.test", http_client=_http(recorder))
    assert enc.encode_documents("x") == {"indices": [1, 5], "values": [0.5, 0.25]}
    assert enc.encode_queries(["x", "y"]) == [{"indices": [1, 5], "values": [0.5, 0.25]}] * 2
    assert _json_body(recorder.requests[1])["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}


def test_reranker_copies_documents_and_keeps_top_n(recorder: Recorder) -> None:
    docs = [Document(page_content=f"doc {i}", metadata={"i": i}) for i in range(5)]
    reranker = SIEReranker(model="m", base_url="http://sie.test", top_n=2, http_client=_http(recorder))
    ranked = reranker.compress_documents(docs, "q")
    assert [d.metadata for d in ranked] == [{"i": 4, "relevance_score": 4.0}, {"i": 3, "relevance_score": 3.0}]
    assert all("relevance_score" not in d.metadata for d in docs)
    assert reranker.compress_documents([], "q") == []


def test_reranker_splits_above_the_item_limit(recorder: Recorder) -> None:
    reranker = SIEReranker(model="m", base_url="http://sie.test", top_n=None, http_client=_http(recorder))
    ranked = reranker.rerank([f"d{i}" for i in range(1500)], "q")
    sizes = sorted(len(_json_body(r)["items"]) for r in recorder.requests)  # type: ignore[arg-type]
    assert sizes == [500, 1000]  # two requests, in flight at once: any order
    assert sorted(r["index"] for r in ranked) == list(range(1500))


def test_api_key_is_secret_everywhere(recorder: Recorder) -> None:
    emb = SIEEmbeddings(model="m", base_url="https://sie.test", api_key=KEY, http_client=_http(recorder))
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


def test_import_without_langchain_names_the_extra() -> None:
    code = "import sys; sys.modules['langchain_core'] = None\nimport sie_integrations.langchain\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install 'sie-integrations[langchain]'" in result.stderr
