"""SIEReranker against FakeSIE: copies of the documents, top_n, requests under the item limit."""

from __future__ import annotations

from langchain_core.documents import Document

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
