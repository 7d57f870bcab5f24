"""One LlamaIndex LLM call made each of the four ways (sync or async, whole or streamed), for tests that check a
behaviour holds whichever way a user calls."""

from __future__ import annotations

from typing import Any

COMPLETE = ["complete", "acomplete", "stream_complete", "astream_complete"]


async def completed(llm: Any, how: str, prompt: str = "hi") -> str:
    """The text of ``llm``'s completion of ``prompt`` made the ``how`` way (one of ``COMPLETE``)."""
    if how == "complete":
        return str(llm.complete(prompt).text)
    if how == "acomplete":
        return str((await llm.acomplete(prompt)).text)
    if how == "stream_complete":
        return str([r.text for r in llm.stream_complete(prompt)][-1])
    return str([r.text async for r in await llm.astream_complete(prompt)][-1])
