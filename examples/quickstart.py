"""Quickstart: a small RAG and agent flow with the LangChain adapters for SIE.

Embeds a few documents with ``SIEEmbeddings`` into LangChain's in-memory vector store, retrieves,
reranks with ``SIEReranker``, extracts entities with ``SIEExtractor``, then lets ``SIEChatModel``
call a tool and answer.

With ``SIE_BASE_URL`` set, it runs live against that server, and fails with a clear message if
nothing answers there. Without it, it runs live against ``http://localhost:8080`` when a server
answers there, and otherwise replays a session recorded from the real SIE server, saying so on its
first line.
"""

from __future__ import annotations

import argparse
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

DEFAULT_URL = "http://localhost:8080"
RECORDED_URL = "http://127.0.0.1:18080"
CASSETTE = Path(__file__).resolve().parent.parent / "cassettes" / "quickstart.yaml"
SERVER_DOCS = "docs/server.md"
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
def get_weather(location: str) -> str:
    """Get the current weather at a location."""
    return f"Sunny, 24 degrees Celsius in {location}."


def unreachable(url: str) -> str | None:
    """Why no SIE server answers at ``url``, or None when one does."""
    try:
        with SIEClient(url, timeout=3.0, max_retries=0) as probe:
            health = probe.health()
    except SIEError as exc:
        return str(exc)
    return None if health.ok else f"{url} answered its health check with {health!r}"


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


# For each step, the models to use, best first: real ones where the server has them, else the test server's.
RERANKERS = ["BAAI/bge-reranker-v2-m3", "cross-encoder/ms-marco-MiniLM-L-6-v2", "sie-fake"]
EXTRACTORS = ["urchade/gliner_multi-v2.1", "urchade/gliner_small-v2.1", "sie-fake-full"]
AGENTS = ["Qwen/Qwen3-4B-Instruct-2507", "tiny-agent"]
TEST_MODELS = {
    "sie-fake": "deterministic scores that carry no meaning",
    "sie-fake-full": "made-up spans that carry no meaning",
    "tiny-agent": "a scripted test model",
}


def pick(served: set[str], wanted: list[str]) -> str | None:
    """The first of ``wanted`` that the server serves."""
    return next((name for name in wanted if name in served), None)


def about(model: str) -> str:
    """The model's name, and a warning when it is a test model with meaningless output."""
    return f"{model}, {TEST_MODELS[model]}" if model in TEST_MODELS else model


def skipped(step: str, wanted: list[str]) -> None:
    print(
        f"\n{step}: skipped, the server serves none of {', '.join(wanted)} (sie-integrations doctor lists its models)."
    )


def run(url: str) -> None:
    with SIEClient(url) as sie:
        served = {model.name for model in sie.list_models()}
    if EMBEDDER not in served:
        raise SystemExit(
            f"error: the server at {url} does not serve {EMBEDDER}, which the quickstart needs; see {SERVER_DOCS}"
        )

    print(f"\n1. Embed {len(DOCS)} documents with {EMBEDDER} into an in-memory vector store.")
    store = InMemoryVectorStore(SIEEmbeddings(model=EMBEDDER, base_url=url))
    store.add_documents([Document(page_content=text, metadata={"doc": i}) for i, text in enumerate(DOCS)])

    print(f"\n2. Retrieve for: {QUESTION!r}")
    hits = store.similarity_search_with_score(QUESTION, k=4)
    for doc, score in hits:
        print(f"   {score:.3f}  {doc.page_content}")
    docs = [doc for doc, _ in hits]

    reranker = pick(served, RERANKERS)
    if reranker is None:
        skipped("3. Rerank", RERANKERS)
    else:
        print(f"\n3. Rerank with SIEReranker ({about(reranker)}):")
        docs = SIEReranker(model=reranker, base_url=url, top_n=2).compress_documents(docs, QUESTION)
        for doc in docs:
            print(f"   {doc.metadata['relevance_score']:.3f}  {doc.page_content}")

    extractor = pick(served, EXTRACTORS)
    best = hits[0][0].page_content
    if extractor is None:
        skipped("4. Extract", EXTRACTORS)
    else:
        print(f"\n4. Entities in {best!r} (SIEExtractor on {about(extractor)}):")
        found = SIEExtractor(model=extractor, labels=["city", "temperature"], base_url=url).invoke({"text": best})
        for entity in found["entities"]:
            where = f"[{entity['start']}:{entity['end']}]"
            print(f"   {entity['label']:>11}: {entity['text']!r} {where} {entity['score']:.2f}")

    agent_model = pick(served, AGENTS)
    if agent_model is None:
        skipped("5. Agent turn", AGENTS)
        return
    print(f"\n5. An agent turn with SIEChatModel on {about(agent_model)}: a tool call, then the answer.")
    context = "\n".join(f"- {doc.page_content}" for doc in docs)
    messages = [
        SystemMessage(f"Answer from this context and the tools:\n{context}"),
        HumanMessage(QUESTION),
    ]
    agent = SIEChatModel(model=agent_model, base_url=url, max_tokens=256).bind_tools([get_weather])
    ai = agent.invoke(messages)
    messages.append(ai)
    for call in ai.tool_calls:
        result = get_weather.invoke(call)
        print(f"   tool call: {call['name']}({call['args']}) -> {result.content}")
        messages.append(result)
    print("   answer (streamed): ", end="", flush=True)
    final = None
    for chunk in agent.stream(messages):
        print(chunk.content, end="", flush=True)
        final = chunk if final is None else final + chunk
    usage = final.usage_metadata if final is not None else None
    if usage:
        print(f"\n   tokens: {usage['input_tokens']} in, {usage['output_tokens']} out")
    if {reranker, extractor, agent_model} & TEST_MODELS.keys():
        print(f"\n(Test models were used where the server has no real one; {SERVER_DOCS} names real ones.)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./dev quickstart",
        description=(
            "Search, rerank, extract and a tool-calling chat turn through the LangChain adapters. "
            f"Runs live against SIE_BASE_URL (a clear error if nothing answers there); without it, "
            f"against {DEFAULT_URL} if a server answers, else a replay of a recorded session."
        ),
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--replay", action="store_true", help="replay the recorded session without looking for a server")
    modes.add_argument("--record", action="store_true", help=f"re-record the session from the server at {RECORDED_URL}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    given = os.environ.get("SIE_BASE_URL", "").strip().rstrip("/")
    if args.record:
        print(f"Mode: recording a new session from {RECORDED_URL} into {CASSETTE.name}")
        with replaying(record=True):
            run(RECORDED_URL)
        return 0
    if not args.replay:
        url = given or DEFAULT_URL
        problem = unreachable(url)
        if problem is None:
            print(f"Mode: live against {url}")
            run(url)
            return 0
        if given:
            print(
                f"error: SIE_BASE_URL is {given}, but no SIE server answers there:\n  {problem}\n"
                f"Check the host and port (sie-integrations doctor --base-url {given}), start a server "
                f"({SERVER_DOCS}), or unset SIE_BASE_URL to replay the recorded session.",
                file=sys.stderr,
            )
            return 1
    reason = "--replay" if args.replay else f"SIE_BASE_URL is not set and no server answers at {DEFAULT_URL}"
    print(
        f"Mode: replay of a session recorded from the real SIE server ({reason}). "
        f"To run live, start a server ({SERVER_DOCS}) and set SIE_BASE_URL."
    )
    with replaying(record=False):
        run(RECORDED_URL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
