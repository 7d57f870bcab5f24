"""SIELLM (LlamaIndex) against the real peer: token counting, streams, async, stop strings and typed errors."""

from __future__ import annotations

import itertools

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.llms import LLM

from sie_integrations import errors as sie
from sie_integrations.llama_index import SIELLM

HELLO = "Hello from tiny-chat!"
THINK = (
    'Let me check both cities.<tool_call>{"name": "get_weather", "arguments": {"location": "Paris"}}</tool_call>'
    '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Oslo"}}\n</tool_call>'
)


@pytest.mark.live
@pytest.mark.vcr
def test_complete_reports_usage_to_llamaindex_token_counting(sie_url: str) -> None:
    counter = TokenCountingHandler()
    llm = SIELLM(model="tiny-chat", base_url=sie_url, max_new_tokens=16, callback_manager=CallbackManager([counter]))
    assert isinstance(llm, LLM) and not llm.metadata.is_chat_model
    response = llm.complete("Say hello")
    assert response.text == HELLO
    usage = response.raw["usage"]
    assert response.additional_kwargs["finish_reason"] == "stop"
    assert counter.prompt_llm_token_count == usage["prompt_tokens"] > 0
    assert counter.completion_llm_token_count == usage["completion_tokens"] > 0
    assert llm.metadata.num_output == 16 and llm.metadata.model_name == "tiny-chat"


@pytest.mark.live
@pytest.mark.vcr
def test_stream_complete_gives_text_so_far_and_deltas(sie_url: str) -> None:
    llm = SIELLM(model="tiny-think-raw", base_url=sie_url, max_new_tokens=64)
    responses = list(llm.stream_complete("Weather?"))
    assert len(responses) > 5
    assert "".join(r.delta or "" for r in responses) == THINK
    assert [r.text for r in responses][-1] == THINK
    assert all(b.text.startswith(a.text) for a, b in itertools.pairwise(responses))
    last = responses[-1].raw
    assert last["finish_reason"] == "stop" and last["ttft_ms"] > 0 and len(last["request_id"]) == 32


@pytest.mark.live
@pytest.mark.vcr
async def test_async_complete_stream_and_chat(sie_url: str) -> None:
    llm = SIELLM(model="tiny-think-raw", base_url=sie_url, max_new_tokens=64)
    assert (await llm.acomplete("Weather?")).text == THINK
    deltas = [r.delta async for r in await llm.astream_complete("Weather?")]
    assert len(deltas) > 5 and "".join(d or "" for d in deltas) == THINK
    chat = await llm.achat([ChatMessage(role="user", content="Weather?")])
    assert chat.message.content == THINK
    streamed = [r.delta async for r in await llm.astream_chat([ChatMessage(role="user", content="Weather?")])]
    assert "".join(d or "" for d in streamed) == THINK
    assert llm.chat([ChatMessage(role="user", content="Weather?")]).message.content == THINK


@pytest.mark.live
@pytest.mark.vcr
def test_stop_and_max_new_tokens(sie_url: str) -> None:
    """sie-fake ignores ``stop``: the text still ends there."""
    llm = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=5)
    assert len(llm.complete("Say hello").text.split()) == 5
    short = llm.complete("Say hello", max_new_tokens=2)
    assert len(short.text.split()) == 2 and short.raw["finish_reason"] == "length"
    cut = llm.complete("Say hello", stop=["tok_f791"])
    assert cut.text == "tok_a78760a2 tok_70a76af3 " and cut.raw["finish_reason"] == "stop"
    streamed = list(
        SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=5, stop=["70a7"]).stream_complete("Say hello")
    )
    assert streamed[-1].text == "tok_a78760a2 tok_" and streamed[-1].raw["finish_reason"] == "stop"


@pytest.mark.live
@pytest.mark.vcr
def test_server_errors_are_typed(sie_url: str) -> None:
    with pytest.raises(sie.ModelNotFoundError):
        SIELLM(model="no-such-model", base_url=sie_url).complete("hi")
    with pytest.raises(sie.RequestError) as error:
        SIELLM(model="sentence-transformers/all-MiniLM-L6-v2", base_url=sie_url).complete("hi")
    assert error.value.status_code == 400
