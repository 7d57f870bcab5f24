"""Quickstart: a small RAG and agent flow with the LangChain adapters for SIE.

Embeds a few documents with ``SIEEmbeddings`` into LangChain's in-memory vector store, retrieves,
reranks with ``SIEReranker``, extracts entities with ``SIEExtractor``, then answers through
``SIEChatModel`` with one tool call.

Runs live against ``SIE_BASE_URL`` (default ``http://localhost:8080``) when a server answers there;
otherwise it replays a session recorded from the real SIE peer, and says so on its first line.
``--record`` re-records that session from the peer on ``http://127.0.0.1:18080``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore

from sie_integrations import SIEClient, SIEError
from sie_integrations.langchain import SIEChatModel, SIEEmbeddings, SIEExtractor, SIEReranker

RECORDED_URL = "http://127.0.0.1:18080"
CASSETTE = Path(__file__).resolve().parent.parent / "cassettes" / "quickstart.yaml"
START_SERVER = (
    "../shared/peer/setup.sh && ../shared/peer/start.sh, then: SIE_BASE_URL=http://127.0.0.1:18080 ./dev quickstart"
)
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"  # the peer's one real model
QUESTION = "What is the weather like in Paris in summer?"
DOCS = [
    "SIE serves embeddings, rerankers, extractors and chat models from one server.",
    "The Eiffel Tower in Paris was finished in 1889 for the World's Fair.",
    "Paris usually has mild summers, around 25 degrees Celsius, with occasional heat waves.",
    "Sparse vectors store a weight for a few vocabulary terms.",
    "A reranker scores each document against the query with a cross-encoder.",
    "Croissants are a buttery pastry popular in France.",
    "London summers are cooler than Paris summers and often rainy.",
    "Alice Martin leads the Paris office of Example Corp.",
]


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 24 degrees Celsius in {city}."


def server_answers(url: str) -> bool:
    try:
        with SIEClient(url, timeout=3.0, max_retries=0) as probe:
            return probe.health().ok
    except SIEError:
        return False


@contextlib.contextmanager
def replaying(record: bool) -> Iterator[None]:
    import vcr

    recorder = vcr.VCR(
        record_mode="all" if record else "none",
        match_on=["method", "scheme", "host", "port", "path", "query", "body"],
        filter_headers=["authorization"],
        decode_compressed_response=True,
    )
    with recorder.use_cassette(str(CASSETTE)):
        yield


def run(url: str) -> None:
    print(f"\n1. Embed {len(DOCS)} documents with {EMBEDDER} into an in-memory vector store.")
    store = InMemoryVectorStore(SIEEmbeddings(model=EMBEDDER, base_url=url))
    store.add_documents([Document(page_content=text, metadata={"doc": i}) for i, text in enumerate(DOCS)])

    print(f"\n2. Retrieve for: {QUESTION!r}")
    hits = store.similarity_search_with_score(QUESTION, k=4)
    for doc, score in hits:
        print(f"   {score:.3f}  {doc.page_content}")

    print("\n3. Rerank with SIEReranker (sie-fake: deterministic scores that carry no meaning):")
    reranked = SIEReranker(model="sie-fake", base_url=url, top_n=2).compress_documents(
        [doc for doc, _ in hits], QUESTION
    )
    for doc in reranked:
        print(f"   {doc.metadata['relevance_score']:.3f}  {doc.page_content}")

    best = hits[0][0].page_content
    print(f"\n4. Entities in {best!r} (SIEExtractor on sie-fake-full):")
    extraction = SIEExtractor(model="sie-fake-full", labels=["city", "temperature"], base_url=url).invoke(
        {"text": best}
    )
    for entity in extraction["entities"]:
        print(f"   {entity['label']:>11}: {entity['text']!r} [{entity['start']}:{entity['end']}] {entity['score']:.2f}")

    print("\n5. Answer with SIEChatModel and one tool call.")
    context = "\n".join(f"- {doc.page_content}" for doc in reranked)
    messages = [
        SystemMessage(f"Answer from this context and the tools:\n{context}"),
        HumanMessage(QUESTION),
    ]
    caller = SIEChatModel(model="tiny-tools", base_url=url, max_tokens=32).bind_tools([get_weather])
    ai = caller.invoke(messages)
    for call in ai.tool_calls:
        result = get_weather.invoke(call)
        print(f"   tool call: {call['name']}({call['args']}) -> {result.content}")
        messages += [ai, result]
    answerer = SIEChatModel(model="tiny-chat-rendered", base_url=url, max_tokens=32)
    print("   answer (streamed): ", end="", flush=True)
    final = None
    for chunk in answerer.stream(messages):
        print(chunk.content, end="", flush=True)
        final = chunk if final is None else final + chunk
    usage = final.usage_metadata if final is not None else None
    if usage:
        print(f"\n   tokens: {usage['input_tokens']} in, {usage['output_tokens']} out")
    print(
        "\n(tiny-tools and tiny-chat are scripted CPU test models;"
        " point SIE_BASE_URL at a GPU server for real answers.)"
    )


def main() -> int:
    record = "--record" in sys.argv[1:]
    url = RECORDED_URL if record else os.environ.get("SIE_BASE_URL", "http://localhost:8080").rstrip("/")
    if record:
        print(f"Mode: recording a new session from {url} into {CASSETTE.name}")
        with replaying(record=True):
            run(url)
    elif server_answers(url):
        print(f"Mode: live against {url}")
        run(url)
    else:
        print(
            f"Mode: replay of a session recorded from the real SIE peer (no SIE server answered at {url}). "
            f"To run live, start one: {START_SERVER}"
        )
        with replaying(record=False):
            run(RECORDED_URL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
