"""What SIE's LlamaIndex adapters get from llama-index-core by inheritance, against the real SIE peer (live),
replayed from cassettes by default: the embeddings' ``embeddings_cache``, one ``rate_limiter`` shared by the
embeddings and the chat model (tiny-agent answers "It is sunny in Paris today." when it has no tools), and an
``IngestionPipeline`` run in two worker processes (live only: the workers' requests leave the recorder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import llama_index.core
import numpy as np
import pytest
from llama_index.core import Document
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.rate_limiter import TokenBucketRateLimiter
from llama_index.core.storage.kvstore import SimpleKVStore

from sie_integrations.llama_index import SIEChatModel, SIEEmbeddings
from tests.support.live import FACTS, LIVE_API_KEY, MINILM
from tests.support.sent import Sent

SUNNY = "It is sunny in Paris today."
TEXTS = FACTS


class CountingLimiter(TokenBucketRateLimiter):
    """LlamaIndex's rate limiter, with room for every request of a test, counting each time it is consulted."""

    acquired: int = 0

    def acquire(self, num_tokens: int = 0) -> None:
        self.acquired += 1
        super().acquire(num_tokens)

    async def async_acquire(self, num_tokens: int = 0) -> None:
        self.acquired += 1
        await super().async_acquire(num_tokens)


def minilm(sie_url: str, sent: Sent, **kwargs: Any) -> SIEEmbeddings:
    return SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection(), **kwargs)


@pytest.mark.live
@pytest.mark.vcr
async def test_embeddings_cache_sends_each_text_once(sie_url: str) -> None:
    sent = Sent()
    embeddings = minilm(sie_url, sent, embeddings_cache=SimpleKVStore())
    first = embeddings.get_text_embedding_batch(TEXTS[:3])
    every = await embeddings.aget_text_embedding_batch(TEXTS)
    assert embeddings.get_text_embedding(TEXTS[4]) == every[4]
    assert [sorted(texts) for texts in sent.encoded()] == [sorted(TEXTS[:3]), sorted(TEXTS[3:])]
    assert every[:3] == first
    direct = SIEEmbeddings(model=MINILM, base_url=sie_url).get_text_embedding_batch(TEXTS)
    np.testing.assert_allclose(np.array(every), np.array(direct), atol=1e-6)


@pytest.mark.live
@pytest.mark.vcr
async def test_one_rate_limiter_for_embeddings_and_chat(sie_url: str) -> None:
    """LlamaIndex's pattern: one limiter for every model behind one endpoint; it is consulted once a request."""
    sent, limiter = Sent(), CountingLimiter(requests_per_minute=1000)
    embeddings = minilm(sie_url, sent, embed_batch_size=2, rate_limiter=limiter)
    llm = SIEChatModel(
        model="tiny-agent",
        base_url=sie_url,
        api_key=LIVE_API_KEY,
        max_tokens=16,
        rate_limiter=limiter,
        **sent.connection(),
    )
    assert len(embeddings.get_text_embedding_batch(TEXTS)) == 5
    assert len(await embeddings.aget_query_embedding("Where is the Eiffel Tower?")) == 384
    assert (limiter.acquired, len(sent)) == (4, 4)  # batches of 2, 2 and 1, then the query
    assert llm.chat([ChatMessage(role="user", content="Hi")]).message.content == SUNNY
    assert (await llm.acomplete("Hi")).text == SUNNY
    assert [r.message.content for r in llm.stream_chat([ChatMessage(role="user", content="Hi")])][-1] == SUNNY
    assert (limiter.acquired, len(sent.to("/v1/chat/completions"))) == (7, 3)


@pytest.mark.live
def test_ingestion_pipeline_with_two_worker_processes(
    sie_url: str, live: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transformations are pickled into two spawned processes, which send from there: nothing a cassette can
    record or replay, so this runs only against a server (``./dev live``, ``./dev record``)."""
    if not live:
        pytest.skip("live only: IngestionPipeline(num_workers=2) sends from worker processes, which no cassette sees")
    # The splitter's tokenizer is unpickled in each worker; tiktoken reads its file from here, not the network.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(Path(llama_index.core.__file__).parent / "_static/tiktoken_cache"))
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, embed_batch_size=2)
    documents = [Document(text=text) for text in TEXTS]
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), embeddings], disable_cache=True
    )
    nodes = pipeline.run(documents=documents, num_workers=2)
    assert sorted(node.get_content() for node in nodes) == sorted(TEXTS)
    by_text = dict(zip(TEXTS, embeddings.get_text_embedding_batch(TEXTS), strict=True))
    for node in nodes:
        assert node.embedding is not None
        np.testing.assert_allclose(node.embedding, by_text[node.get_content()], atol=1e-6)
