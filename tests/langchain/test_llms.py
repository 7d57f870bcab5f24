"""SIELLM (BaseLLM over /v1/generate) on scripted answers: a gateway's fields, a mid-stream error, bad input,
serialization."""

from __future__ import annotations

import json

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load

from sie_integrations import errors as sie
from sie_integrations.langchain import SIELLM
from tests.fakes.chat import sse
from tests.fakes.scripted import MockServer


def test_bad_input_fails_before_sending() -> None:
    server = MockServer()
    llm = SIELLM(model="m", **server.connection())
    with pytest.raises(TypeError, match="unknown generation argument"):
        llm.invoke("hi", tools=[])
    with pytest.raises(ValueError, match="prompt must be a non-empty string"):
        llm.invoke("")
    with pytest.raises(ValueError, match="unknown argument"):
        SIELLM(model="m", max_new_token=3)
    assert server.requests == []


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
    """A gateway's fields, which the standalone peer never sends (a scripted server)."""
    llm = SIELLM(model="m", **MockServer().then(gateway_answer).connection())
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
    """An error event is raised typed (also LangChain's ModelAPIError), never yielded as text (a scripted server)."""
    from langchain_core import exceptions as core

    llm = SIELLM(model="m", **MockServer().then(gateway_answer).connection())
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
        SIELLM(model="m", streaming=True, **MockServer().then(gateway_answer).connection()).invoke("Vector search is")


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


def test_a_streams_logprobs_reach_its_generation_info() -> None:
    """A scripted stream with ``logprobs`` (the CPU peer's fake model sends none): the streamed generation's
    ``generation_info`` has every token's, in order; the request asked for them; a whole answer cannot."""
    server = MockServer().sse(
        {"seq": 0, "text_delta": "Hi", "done": False, "logprobs": [{"token": "Hi", "logprob": -0.5}]},
        {"seq": 1, "text_delta": " there", "done": False, "logprobs": [{"token": " there", "logprob": -1.0}]},
        {"seq": 2, "text_delta": "", "done": True, "finish_reason": "length", "usage": {"completion_tokens": 2}},
    )
    llm = SIELLM(model="m", logprobs=True, top_logprobs=1, streaming=True, **server.connection())
    (generation,) = llm.generate(["Say hi"]).generations[0]
    assert generation.text == "Hi there"
    assert generation.generation_info is not None
    assert generation.generation_info["logprobs"] == [
        {"token": "Hi", "logprob": -0.5},
        {"token": " there", "logprob": -1.0},
    ]
    body = json.loads(server.requests[0].content)
    assert (body["logprobs"], body["top_logprobs"], body["stream"]) == (True, 1, True)
    with pytest.raises(ValueError, match="need a stream"):
        SIELLM(model="m", logprobs=True, **MockServer().connection()).invoke("Say hi")
