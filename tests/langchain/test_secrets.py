"""The API key never leaks from the LangChain adapters: repr/str, errors, ``dumpd``/``dumps``, tracing callbacks
and logs at every level (against ``FakeSIE``)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps

from sie_integrations import SIEError
from sie_integrations.langchain import SIEChatModel, SIEEmbeddings, SIEExtractor, SIEReranker
from tests.support.secrets import KEY, URL, keyed_server, leaks


class Recorder(BaseCallbackHandler):
    """Keeps everything LangChain hands to tracing callbacks."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        self.seen.append(json.dumps([serialized, kwargs], default=str))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(repr(response))


def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    chat = SIEChatModel(model="m", api_key=KEY, **keyed_server().connection(URL))
    recorder = Recorder()
    chat.invoke("hi", config={"callbacks": [recorder]})
    with pytest.raises(SIEError) as refused:
        chat.invoke("fail")
    texts = [str(refused.value), repr(refused.value), *recorder.seen, repr(chat), str(chat), dumps(chat)]
    texts += [json.dumps(dumpd(chat)), json.dumps(chat.model_dump(), default=str)]
    for adapter in (
        SIEEmbeddings(model="m", base_url=URL, api_key=KEY),
        SIEReranker(model="m", base_url=URL, api_key=KEY),
        SIEExtractor(model="m", labels=["a"], base_url=URL, api_key=KEY),
    ):
        texts += [repr(adapter), str(adapter), json.dumps(adapter.model_dump(), default=str)]
    assert recorder.seen, "no callback payload was captured"
    assert leaks([*texts, caplog.text]) == []
