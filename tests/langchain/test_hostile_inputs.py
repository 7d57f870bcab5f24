"""Hostile input to the LangChain adapters, table by table, against ``FakeSIE`` (see
``tests/support/hostile.py``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from langchain_core import exceptions as lc_exceptions
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from sie_integrations.langchain import SIEChatModel as LCChat
from sie_integrations.langchain import SIEEmbeddings as LCEmbeddings
from sie_integrations.langchain import SIEExtractor as LCExtractor
from sie_integrations.langchain import SIEReranker as LCReranker
from tests.fakes.scripted import sync_or_async
from tests.fakes.sie import FakeSIE, vector_of
from tests.support.hostile import (
    HUGE,
    INF,
    MODES,
    NAN,
    Case,
    chat_body,
    check_tables,
    embedded,
    empty,
    enormous,
    history_arguments,
    holds,
    refused,
    sent,
)

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")


def lc_embeddings(server: FakeSIE, **kwargs: Any) -> LCEmbeddings:
    return LCEmbeddings(model=kwargs.pop("model", "m"), **server.connection(), **kwargs)


def lc_reranker(server: FakeSIE) -> LCReranker:
    return LCReranker(model="m", top_n=None, **server.connection())


def lc_chat(server: FakeSIE, **kwargs: Any) -> LCChat:
    return LCChat(model=kwargs.pop("model", "m"), **server.connection(), **kwargs)


def lc_extractor(server: FakeSIE, **kwargs: Any) -> LCExtractor:
    return LCExtractor(model="m", labels=kwargs.pop("labels", ["person"]), **server.connection(), **kwargs)


def docs(*texts: str) -> list[Document]:
    return [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(texts)]


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


class NanDefault(BaseModel):
    """A tool whose schema has a NaN default."""

    scale: float = NAN


class OpaqueDefault(BaseModel):
    """A tool whose schema has a default JSON cannot carry."""

    when: Any = Field(default_factory=lambda: None, json_schema_extra={"default": object()})


def lc_bind(server: FakeSIE, tools: list[Any], mode: str) -> Awaitable[Any]:
    return sync_or_async(lc_chat(server).bind_tools(tools), "invoke", mode, "weather?")


LC_BAD_ARGS = AIMessage(
    content="",
    invalid_tool_calls=[{"type": "invalid_tool_call", "id": "c1", "name": "get_weather", "args": '{"city": "Os'}],
)

LC_LEGACY_BAD_ARGS = AIMessage(
    content="",
    additional_kwargs={
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{oops"}}]
    },
)


OBJECT_TOOL = {"type": "object", "properties": {"city": {"type": "string"}}}

REFUSED = [
    Case(
        "lc-embed-documents-None",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-documents-a-str",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, "hello"),
        TypeError,
        "list",
    ),
    Case(
        "lc-embed-documents-None-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, ["a", None]),
        TypeError,
        r"item 1 .*NoneType",
    ),
    Case(
        "lc-embed-documents-int-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [3]),
        TypeError,
        r"item 0 .*int",
    ),
    Case(
        "lc-embed-documents-bytes-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [b"a"]),
        TypeError,
        r"item 0 .*bytes",
    ),
    Case(
        "lc-embed-documents-dict-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [{"text": "a"}]),
        TypeError,
        r"item 0 .*dict",
    ),
    Case(
        "lc-embed-documents-None-in-a-later-batch",
        lambda r, m: sync_or_async(lc_embeddings(r, batch_size=2), "embed_documents", m, ["a", "b", "c", None]),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-query-None",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-query-list", lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, ["a"]), TypeError, "list"
    ),
    Case(
        "lc-embed-model-path-traversal",
        lambda r, m: sync_or_async(lc_embeddings(r, model="../../v1/pools"), "embed_query", m, "x"),
        ValueError,
        "invalid model id",
    ),
    Case(
        "lc-rerank-query-None",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("a"), None),
        TypeError,
        "query must be",
    ),
    Case(
        "lc-rerank-query-int",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("a"), 5),
        TypeError,
        "query must be",
    ),
    Case(
        "lc-rerank-documents-None",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, None, "q"),
        TypeError,
        "documents must be a list",
    ),
    Case(
        "lc-rerank-None-document",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, [*docs("a"), None], "q"),
        TypeError,
        "document 1 must be a Document, not NoneType",
    ),
    Case(
        "lc-rerank-str-documents",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, ["a", "b"], "q"),
        TypeError,
        "document 0 must be a Document, not str",
    ),
    Case("lc-invoke-None", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, None), ValueError, "Invalid input type"),
    Case("lc-invoke-int", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, 7), ValueError, "Invalid input type"),
    Case("lc-invoke-no-messages", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, []), ValueError, "messages"),
    Case(
        "lc-temperature-nan",
        lambda r, m: sync_or_async(lc_chat(r, temperature=NAN), "invoke", m, "x"),
        ValueError,
        "temperature",
    ),
    Case("lc-top-p-inf", lambda r, m: sync_or_async(lc_chat(r, top_p=INF), "invoke", m, "x"), ValueError, "top_p"),
    Case(
        "lc-call-temperature-minus-inf",
        lambda r, m: sync_or_async(lc_chat(r), "invoke", m, "x", temperature=-INF),
        ValueError,
        "temperature",
    ),
    Case(
        "lc-model-kwargs-unknown-field",
        lambda r, m: sync_or_async(lc_chat(r, model_kwargs={"frobnicate": 1}), "invoke", m, "x"),
        ValueError,
        "frobnicate",
    ),
    Case(
        "lc-model-kwargs-logit-bias-nan",
        lambda r, m: sync_or_async(lc_chat(r, model_kwargs={"logit_bias": {"7": NAN}}), "invoke", m, "x"),
        ValueError,
        "non-finite",
    ),
    Case("lc-model-blank", lambda r, m: sync_or_async(lc_chat(r, model=" "), "invoke", m, "x"), ValueError, "blank"),
    Case(
        "lc-audio-content-block",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage(content=[{"type": "audio", "data": "AA=="}])]
        ),
        ValueError,
        "'audio'",
    ),
    Case(
        "lc-bind-tool-without-name",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"parameters": OBJECT_TOOL}}], m),
        ValueError,
        "name",
    ),
    Case(
        "lc-bind-tool-name-with-spaces",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"name": "get weather"}}], m),
        ValueError,
        "tool name 'get weather'",
    ),
    Case(
        "lc-bind-json-schema-titled-with-spaces",
        lambda r, m: lc_bind(r, [{"title": "Get Weather!", "description": "d", **OBJECT_TOOL}], m),
        ValueError,
        "tool name 'Get Weather!'",
    ),
    Case(
        "lc-bind-tool-parameters-not-an-object",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}], m),
        ValueError,
        "type 'object'",
    ),
    Case("lc-bind-tool-nan-default", lambda r, m: lc_bind(r, [NanDefault], m), ValueError, "non-finite"),
    Case(
        "lc-bind-model-unserialisable-default",  # refused by pydantic while LangChain builds the schema
        lambda r, m: lc_bind(r, [OpaqueDefault], m),
        ValueError,
        "serialize unknown type",
    ),
    Case(
        "lc-bind-dict-tool-unserialisable-default",
        lambda r, m: lc_bind(
            r,
            [{"type": "function", "function": {"name": "f", "parameters": {**OBJECT_TOOL, "default": object()}}}],
            m,
        ),
        ValueError,
        "not JSON-serialisable",
    ),
    Case(
        "lc-extract-None", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": None}), ValueError, "text"
    ),
    Case("lc-extract-int", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": 7}), ValueError, "text"),
    Case(
        "lc-extract-no-text", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"txt": "a"}), ValueError, "text"
    ),
    Case(
        "lc-extract-empty-label",
        lambda r, m: sync_or_async(lc_extractor(r, labels=[""]), "invoke", m, "a"),
        TypeError,
        "labels",
    ),
]

SENT = [
    Case(
        "lc-embed-empty-string",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [""]),
        check=embedded(""),
    ),
    Case(
        "lc-embed-whitespace",
        lambda r, m: sync_or_async(lc_embeddings(r, batch_size=1), "embed_documents", m, [" ", "\n", "\t "]),
        check=embedded(" ", "\n", "\t "),
    ),
    Case(
        "lc-embed-query-empty",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, ""),
        check=holds(lambda v, bodies: v == vector_of("") and bodies[0]["params"]["options"] == {"is_query": True}),
    ),
    Case(
        "lc-rerank-empty-query-and-document",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("", "b"), ""),
        check=holds(
            lambda out, bodies: bodies[0]["query"] == {"text": ""} and sorted(d.metadata["i"] for d in out) == [0, 1]
        ),
    ),
    Case(
        "lc-invoke-empty-string",
        lambda r, m: sync_or_async(lc_chat(r), "invoke", m, ""),
        check=chat_body(lambda body: body["messages"] == [{"role": "user", "content": ""}]),
    ),
    Case(
        "lc-history-invalid-tool-call-replayed",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage("w?"), LC_BAD_ARGS, ToolMessage("bad", tool_call_id="c1")]
        ),
        check=chat_body(history_arguments('{"city": "Os')),
    ),
    Case(
        "lc-history-legacy-tool-call-replayed",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage("w?"), LC_LEGACY_BAD_ARGS, ToolMessage("bad", tool_call_id="c1")]
        ),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "lc-chat-model-id-odd",
        lambda r, m: sync_or_async(lc_chat(r, model="../../v1/pools?x=1#f"), "invoke", m, "x"),
        check=chat_body(lambda body: body["model"] == "../../v1/pools?x=1#f"),
    ),
    Case(
        "lc-extract-empty-text",
        lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": ""}),
        check=holds(lambda out, bodies: bodies[0]["items"] == [{"text": ""}] and out["entities"] == []),
    ),
]

EMPTY = [
    Case("lc-embed-documents", lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [])),
    Case("lc-compress-documents", lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, [], "q")),
]

ENORMOUS = [
    Case("lc-embed-documents", lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [HUGE])),
    Case("lc-embed-query", lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, HUGE)),
    Case("lc-rerank", lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs(HUGE), "q")),
    Case("lc-chat", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, HUGE)),
    Case("lc-extract", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, HUGE)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", REFUSED, ids=lambda r: r.id)
async def test_refused_before_sending(row: Case, mode: str) -> None:
    await refused(row, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", SENT, ids=lambda r: r.id)
async def test_valid_odd_input_is_sent(row: Case, mode: str) -> None:
    await sent(row, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", EMPTY, ids=lambda r: r.id)
async def test_an_empty_list_sends_nothing(row: Case, mode: str) -> None:
    await empty(row, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ENORMOUS, ids=lambda r: r.id)
async def test_enormous_text_is_sent_and_input_too_long_is_typed(row: Case, mode: str) -> None:
    error = await enormous(row, mode)
    if row.id == "lc-chat":  # LangChain's own error class too, where langchain-core has it
        core = getattr(lc_exceptions, "ContextOverflowError", None)
        assert core is None or isinstance(error, core)


def test_table_sizes() -> None:
    check_tables({"refused": REFUSED, "sent": SENT, "empty": EMPTY, "enormous": ENORMOUS}, 20)
