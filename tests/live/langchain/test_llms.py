"""SIELLM against the real peer: usage, finish reasons, streams, stop strings and typed errors."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import GenerationChunk

from sie_integrations import errors as sie
from sie_integrations.langchain import SIELLM

HELLO = "Hello from tiny-chat!"
THINK = (
    'Let me check both cities.<tool_call>{"name": "get_weather", "arguments": {"location": "Paris"}}</tool_call>'
    '<tool_call>\n{"name": "get_weather", "arguments": {"location": "Oslo"}}\n</tool_call>'
)


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


@pytest.mark.live
@pytest.mark.vcr
def test_invoke_and_generate_report_usage_and_finish(sie_url: str) -> None:
    llm = SIELLM(model="tiny-chat", base_url=sie_url, max_new_tokens=16)
    assert llm.invoke("Say hello") == HELLO
    result = llm.generate(["Say hello", "Say hello again"])
    assert [[g.text for g in gens] for gens in result.generations] == [[HELLO], [HELLO]]
    info = result.generations[0][0].generation_info
    assert info is not None
    assert info["model"] == "tiny-chat" and info["finish_reason"] == "stop"
    usage = info["usage"]
    assert (
        usage["completion_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    )
    second = result.generations[1][0].generation_info
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["total_tokens"] == usage["total_tokens"] + second["usage"]["total_tokens"]
    assert result.llm_output["model_name"] == "tiny-chat"


@pytest.mark.live
@pytest.mark.vcr
def test_max_new_tokens_ends_a_generation_with_length(sie_url: str) -> None:
    llm = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=3)
    result = llm.generate(["Say hello"])
    generation = result.generations[0][0]
    assert generation.text.split() == ["tok_a78760a2", "tok_70a76af3", "tok_f791d0e5"]
    assert generation.generation_info is not None and generation.generation_info["finish_reason"] == "length"
    longer = llm.invoke("Say hello", max_tokens=5)  # a call's setting wins
    assert len(longer.split()) == 5


@pytest.mark.live
@pytest.mark.vcr
def test_stream_gives_many_deltas_each_to_the_callbacks(sie_url: str) -> None:
    handler = Tokens()
    llm = SIELLM(model="tiny-think-raw", base_url=sie_url, max_new_tokens=64)
    chunks = list(llm.stream("Weather?", config={"callbacks": [handler]}))
    assert len(chunks) > 5
    assert "".join(c for c in chunks) == THINK
    assert handler.tokens == [c for c in chunks if c]
    assert llm.invoke("Weather?") == THINK  # the whole answer is the deltas joined


@pytest.mark.live
@pytest.mark.vcr
async def test_the_last_stream_chunk_carries_usage_ttft_and_the_request_id(sie_url: str) -> None:
    llm = SIELLM(model="tiny-think-raw", base_url=sie_url, max_new_tokens=64, streaming=True)
    handler = Tokens()
    result = llm.generate(["Weather?"], callbacks=[handler])
    generation = result.generations[0][0]
    assert isinstance(generation, GenerationChunk)
    assert generation.text == THINK
    assert len(handler.tokens) > 5  # streaming=True streams under the hood
    info = generation.generation_info
    assert info is not None
    assert info["finish_reason"] == "stop" and info["usage"]["completion_tokens"] > 0
    assert info["ttft_ms"] > 0 and len(info["request_id"]) == 32
    again = await llm.agenerate(["Weather?"], callbacks=[handler])
    assert again.generations[0][0].text == THINK and len(handler.tokens) > 10
    assert again.generations[0][0].generation_info["finish_reason"] == "stop"  # type: ignore[index]


@pytest.mark.live
@pytest.mark.vcr
async def test_async_invoke_and_stream_match_sync(sie_url: str) -> None:
    llm = SIELLM(model="tiny-think-raw", base_url=sie_url, max_new_tokens=64)
    assert await llm.ainvoke("Weather?") == THINK
    chunks = [c async for c in llm.astream("Weather?")]
    assert len(chunks) > 5 and "".join(chunks) == THINK
    both = await llm.abatch(["Weather?", "Weather?"])
    assert both == [THINK, THINK]


@pytest.mark.live
@pytest.mark.vcr
async def test_stop_strings_end_the_text_even_where_the_model_runs_on(sie_url: str) -> None:
    """sie-fake ignores ``stop``: the text still ends there, finish_reason "stop", in every mode."""
    llm = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=5)
    whole = llm.invoke("Say hello")
    assert "tok_f791d0e5" in whole
    assert llm.invoke("Say hello", stop=["tok_f791d0e5"]) == "tok_a78760a2 tok_70a76af3 "
    assert "".join(llm.stream("Say hello", stop=["f791"])) == "tok_a78760a2 tok_70a76af3 tok_"
    assert await llm.ainvoke("Say hello", stop=["70a7"]) == "tok_a78760a2 tok_"
    assert "".join([c async for c in llm.astream("Say hello", stop=["tok_70"])]) == "tok_a78760a2 "
    fixed = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=5, stop=["tok_70"])
    result = fixed.generate(["Say hello"])
    assert result.generations[0][0].text == "tok_a78760a2 "
    info = result.generations[0][0].generation_info
    assert info is not None and info["finish_reason"] == "stop"


@pytest.mark.live
@pytest.mark.vcr
def test_server_errors_are_typed(sie_url: str) -> None:
    with pytest.raises(sie.ModelNotFoundError) as missing:
        SIELLM(model="no-such-model", base_url=sie_url).invoke("hi")
    assert missing.value.code == "MODEL_NOT_FOUND"
    with pytest.raises(sie.RequestError) as no_generation:
        SIELLM(model="sentence-transformers/all-MiniLM-L6-v2", base_url=sie_url).invoke("hi")
    assert no_generation.value.status_code == 400
