"""SIEReranker against FakeSIE: copies of the documents, top_n, requests under the item limit."""

from __future__ import annotations

from langchain_core.documents import Document

from sie_integrations._core.batches import plan
from sie_integrations.langchain import SIEReranker
from tests.fakes.sie import FakeSIE


def test_reranker_copies_documents_and_keeps_top_n() -> None:
    recorder = FakeSIE()
    docs = [Document(page_content=f"doc {i}", metadata={"i": i}) for i in range(5)]
    reranker = SIEReranker(model="m", base_url="http://sie.test", top_n=2, http_client=recorder.client())
    ranked = reranker.compress_documents(docs, "q")
    assert [d.metadata for d in ranked] == [{"i": 4, "relevance_score": 4.0}, {"i": 3, "relevance_score": 3.0}]
    assert all("relevance_score" not in d.metadata for d in docs)
    assert reranker.compress_documents([], "q") == []


def test_reranker_splits_above_the_item_limit() -> None:
    recorder = FakeSIE()
    reranker = SIEReranker(model="m", base_url="http://sie.test", top_n=None, http_client=recorder.client())
    ranked = reranker.rerank([f"d{i}" for i in range(1500)], "q")
    sizes = sorted(len(body["items"]) for body in recorder.bodies)
    assert sizes == [500, 1000]  # two requests, in flight at once: any order
    assert sorted(r["index"] for r in ranked) == list(range(1500))


def test_the_requests_are_the_planners() -> None:
    """1,500 candidates of mixed length: the score requests ``plan`` makes (1,000 at most, grouped by length), as
    LlamaIndex's reranker sends them."""
    texts = [f"doc {'x' * (i % 37)} {i}" for i in range(1500)]
    server = FakeSIE()
    ranked = SIEReranker(model="m", top_n=None, **server.connection()).rerank(texts, "q")
    assert sorted(r["index"] for r in ranked) == list(range(1500))
    assert [r["relevance_score"] for r in ranked[:3]] == [1499.0, 1498.0, 1497.0]  # scores back in input positions
    sent = sorted([item["text"] for item in body["items"]] for body in server.sent("score"))
    assert sent == sorted(batch.items for batch in plan(texts, 1000))
