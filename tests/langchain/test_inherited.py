"""What SIE's LangChain adapters get from LangChain by inheritance alone, checked by what reaches the server:
the chat model's ``cache`` (its own, and the global one of ``set_llm_cache``), ``rate_limiter`` and
``disable_streaming``; the completion model's ``cache``; ``CacheBackedEmbeddings`` and LangGraph's
``InMemoryStore`` index over ``SIEEmbeddings``. An upgrade of langchain-core, langchain-classic or langgraph that
breaks one of them fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_core.caches import InMemoryCache
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.messages import AIMessage
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.stores import InMemoryByteStore
from langchain_core.tools import tool
from langgraph.store.memory import InMemoryStore

from sie_integrations.langchain import SIELLM, SIEChatModel, SIEEmbeddings
from tests.fakes.chat import ChatServer, completion, delta, finish, sse
from tests.fakes.scripted import sync_or_async
from tests.fakes.sie import FakeSIE, vector_of

KEY = "sk-inherited-unit-secret-77"
MODES = ["sync", "async"]


def echo(body: dict[str, Any]) -> dict[str, Any]:
    """The fake chat answer: the last message's text and the temperature it was sent with."""
    return {"content": f"{body['messages'][-1]['content']} @ {body.get('temperature')}"}


def chat(server: FakeSIE, **kwargs: Any) -> SIEChatModel:
    return SIEChatModel(model="m", api_key=KEY, **server.connection(), **kwargs)


class CountingLimiter(InMemoryRateLimiter):
    """LangChain's rate limiter, fast, counting each time it is consulted (sync or async)."""

    def __init__(self) -> None:
        super().__init__(requests_per_second=1000, check_every_n_seconds=0.001, max_bucket_size=1000)
        self.acquired: list[str] = []

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired.append("sync")
        return super().acquire(blocking=blocking)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired.append("async")
        return await super().aacquire(blocking=blocking)


@pytest.fixture
def global_cache() -> Iterator[InMemoryCache]:
    """``set_llm_cache(InMemoryCache())`` for the test, then the global cache it found."""
    before = get_llm_cache()
    cache = InMemoryCache()
    set_llm_cache(cache)
    try:
        yield cache
    finally:
        set_llm_cache(before)


# --- the chat model's cache -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_cache_answers_a_repeated_invoke_without_a_request(mode: str) -> None:
    server = FakeSIE(chat=echo)
    cache = InMemoryCache()
    llm = chat(server, temperature=0.5, cache=cache)
    first = await sync_or_async(llm, "invoke", mode, "Hi")
    again = await sync_or_async(llm, "invoke", mode, "Hi")
    assert len(server.sent("chat")) == 1
    assert isinstance(again, AIMessage) and again.content == first.content == "Hi @ 0.5"
    assert again.response_metadata == first.response_metadata
    await sync_or_async(llm, "invoke", mode, "Hello")  # another prompt: sent
    assert [body["messages"][-1]["content"] for body in server.sent("chat")] == ["Hi", "Hello"]


def test_the_cache_key_holds_the_settings_and_not_the_key() -> None:
    """Two models sharing a cache share answers only when they would send the same request."""
    server = FakeSIE(chat=echo)
    cache = InMemoryCache()
    assert chat(server, temperature=0.5, cache=cache).invoke("Hi").content == "Hi @ 0.5"
    assert chat(server, temperature=0.5, cache=cache).invoke("Hi").content == "Hi @ 0.5"  # a twin: cached
    assert chat(server, temperature=0.9, cache=cache).invoke("Hi").content == "Hi @ 0.9"  # another setting: sent
    assert chat(server, temperature=0.5, cache=cache).invoke("Hi", stop=["x"]).content == "Hi @ 0.5"  # sent
    assert [body.get("temperature") for body in server.sent("chat")] == [0.5, 0.9, 0.5]
    assert server.sent("chat")[-1]["stop"] == ["x"]
    settings = [llm_string for _prompt, llm_string in cache._cache]
    assert len(settings) == 3 and all('"model": "m"' in s and '"base_url": "https://sie.test"' in s for s in settings)
    assert not any(KEY in s for s in settings)  # the key is a reference to SIE_API_KEY, never its value


async def test_set_llm_cache_is_used_unless_the_model_says_cache_false(global_cache: InMemoryCache) -> None:
    server = FakeSIE(chat=echo)
    cached = chat(server)
    assert cached.invoke("Hi").content == (await cached.ainvoke("Hi")).content == "Hi @ None"
    assert len(server.sent("chat")) == 1  # the async call found the sync call's answer
    uncached = chat(server, cache=False)
    uncached.invoke("Hi")
    await uncached.ainvoke("Hi")
    assert len(server.sent("chat")) == 3


def test_completion_model_cache_sends_each_prompt_once(global_cache: InMemoryCache) -> None:
    server = FakeSIE()
    llm = SIELLM(model="m", **server.connection())
    assert llm.invoke("Vector search is") == llm.invoke("Vector search is") == "ok"
    assert llm.batch(["Vector search is", "Rerankers are"]) == ["ok", "ok"]
    assert [body["prompt"] for body in server.sent("generate")] == ["Vector search is", "Rerankers are"]


# --- rate_limiter -----------------------------------------------------------------------------


def streamed_or_whole(request: httpx.Request) -> httpx.Response:
    """A stream when one is asked for, else a whole answer; a tool call when tools are sent."""
    body = json.loads(request.content)
    if body.get("stream"):
        return sse(delta(role="assistant", content="Cold"), delta(content=" day"), finish("stop"))
    if body.get("tools"):
        call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        return completion({"content": None, "tool_calls": [call]}, finish="tool_calls")
    return completion({"content": "Cold day"})


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limiter_is_consulted_once_per_request(mode: str) -> None:
    server = ChatServer(streamed_or_whole)
    limiter = CountingLimiter()
    llm = SIEChatModel(model="m", rate_limiter=limiter, **server.connection())
    await sync_or_async(llm, "invoke", mode, "Hi")
    assert (len(limiter.acquired), len(server.chats)) == (1, 1)
    await sync_or_async(llm, "batch", mode, ["a", "b", "c"])
    assert (len(limiter.acquired), len(server.chats)) == (4, 4)
    chunks = list(llm.stream("Hi")) if mode == "sync" else [chunk async for chunk in llm.astream("Hi")]
    assert "".join(str(c.content) for c in chunks) == "Cold day"
    assert (len(limiter.acquired), len(server.chats)) == (5, 5)
    assert server.chats[-1]["stream"] is True
    assert set(limiter.acquired) == {mode}


def test_a_cached_answer_does_not_wait_for_the_rate_limiter() -> None:
    server = ChatServer(streamed_or_whole)
    limiter = CountingLimiter()
    llm = SIEChatModel(model="m", rate_limiter=limiter, cache=InMemoryCache(), **server.connection())
    llm.invoke("Hi")
    llm.invoke("Hi")
    assert (len(limiter.acquired), len(server.chats)) == (1, 1)


# --- disable_streaming ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_disable_streaming_makes_stream_send_one_whole_request(mode: str) -> None:
    server = ChatServer(streamed_or_whole)
    llm = SIEChatModel(model="m", disable_streaming=True, **server.connection())
    chunks = list(llm.stream("Hi")) if mode == "sync" else [chunk async for chunk in llm.astream("Hi")]
    assert len(server.chats) == 1 and not server.chats[0].get("stream")
    assert "stream_options" not in server.chats[0]
    assert len(chunks) == 1 and isinstance(chunks[0], AIMessage) and chunks[0].content == "Cold day"  # invoke's
    assert chunks[0].response_metadata["finish_reason"] == "stop"
    assert chunks[0].usage_metadata is not None and chunks[0].usage_metadata["total_tokens"] == 10


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is cold in {city}."


def test_disable_streaming_tool_calling_streams_only_without_tools() -> None:
    server = ChatServer(streamed_or_whole)
    llm = SIEChatModel(model="m", disable_streaming="tool_calling", **server.connection())
    assert "".join(str(c.content) for c in llm.stream("Hi")) == "Cold day"
    assert server.chats[-1]["stream"] is True
    chunks = list(llm.bind_tools([get_weather]).stream("Weather in Oslo?"))
    assert not server.chats[-1].get("stream") and server.chats[-1]["tools"][0]["function"]["name"] == "get_weather"
    assert len(chunks) == 1
    assert [(c["name"], c["args"]) for c in chunks[0].tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert len(server.chats) == 2


# --- CacheBackedEmbeddings ----------------------------------------------------------------


def cached_embeddings(server: FakeSIE, store: InMemoryByteStore, namespace: str, **kwargs: Any) -> Any:
    embeddings = SIEEmbeddings(model=namespace, **server.connection())
    return CacheBackedEmbeddings.from_bytes_store(
        embeddings, store, namespace=namespace, key_encoder="sha256", **kwargs
    )


@pytest.mark.parametrize("mode", MODES)
async def test_cache_backed_embeddings_embed_each_text_once(mode: str) -> None:
    server = FakeSIE()
    store = InMemoryByteStore()
    cached = cached_embeddings(server, store, "m")
    first = await sync_or_async(cached, "embed_documents", mode, ["alpha", "beta"])
    second = await sync_or_async(cached, "embed_documents", mode, ["beta", "gamma", "alpha"])
    assert first == [vector_of("alpha"), vector_of("beta")]
    assert second == [vector_of("beta"), vector_of("gamma"), vector_of("alpha")]
    assert sorted(server.encoded) == ["alpha", "beta", "gamma"]
    assert all("options" not in body["params"] for body in server.sent("encode"))  # documents, not queries
    other = cached_embeddings(server, store, "other-model")  # another namespace: its own entries
    await sync_or_async(other, "embed_documents", mode, ["alpha"])
    assert [path.rsplit("/", 1)[-1] for path in server.paths()] == ["m", "m", "other-model"]


def test_queries_are_sent_as_queries_and_cached_only_when_asked() -> None:
    server = FakeSIE()
    plain = cached_embeddings(server, InMemoryByteStore(), "m")
    plain.embed_query("alpha")
    plain.embed_query("alpha")
    assert len(server.sent("encode")) == 2  # not cached by default
    queries = cached_embeddings(server, InMemoryByteStore(), "m", query_embedding_cache=InMemoryByteStore())
    assert queries.embed_query("alpha") == queries.embed_query("alpha") == vector_of("alpha")
    assert len(server.sent("encode")) == 3
    assert all(body["params"]["options"] == {"is_query": True} for body in server.sent("encode"))


# --- LangGraph's InMemoryStore with SIEEmbeddings as its index ----------------------------------------

WORDS = ("paris", "banana", "python")


def keywords(text: str) -> list[float]:
    """A vector that counts three words (plus a constant), so that meaning is easy to fake."""
    lowered = text.lower()
    return [float(lowered.count(word)) for word in WORDS] + [0.25]


ITEMS = {
    "eiffel": {"text": "The Eiffel Tower is in Paris.", "note": "python banana"},
    "fruit": {"text": "Bananas are rich in potassium.", "note": "paris"},
    "code": {"text": "Python is a programming language.", "note": "banana"},
}


def store_of(server: FakeSIE) -> InMemoryStore:
    embeddings = SIEEmbeddings(model="m", **server.connection())
    return InMemoryStore(index={"embed": embeddings, "dims": len(WORDS) + 1, "fields": ["text"]})


def test_langgraph_store_search_ranks_the_matching_item_first() -> None:
    server = FakeSIE(vector=keywords)
    store = store_of(server)
    for key, value in ITEMS.items():
        store.put(("docs",), key, value)
    hits = store.search(("docs",), query="What is the weather like in Paris?", limit=3)
    assert hits[0].key == "eiffel"
    assert hits[0].score is not None and hits[0].score > hits[1].score  # type: ignore[operator]
    assert hits[0].value == ITEMS["eiffel"]
    documents, query = server.sent("encode")[:-1], server.sent("encode")[-1]
    assert sorted(server.encoded[:-1]) == sorted(item["text"] for item in ITEMS.values())  # only "text"
    assert all("options" not in body["params"] for body in documents)
    assert query["params"]["options"] == {"is_query": True}
    assert [item["text"] for item in query["items"]] == ["What is the weather like in Paris?"]


async def test_langgraph_store_async_put_and_search() -> None:
    server = FakeSIE(vector=keywords)
    store = store_of(server)
    for key, value in ITEMS.items():
        await store.aput(("docs",), key, value)
    hits = await store.asearch(("docs",), query="how do I write python code", limit=2)
    assert hits[0].key == "code"
    assert len(hits) == 2
    assert server.sent("encode")[-1]["params"]["options"] == {"is_query": True}
    assert (await store.asearch(("docs",), query="bananas", limit=1))[0].key == "fruit"
    assert len(server.sent("encode")) == len(ITEMS) + 2  # one put, one request
