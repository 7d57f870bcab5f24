"""ChunkReader: a chat stream's metadata and first-choice deltas, before any framework."""

from __future__ import annotations

from typing import Any

from sie_integrations._adapters.chunks import ChunkReader
from sie_integrations.chat import ChatCompletionChunk


def chunk(choices: list[dict[str, Any]], **fields: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {"id": "", "object": "chat.completion.chunk", "created": 1, "model": "", "choices": choices, **fields}
    )


def choice(index: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish}


def test_metadata_is_kept_across_the_stream() -> None:
    reader = ChunkReader("requested")
    assert reader.feed(chunk([choice(role="assistant")], id="c1", model="served")) is None  # nothing to show
    assert (reader.id, reader.model) == ("c1", "served")
    assert reader.feed(chunk([choice(content="Hi")], id="c2")) is not None
    assert reader.id == "c1"  # the first id stays
    assert reader.feed(chunk([choice(finish="stop")])) is None
    assert reader.feed(chunk([], usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})) is None
    assert reader.finish_reason == "stop" and reader.usage is not None and reader.usage.total_tokens == 4
    assert reader.model == "served"


def test_deltas_of_the_first_choice_only() -> None:
    reader = ChunkReader("m")
    assert reader.feed(chunk([choice(1, content="other choice")])) is None
    delta = reader.feed(chunk([choice(content="a", reasoning_content="think")]))
    assert delta is not None and (delta.content, delta.reasoning, delta.fragments) == ("a", "think", [])
    call = {"index": 0, "id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"x"'}}
    delta = reader.feed(chunk([choice(tool_calls=[call])]))
    assert delta is not None and delta.content == "" and delta.reasoning == ""
    assert [(f.index, f.id, f.name, f.arguments) for f in delta.fragments] == [(0, "t1", "f", '{"x"')]
