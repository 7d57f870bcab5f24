"""SIELLM for LlamaIndex (CustomLLM over /v1/generate): live on the peer; hostile streams on a MockTransport."""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.llms import LLM

from sie_integrations import errors as sie
from sie_integrations.llama_index import SIELLM
from tests.chat_wire import mock_connection, sse

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


def broken_stream(request: httpx.Request) -> httpx.Response:
    assert json.loads(request.content)["stream"] is True
    return sse(
        {"request_id": "r-1", "seq": 0, "text_delta": "Vector ", "done": False},
        {
            "request_id": "r-1",
            "seq": 1,
            "text_delta": "",
            "done": True,
            "finish_reason": "error",
            "error": {"code": "inference_error", "message": "worker lost"},
        },
    )


async def test_a_mid_stream_error_raises() -> None:
    """An error event is raised typed, never yielded as text (MockTransport)."""
    llm = SIELLM(model="m", **mock_connection(broken_stream))
    seen: list[str] = []
    with pytest.raises(sie.SIEStreamError, match="worker lost"):
        seen.extend(response.text for response in llm.stream_complete("Vector search is"))
    assert seen == ["Vector "]

    async def read() -> list[str]:
        return [response.text async for response in await llm.astream_complete("Vector search is")]

    with pytest.raises(sie.SIEStreamError):
        await read()


def test_bad_input_fails_before_sending() -> None:
    sent: list[httpx.Request] = []
    llm = SIELLM(model="m", **mock_connection(lambda r: sent.append(r) or httpx.Response(500)))
    with pytest.raises(TypeError, match="unknown generation argument"):
        llm.complete("hi", logit_bias={})
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 1"):
        llm.complete("hi", max_new_tokens=0)
    assert sent == []
    assert "api_key" not in SIELLM(model="m", api_key="sk-secret").to_dict()
    assert "sk-secret" not in SIELLM(model="m", api_key="sk-secret").to_json()


def test_completion_to_prompt_applies_unless_the_prompt_is_formatted() -> None:
    prompts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        prompts.append(json.loads(request.content)["prompt"])
        return httpx.Response(200, json={"model": "m", "text": "ok", "finish_reason": "stop", "usage": {}})

    llm = SIELLM(model="m", completion_to_prompt=lambda p: f"<s>{p}</s>", **mock_connection(answer))
    llm.complete("hi")
    llm.complete("hi", formatted=True)
    assert prompts == ["<s>hi</s>", "hi"]
