"""The API key never leaks from the LlamaIndex adapters: repr/str, ``to_dict``, instrumentation events and logs
at every level (against ``FakeSIE``)."""

from __future__ import annotations

import json
import logging

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]

from sie_integrations.llama_index import SIEChatModel, SIEEmbeddings, SIEExtractor, SIEReranker
from tests.support.events import Dispatched
from tests.support.secrets import KEY, URL, keyed_server, leaks


def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for adapter in (
        SIEEmbeddings(model="m", base_url=URL, api_key=KEY),
        SIEReranker(model="m", base_url=URL, api_key=KEY),
        SIEExtractor(model="m", labels=["a"], base_url=URL, api_key=KEY),
    ):
        texts += [repr(adapter), str(adapter), json.dumps(adapter.model_dump(), default=str)]
        texts.append(json.dumps(adapter.to_dict(), default=str))
    events = Dispatched()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(events)
    try:
        llm = SIEChatModel(model="m", api_key=KEY, **keyed_server().connection(URL))
        llm.chat([ChatMessage(role="user", content="hi")])
        texts += [json.dumps(llm.to_dict(), default=str), repr(llm)]
    finally:
        dispatcher.event_handlers.remove(events)
    assert events.events, "no instrumentation event was captured"
    texts += [event.model_dump_json() for event in events.events]
    assert leaks([*texts, caplog.text]) == []
