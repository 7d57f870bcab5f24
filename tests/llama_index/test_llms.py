"""SIELLM for LlamaIndex (CustomLLM over /v1/generate) on scripted and computed answers: a mid-stream error, bad
input, completion_to_prompt."""

from __future__ import annotations

import json

import httpx
import pytest

from sie_integrations import errors as sie
from sie_integrations.llama_index import SIELLM
from tests.fakes.chat import sse
from tests.fakes.scripted import MockServer
from tests.fakes.sie import FakeSIE


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
    """An error event is raised typed, never yielded as text (a scripted server)."""
    llm = SIELLM(model="m", **MockServer().then(broken_stream).connection())
    seen: list[str] = []
    with pytest.raises(sie.SIEStreamError, match="worker lost"):
        seen.extend(response.text for response in llm.stream_complete("Vector search is"))
    assert seen == ["Vector "]

    async def read() -> list[str]:
        return [response.text async for response in await llm.astream_complete("Vector search is")]

    with pytest.raises(sie.SIEStreamError):
        await read()


def test_bad_input_fails_before_sending() -> None:
    server = MockServer()
    llm = SIELLM(model="m", **server.connection())
    with pytest.raises(TypeError, match="unknown generation argument"):
        llm.complete("hi", tools=[])
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 1"):
        llm.complete("hi", max_new_tokens=0)
    assert server.requests == []
    assert "api_key" not in SIELLM(model="m", api_key="sk-secret").to_dict()
    assert "sk-secret" not in SIELLM(model="m", api_key="sk-secret").to_json()


def test_completion_to_prompt_applies_unless_the_prompt_is_formatted() -> None:
    server = FakeSIE()
    llm = SIELLM(model="m", completion_to_prompt=lambda p: f"<s>{p}</s>", **server.connection())
    llm.complete("hi")
    llm.complete("hi", formatted=True)
    assert [body["prompt"] for body in server.sent("generate")] == ["<s>hi</s>", "hi"]


def test_a_streams_logprobs_reach_each_response() -> None:
    """A scripted stream with ``logprobs`` (the CPU peer's fake model sends none): each delta's
    ``additional_kwargs`` has its tokens'; ``complete`` (a whole answer) cannot have them."""
    server = MockServer().sse(
        {"seq": 0, "text_delta": "Hi", "done": False, "logprobs": [{"token": "Hi", "logprob": -0.5}]},
        {"seq": 1, "text_delta": "", "done": True, "finish_reason": "length", "usage": {"completion_tokens": 1}},
    )
    llm = SIELLM(model="m", logprobs=True, **server.connection())
    first, last = list(llm.stream_complete("Say hi"))
    assert (first.delta, first.additional_kwargs["logprobs"]) == ("Hi", [{"token": "Hi", "logprob": -0.5}])
    assert "logprobs" not in last.additional_kwargs and last.additional_kwargs["finish_reason"] == "length"
    with pytest.raises(ValueError, match="need a stream"):
        llm.complete("Say hi")
