"""Hostile input to the LlamaIndex adapters, table by table, against ``FakeSIE`` (see
``tests/support/hostile.py``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, Field

from sie_integrations.llama_index import SIEChatModel as LIChat
from sie_integrations.llama_index import SIEEmbeddings as LIEmbeddings
from sie_integrations.llama_index import SIEReranker as LIReranker
from tests.fakes.scripted import sync_or_async
from tests.fakes.sie import FakeSIE
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


def li_embeddings(server: FakeSIE, **kwargs: Any) -> LIEmbeddings:
    return LIEmbeddings(model_name=kwargs.pop("model_name", "m"), **server.connection(), **kwargs)


def li_reranker(server: FakeSIE) -> LIReranker:
    return LIReranker(model_name="m", top_n=10, **server.connection())


def li_chat(server: FakeSIE, **kwargs: Any) -> LIChat:
    return LIChat(model_name="m", context_window=4096, **server.connection(), **kwargs)


def nodes(*texts: str) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=t)) for t in texts]


def li_user(text: str = "hi") -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


class NanDefault(BaseModel):
    """A tool whose schema has a NaN default."""

    scale: float = NAN


class OpaqueDefault(BaseModel):
    """A tool whose schema has a default JSON cannot carry."""

    when: Any = Field(default_factory=lambda: None, json_schema_extra={"default": object()})


def li_tools(server: FakeSIE, tools: list[Any], mode: str, **kwargs: Any) -> Awaitable[Any]:
    return sync_or_async(li_chat(server), "chat_with_tools", mode, tools, user_msg="weather?", **kwargs)


LI_BAD_ARGS = ChatMessage(
    role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs="{oops")]
)

LI_LEGACY_BAD_ARGS = ChatMessage(
    role=MessageRole.ASSISTANT,
    content="",
    additional_kwargs={
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{oops"}}]
    },
)

LI_TOOL_REPLY = ChatMessage(role=MessageRole.TOOL, content="bad arguments", additional_kwargs={"tool_call_id": "c1"})


REFUSED = [
    Case(
        "li-embed-batch-None",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "li-embed-batch-None-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, ["a", None]),
        TypeError,
        r"item 1 .*NoneType",
    ),
    Case(
        "li-embed-batch-int-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [1]),
        TypeError,
        r"item 0 .*int",
    ),
    Case(
        "li-embed-batch-bytes-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [b"a"]),
        TypeError,
        r"item 0 .*bytes",
    ),
    Case(
        "li-embed-batch-list-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [["a"]]),
        TypeError,
        r"item 0 .*list",
    ),
    Case(
        "li-embed-model-path-traversal",
        lambda r, m: sync_or_async(li_embeddings(r, model_name="a/../b"), "get_text_embedding_batch", m, ["x"]),
        ValueError,
        "invalid model id",
    ),
    Case(
        "li-rerank-no-query",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes("a")),
        ValueError,
        "needs a query",
    ),
    Case(
        "li-rerank-nodes-None",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, None, query_str="q"),
        ValueError,
        "nodes",
    ),
    Case(
        "li-rerank-None-node",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, [None], query_str="q"),
        ValueError,
        "nodes",
    ),
    Case("li-chat-no-messages", lambda r, m: sync_or_async(li_chat(r), "chat", m, []), ValueError, "messages"),
    Case("li-chat-None", lambda r, m: sync_or_async(li_chat(r), "chat", m, None), ValueError, "messages"),
    Case("li-chat-None-message", lambda r, m: sync_or_async(li_chat(r), "chat", m, [None]), ValueError, "messages"),
    Case(
        "li-temperature-nan",
        lambda r, m: sync_or_async(li_chat(r, temperature=NAN), "chat", m, li_user()),
        ValueError,
        "temperature",
    ),
    Case(
        "li-call-top-p-inf",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user(), top_p=INF),
        ValueError,
        "top_p",
    ),
    Case(
        "li-additional-kwargs-unknown-field",
        lambda r, m: sync_or_async(li_chat(r, additional_kwargs={"frobnicate": 1}), "chat", m, li_user()),
        ValueError,
        "frobnicate",
    ),
    Case(
        "li-additional-kwargs-logit-bias-inf",
        lambda r, m: sync_or_async(li_chat(r, additional_kwargs={"logit_bias": {"5": INF}}), "chat", m, li_user()),
        ValueError,
        "non-finite",
    ),
    Case(
        "li-tool-message-without-call-id",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [ChatMessage(role=MessageRole.TOOL, content="42")]),
        ValueError,
        "tool_call_id",
    ),
    Case(
        "li-tool-nan-default",
        lambda r, m: li_tools(r, [FunctionTool.from_defaults(fn=get_weather, name="scale", fn_schema=NanDefault)], m),
        ValueError,
        "non-finite",
    ),
]

SENT = [
    Case(
        "li-embed-empty-and-whitespace",
        lambda r, m: sync_or_async(
            li_embeddings(r, embed_batch_size=2), "get_text_embedding_batch", m, ["", " ", "\u00a0"]
        ),
        check=embedded("", " ", "\u00a0"),
    ),
    Case(
        "li-rerank-empty-query-and-node",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes("", "b"), query_str=""),
        check=holds(lambda out, bodies: bodies[0]["query"] == {"text": ""} and len(out) == 2),
    ),
    Case(
        "li-chat-empty-content",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user("")),
        check=chat_body(lambda body: body["messages"] == [{"role": "user", "content": ""}]),
    ),
    Case(
        "li-history-tool-arguments-not-json",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [*li_user(), LI_BAD_ARGS, LI_TOOL_REPLY]),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-history-legacy-tool-arguments-not-json",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [*li_user(), LI_LEGACY_BAD_ARGS, LI_TOOL_REPLY]),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-chat-with-tools-history-not-json",
        lambda r, m: li_tools(
            r, [FunctionTool.from_defaults(fn=get_weather)], m, chat_history=[*li_user(), LI_BAD_ARGS, LI_TOOL_REPLY]
        ),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-tool-name-with-spaces-is-sanitised",  # LlamaIndex rewrites the name itself, to a valid one
        lambda r, m: li_tools(r, [FunctionTool.from_defaults(fn=get_weather, name="get weather")], m),
        check=chat_body(lambda body: body["tools"][0]["function"]["name"] == "get_weather"),
    ),
]

EMPTY = [
    Case(
        "li-get-text-embedding-batch", lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [])
    ),
    Case("li-postprocess-nodes", lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, [], query_str="q")),
]

ENORMOUS = [
    Case("li-embed-batch", lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [HUGE])),
    Case("li-rerank", lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes(HUGE), query_str="q")),
    Case("li-chat", lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user(HUGE))),
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
    assert error.code == "INPUT_TOO_LONG"


def test_table_sizes() -> None:
    check_tables({"refused": REFUSED, "sent": SENT, "empty": EMPTY, "enormous": ENORMOUS}, 20)
