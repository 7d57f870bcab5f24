"""An API key never leaks: repr/str, logs at every level, errors, LangChain dumpd and callbacks,
LlamaIndex to_dict and instrumentation events. The server is an httpx.MockTransport."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

from sie_integrations import AsyncSIEClient, SIEClient, SIEError
from sie_integrations import langchain as lc
from sie_integrations import llama_index as li

KEY = "sk-scan-7f3a9c2e5b1d4a8f"
URL = "https://sie.test"


def handler(request: httpx.Request) -> httpx.Response:
    assert request.headers["authorization"] == f"Bearer {KEY}"  # the key is sent, and only here
    if request.url.path == "/v1/chat/completions":
        body = json.loads(request.content)
        if body["messages"][-1]["content"] == "fail":
            return httpx.Response(401, json={"error": {"message": "invalid api key", "code": "UNAUTHORIZED"}})
        message = {"role": "assistant", "content": "ok"}
        return httpx.Response(
            200,
            json={"id": "c", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]},
        )
    if request.url.path.startswith("/v1/models/"):
        return httpx.Response(200, json={"name": "m", "max_sequence_length": 4096})
    item = {"dense": {"dims": 2, "dtype": "float32", "values": [1, 0]}}
    return httpx.Response(200, json={"model": "m", "items": [item]})


def transports() -> dict[str, Any]:
    return {
        "http_client": httpx.Client(transport=httpx.MockTransport(handler)),
        "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    }


class Recorder(BaseCallbackHandler):
    """Keeps everything LangChain hands to tracing callbacks."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        self.seen.append(json.dumps([serialized, kwargs], default=str))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(repr(response))


class Events(BaseEventHandler):
    """Keeps every LlamaIndex instrumentation event as JSON."""

    seen: ClassVar[list[str]] = []

    @classmethod
    def class_name(cls) -> str:
        return "Events"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(event.model_dump_json())


def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    client = SIEClient(URL, api_key=KEY, http_client=transports()["http_client"])
    texts += [repr(client), str(client)]
    client.encode("m", ["x"])
    async_client = AsyncSIEClient(URL, api_key=KEY)
    texts += [repr(async_client)]

    chat = lc.SIEChatModel(model="m", base_url=URL, api_key=KEY, **transports())
    recorder = Recorder()
    chat.invoke("hi", config={"callbacks": [recorder]})
    with pytest.raises(SIEError) as refused:
        chat.invoke("fail")
    texts += [str(refused.value), repr(refused.value), *recorder.seen, repr(chat), str(chat), dumps(chat)]
    texts.append(json.dumps(dumpd(chat)))
    texts.append(json.dumps(chat.model_dump(), default=str))
    for adapter in (
        lc.SIEEmbeddings(model="m", base_url=URL, api_key=KEY),
        lc.SIEReranker(model="m", base_url=URL, api_key=KEY),
        lc.SIEExtractor(model="m", labels=["a"], base_url=URL, api_key=KEY),
        li.SIEEmbeddings(model="m", base_url=URL, api_key=KEY),
        li.SIEReranker(model="m", base_url=URL, api_key=KEY),
        li.SIEExtractor(model="m", labels=["a"], base_url=URL, api_key=KEY),
    ):
        texts += [repr(adapter), str(adapter), json.dumps(adapter.model_dump(), default=str)]
        if hasattr(adapter, "to_dict"):
            texts.append(json.dumps(adapter.to_dict(), default=str))

    events = Events()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(events)
    try:
        llm = li.SIEChatModel(model="m", base_url=URL, api_key=KEY, **transports())
        llm.chat([ChatMessage(role="user", content="hi")])
        texts += [json.dumps(llm.to_dict(), default=str), repr(llm)]
    finally:
        dispatcher.event_handlers.remove(events)
    texts += events.seen
    assert events.seen, "no instrumentation event was captured"
    assert recorder.seen, "no callback payload was captured"

    texts.append(caplog.text)
    leaks = [t for t in texts if KEY in t]
    assert leaks == []
