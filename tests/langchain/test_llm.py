"""SIELLM (BaseLLM over /v1/generate): live on the peer's tiny models and sie-fake; hostile streams mocked."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps, load
from langchain_core.outputs import GenerationChunk

from sie_integrations import errors as sie
from sie_integrations.langchain import SIELLM
from tests.chat_wire import mock_connection, sse

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


def test_bad_input_fails_before_sending() -> None:
    sent: list[httpx.Request] = []
    llm = SIELLM(model="m", **mock_connection(lambda r: sent.append(r) or httpx.Response(500)))
    with pytest.raises(TypeError, match="unknown generation argument"):
        llm.invoke("hi", tools=[])
    with pytest.raises(ValueError, match="prompt must be a non-empty string"):
        llm.invoke("")
    with pytest.raises(ValueError, match="unknown argument"):
        SIELLM(model="m", max_new_token=3)
    assert sent == []


def gateway_answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    if body.get("stream"):
        return sse(
            {"request_id": "r-1", "seq": 0, "text_delta": "Vector search ", "done": False},
            {"request_id": "r-1", "seq": 1, "text_delta": "finds", "done": False},
            {
                "request_id": "r-1",
                "seq": 2,
                "text_delta": "",
                "done": True,
                "finish_reason": "error",
                "error": {"code": "inference_error", "message": "worker lost"},
            },
        )
    return httpx.Response(
        200,
        json={
            "model": "m",
            "text": " a way to find",
            "finish_reason": "length",
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            "attempt_id": "att-42",
            "ttft_ms": 38.5,
            "tpot_ms": 4.25,
        },
    )


async def test_gateway_timings_and_attempt_id_reach_generation_info() -> None:
    """A gateway's fields, which the standalone peer never sends (MockTransport)."""
    llm = SIELLM(model="m", **mock_connection(gateway_answer))
    for result in (llm.generate(["Vector search is"]), await llm.agenerate(["Vector search is"])):
        info = result.generations[0][0].generation_info
        assert info == {
            "model": "m",
            "finish_reason": "length",
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            "attempt_id": "att-42",
            "ttft_ms": 38.5,
            "tpot_ms": 4.25,
        }


async def test_a_mid_stream_error_raises_after_the_text_so_far() -> None:
    """An error event is raised typed (also LangChain's ModelAPIError), never yielded as text (MockTransport)."""
    from langchain_core import exceptions as core

    llm = SIELLM(model="m", **mock_connection(gateway_answer))
    seen: list[str] = []
    with pytest.raises(sie.SIEStreamError, match="worker lost") as error:
        seen.extend(llm.stream("Vector search is"))
    assert seen == ["Vector search ", "finds"]
    assert error.value.code == "inference_error"
    if hasattr(core, "ModelAPIError"):  # langchain-core >= 1.6
        assert isinstance(error.value, core.ModelAPIError)
    seen.clear()

    async def read() -> None:
        async for chunk in llm.astream("Vector search is"):
            seen.append(chunk)

    with pytest.raises(sie.SIEStreamError):
        await read()
    assert seen == ["Vector search ", "finds"]
    with pytest.raises(sie.SIEStreamError):
        SIELLM(model="m", streaming=True, **mock_connection(gateway_answer)).invoke("Vector search is")


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialized_without_the_key() -> None:
    llm = SIELLM(model="m", base_url="https://sie.test", api_key="sk-secret", max_new_tokens=9)
    assert "sk-secret" not in repr(llm) and "sk-secret" not in dumps(llm)
    assert dumpd(llm)["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["SIE_API_KEY"]}
    loaded = load(
        dumpd(llm),
        allowed_objects=[SIELLM],  # type: ignore[list-item]
        valid_namespaces=["sie_integrations"],
        secrets_map={"SIE_API_KEY": "sk-secret"},
    )
    assert isinstance(loaded, SIELLM) and loaded.max_new_tokens == 9
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == "sk-secret"
    assert llm._identifying_params == {"model": "m", "base_url": "https://sie.test", "max_new_tokens": 9}
    assert llm._get_ls_params(stop=["x"]) == {
        "ls_provider": "sie",
        "ls_model_name": "m",
        "ls_model_type": "llm",
        "ls_max_tokens": 9,
        "ls_stop": ["x"],
    }
