"""What SIE's LangChain adapters get from LangChain by inheritance, against the real SIE peer (live), replayed
from cassettes by default: the chat model's ``cache`` (its own and ``set_llm_cache``), ``rate_limiter`` and
``disable_streaming`` on tiny-agent (which answers "It is sunny in Paris today." when it has no tools);
``CacheBackedEmbeddings`` and a LangGraph ``InMemoryStore`` index over MiniLM, where meaning decides the ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_core.caches import InMemoryCache
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.stores import InMemoryByteStore
from langgraph.store.memory import InMemoryStore

from sie_integrations.langchain import SIEChatModel, SIEEmbeddings
from tests.support.live import FACTS, LIVE_API_KEY, MINILM
from tests.support.sent import Sent, body

pytestmark = [pytest.mark.live, pytest.mark.vcr]

SUNNY = "It is sunny in Paris today."
CHAT = "/v1/chat/completions"
DOCS = FACTS


def agent(sie_url: str, sent: Sent, **kwargs: Any) -> SIEChatModel:
    settings = {"max_tokens": 16, **kwargs}
    return SIEChatModel(model="tiny-agent", base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection(), **settings)


class CountingLimiter(InMemoryRateLimiter):
    """LangChain's rate limiter, fast, counting each time it is consulted."""

    def __init__(self) -> None:
        super().__init__(requests_per_second=1000, check_every_n_seconds=0.001, max_bucket_size=1000)
        self.acquired = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return super().acquire(blocking=blocking)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return await super().aacquire(blocking=blocking)


async def test_cache_answers_again_without_a_request(sie_url: str) -> None:
    sent = Sent()
    llm = agent(sie_url, sent, cache=InMemoryCache())
    first = llm.invoke("Hi")
    assert first.content == SUNNY and len(sent.to(CHAT)) == 1
    again = llm.invoke("Hi")
    also = await llm.ainvoke("Hi")
    assert again.content == also.content == SUNNY
    assert again.response_metadata == first.response_metadata
    assert len(sent.to(CHAT)) == 1


async def test_set_llm_cache_serves_every_model_with_the_same_settings(sie_url: str) -> None:
    before = get_llm_cache()
    set_llm_cache(InMemoryCache())
    try:
        sent = Sent()
        assert (await agent(sie_url, sent).ainvoke("Hi")).content == SUNNY
        assert agent(sie_url, sent).invoke("Hi").content == SUNNY  # another object, the same settings: cached
        assert agent(sie_url, sent, cache=False).invoke("Hi").content == SUNNY  # opted out: sent
        assert agent(sie_url, sent, max_tokens=12).invoke("Hi").content.startswith("It is sunny")  # other settings
        assert [body(request)["max_tokens"] for request in sent.to(CHAT)] == [16, 16, 12]
    finally:
        set_llm_cache(before)


async def test_rate_limiter_is_consulted_once_per_request(sie_url: str) -> None:
    sent, limiter = Sent(), CountingLimiter()
    llm = agent(sie_url, sent, rate_limiter=limiter)
    assert llm.invoke("Hi").content == SUNNY
    assert "".join(str(chunk.content) for chunk in llm.stream("Hi")) == SUNNY
    assert [message.content for message in await llm.abatch(["Hi", "Hello"])] == [SUNNY, SUNNY]
    assert (limiter.acquired, len(sent.to(CHAT))) == (4, 4)


async def test_disable_streaming_sends_one_whole_request(sie_url: str) -> None:
    sent = Sent()
    streaming = agent(sie_url, sent)
    chunks = list(streaming.stream("Hi"))
    assert len(chunks) > 2 and "".join(str(chunk.content) for chunk in chunks) == SUNNY
    assert body(sent.to(CHAT)[-1])["stream"] is True
    whole = agent(sie_url, sent, disable_streaming=True)
    (chunk,) = list(whole.stream("Hi"))
    (achunk,) = [c async for c in whole.astream("Hi")]
    assert chunk.content == achunk.content == SUNNY
    assert chunk.usage_metadata is not None and chunk.usage_metadata["output_tokens"] > 0
    assert [body(request).get("stream") for request in sent.to(CHAT)[1:]] == [None, None]


async def test_cache_backed_embeddings_embed_each_text_once(sie_url: str) -> None:
    sent = Sent()
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection())
    cached = CacheBackedEmbeddings.from_bytes_store(
        embeddings, InMemoryByteStore(), namespace=MINILM, key_encoder="sha256"
    )
    first = cached.embed_documents(DOCS[:3])
    every = await cached.aembed_documents(DOCS)
    assert sorted(text for texts in sent.encoded() for text in texts) == sorted(DOCS)  # each text once
    assert len(sent.encoded()) == 2 and sorted(sent.encoded()[1]) == sorted(DOCS[3:])
    direct = SIEEmbeddings(model=MINILM, base_url=sie_url).embed_documents(DOCS)
    np.testing.assert_allclose(np.array(every), np.array(direct), atol=1e-6)
    assert every[:3] == first


async def test_langgraph_store_search_ranks_by_meaning(sie_url: str) -> None:
    sent = Sent()
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection())
    store = InMemoryStore(index={"embed": embeddings, "dims": 384, "fields": ["text"]})
    for number, text in enumerate(DOCS):
        store.put(("docs",), f"d{number}", {"text": text, "number": number})
    hits = store.search(("docs",), query="What is the weather like in Paris?", limit=3)
    assert hits[0].value["text"] == "Paris has mild summers."
    assert hits[0].score is not None and hits[1].score is not None and hits[0].score > hits[1].score
    found = await store.asearch(("docs",), query="Which fruit is a good source of potassium?", limit=2)
    assert found[0].key == "d1" and found[0].value == {"text": DOCS[1], "number": 1}
    queries = [request for request in sent.bodies("/v1/encode") if "options" in request["params"]]
    assert [(q["items"][0]["text"], q["params"]["options"]) for q in queries] == [
        ("What is the weather like in Paris?", {"is_query": True}),
        ("Which fruit is a good source of potassium?", {"is_query": True}),
    ]
