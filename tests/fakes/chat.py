"""A chat server behind ``httpx.MockTransport`` (``ChatServer``), and the canned OpenAI-style answers it gives,
for the tests of both chat models."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.fakes.scripted import MockServer


def mock_connection(handler: Any, base_url: str = "https://sie.test") -> dict[str, Any]:
    """Connection arguments of a chat model whose two transports are the same MockTransport handler."""
    return {
        "base_url": base_url,
        "http_client": httpx.Client(transport=httpx.MockTransport(handler)),
        "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    }


def completion(message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None) -> httpx.Response:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
    return httpx.Response(200, json=body)


def sse(*events: dict[str, Any], done: bool = True) -> httpx.Response:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ("data: [DONE]\n\n" if done else "")
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def delta(**fields: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-2", "model": "m", "choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


def finish(reason: str, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "chatcmpl-2",
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
    }
    if usage:
        event["usage"] = usage
    return event


# The chat models' own request fields, with values that differ from their defaults.
REQUEST_FIELDS: dict[str, Any] = {
    "frequency_penalty": 0.25,
    "presence_penalty": -0.5,
    "logit_bias": {"42": -100.0},
    "logprobs": True,
    "top_logprobs": 2,
    "user": "u-1",
    "safety_identifier": "s-1",
    "include_reasoning": True,
    "parallel_tool_calls": False,
}


def model_info(
    grammar: list[str] | None = None, *, tools: bool = True, max_sequence_length: int = 32768
) -> httpx.Response:
    """``GET /v1/models/m``: with capabilities (tools, the grammars of constrained decoding) unless ``grammar`` is
    None, when the server describes none."""
    caps = None if grammar is None else {"streaming": True, "grammar": grammar, "tools": tools}
    return httpx.Response(200, json={"name": "m", "max_sequence_length": max_sequence_length, "capabilities": caps})


class ChatServer(MockServer):
    """A chat server: ``GET /v1/models/{id}`` answers ``info``; each chat request gets the next answer of the
    script (a response, or a function of the request), the last one repeating."""

    def __init__(
        self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response], info: httpx.Response | None = None
    ) -> None:
        super().__init__()
        self.info = info or model_info()
        self.lookups: list[httpx.Request] = []
        for answer in answers:
            self.then(answer if callable(answer) else _always(answer))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.lookups.append(request)
            return self.info
        return super().__call__(request)

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests, in order."""
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/chat/completions")]


def _always(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: response


def thinking_agent(body: dict[str, Any]) -> dict[str, Any]:
    """``FakeSIE``'s chat answer of a reasoning agent: a ``get_weather`` call with its ``reasoning_content``, then,
    once the tool's result is in, the answer."""
    if body["messages"][-1]["role"] == "tool":
        return {"content": "It is sunny in Paris."}
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}}
    return {"content": None, "reasoning_content": "Paris needs a lookup.", "tool_calls": [call]}
