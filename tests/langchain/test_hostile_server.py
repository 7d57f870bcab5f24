"""LangChain ``SIEChatModel`` over a real socket, against ``HostileServer``: a stream that stalls ends in a
typed timeout after the text that came, and is not re-sent."""

from __future__ import annotations

import pytest
from langchain_core import exceptions as lc_exceptions

from sie_integrations import SIETimeoutError
from sie_integrations.langchain import SIEChatModel
from tests.fakes.hostile import HostileServer, sse
from tests.fakes.scripted import CHAT_CHUNKS, CHAT_MODEL

pytestmark = pytest.mark.usefixtures("sie_env_cleared")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_stream_that_stalls_raises_a_timeout_after_the_text_so_far(mode: str, hostile: HostileServer) -> None:
    """``SIEChatModel(stream_chunk_timeout=0.2).stream()`` on a stream that stalls after "Cold": the content
    chunk arrives, then SIETimeoutError (also LangChain's ModelTimeoutError); one request."""
    hostile.script(sse(*CHAT_CHUNKS[:2], done=False, end="stall"))
    llm = SIEChatModel(model_name=CHAT_MODEL, base_url=hostile.url, timeout=5.0, stream_chunk_timeout=0.2)
    texts: list[str] = []

    async def consume() -> None:
        if mode == "sync":
            texts.extend(str(chunk.content) for chunk in llm.stream("hi"))
        else:
            async for chunk in llm.astream("hi"):
                texts.append(str(chunk.content))

    with pytest.raises(SIETimeoutError) as caught:
        await consume()
    assert "stream_chunk_timeout" in str(caught.value)
    core = getattr(lc_exceptions, "ModelTimeoutError", None)
    assert core is None or isinstance(caught.value, core)
    assert "Cold" in texts
    assert hostile.counts == {"/v1/chat/completions": 1}
    assert hostile.wait_for_hangups(1)
    llm.close()
    await llm.aclose()


@pytest.mark.parametrize("value", [0, -0.5])
def test_a_non_positive_stream_chunk_timeout_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="stream_chunk_timeout"):
        SIEChatModel(model_name=CHAT_MODEL, base_url="http://127.0.0.1:9", stream_chunk_timeout=value)
