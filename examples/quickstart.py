"""Quickstart: search, rerank, extract and chat with the SIE client.

Runs live against ``SIE_BASE_URL`` (default ``http://localhost:8080``) when a server answers there;
otherwise it replays a session recorded from the real SIE peer, and says so on its first line.
``--record`` re-records that session from the peer on ``http://127.0.0.1:18080``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sie_integrations import SIEClient, SIEError

RECORDED_URL = "http://127.0.0.1:18080"
CASSETTE = Path(__file__).resolve().parent.parent / "cassettes" / "quickstart.yaml"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
DOCS = [
    "SIE serves embeddings, rerankers, extractors and chat models from one server.",
    "The Eiffel Tower in Paris was finished in 1889.",
    "Sparse vectors store a weight for a few vocabulary terms.",
    "A reranker scores each document against the query with a cross-encoder.",
    "Croissants are a buttery pastry popular in France.",
    "Paris usually has mild summers, around 25 degrees Celsius.",
]
QUERY = "What is the weather like in Paris?"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def get_weather(city: str) -> dict[str, object]:
    """A stand-in tool: the weather of a city."""
    return {"city": city, "temp_c": 21, "sky": "clear"}


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
    with SIEClient(url) as sie:
        models = sie.list_models()
        print(f"\n1. The server serves {len(models)} models, among them {EMBEDDER}.")

        vectors = np.stack([r.dense for r in sie.encode(EMBEDDER, DOCS)])  # type: ignore[misc]
        query = sie.encode(EMBEDDER, [QUERY], is_query=True)[0].dense
        similarity = vectors @ query
        top = np.argsort(-similarity)[:3]
        print(f"\n2. Dense search with {EMBEDDER} for {QUERY!r}:")
        for i in top:
            print(f"   {similarity[i]:.3f}  {DOCS[i]}")

        ranked = sie.score("sie-fake", QUERY, [DOCS[i] for i in top])
        print("\n3. Rerank of those three with /v1/score (sie-fake: deterministic, not meaningful scores):")
        for entry in ranked:
            print(f"   rank {entry.rank}: score {entry.score:.3f}  {DOCS[top[entry.index]]}")

        extracted = sie.extract("sie-fake-full", [DOCS[1]], labels=["city", "date"])[0]
        print(f"\n4. Extraction from {DOCS[1]!r} (sie-fake-full):")
        for entity in extracted.entities:
            print(f"   {entity.label:>5}: {entity.text!r} [{entity.start}:{entity.end}] score {entity.score:.2f}")

        messages: list[dict[str, object]] = [{"role": "user", "content": QUERY}]
        answer = sie.chat_completions({"model": "tiny-tools", "messages": messages, "tools": [WEATHER_TOOL]})
        call = (answer.choices[0].message.tool_calls or [])[0]
        result = get_weather(**json.loads(call.function.arguments))
        print(f"\n5. tiny-tools asked for a tool: {call.function.name}({call.function.arguments}) -> {result}")
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
        ]
        print("   Streaming the final answer (tiny-chat-rendered): ", end="")
        usage = None
        for chunk in sie.stream_chat_completions(
            {"model": "tiny-chat-rendered", "messages": messages, "stream_options": {"include_usage": True}}
        ):
            usage = chunk.usage or usage
            for choice in chunk.choices:
                print(choice.delta.content or "", end="", flush=True)
        if usage is not None:
            print(f"\n   tokens: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion")


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
            "To run live, start one (../shared/peer/setup.sh && ../shared/peer/start.sh) "
            "and run: SIE_BASE_URL=http://127.0.0.1:18080 ./dev quickstart"
        )
        with replaying(record=False):
            run(RECORDED_URL)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
