"""SIELLM for LlamaIndex (CustomLLM over /v1/generate): live on the peer; hostile streams on a MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from sie_integrations import errors as sie
from sie_integrations.llama_index import SIELLM
from tests.fakes.chat import mock_connection, sse


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
