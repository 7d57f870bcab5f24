"""Hostile responses through the LlamaIndex adapters, table by table (``tests/fakes/bad_answers.py``).

Each crafted answer ends in the library's typed error, never in a partial or reordered result: through the
embeddings (one request, or one bad batch of several), the reranker and the chat model. A model that goes cold in
the middle of a batched embed is waited out, with every vector in input order.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import FunctionTool

from sie_integrations import ModelLoadingError, SIEError
from sie_integrations.llama_index import SIEChatModel, SIEEmbeddings, SIEReranker
from tests.fakes.bad_answers import (
    ADAPTER_ONLY_ENCODE_BAD,
    BATCH_BAD,
    CHAT_BAD,
    COLD_BATCH,
    ENCODE_BAD,
    MALFORMED,
    SCORE_BAD,
    TEN,
    THIRTY,
    TOOL_ARGUMENTS,
    Bad,
    WrongBatch,
    answering,
    answering_batches,
    batch_attempts,
    batch_of,
    cold_batches,
    tool_completion,
)
from tests.fakes.scripted import MockServer, sync_or_async
from tests.fakes.sie import FakeSIE
from tests.support.hostile import MODES

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")
USER = [ChatMessage(role=MessageRole.USER, content="hi")]


def embed(server: MockServer | FakeSIE, mode: str, texts: list[str], **kwargs: Any) -> Awaitable[Any]:
    embeddings = SIEEmbeddings(model_name="m", **server.connection(), **kwargs)
    return sync_or_async(embeddings, "get_text_embedding_batch", mode, texts)


def chat_model(server: MockServer) -> SIEChatModel:
    return SIEChatModel(model_name="m", context_window=4096, **server.connection())


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ENCODE_BAD + ADAPTER_ONLY_ENCODE_BAD, ids=lambda r: r.id)
async def test_embeddings_refuse_hostile_body(row: Bad, mode: str) -> None:
    """The server's crafted body ends in a typed error, after one request."""
    server = answering(row.body)
    with pytest.raises(SIEError) as caught:
        await embed(server, mode, ["a", "b"])
    assert caught.value.code in (row.code, MALFORMED)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", BATCH_BAD, ids=lambda r: r.id)
async def test_one_bad_batch_fails_the_whole_embed(row: WrongBatch, mode: str) -> None:
    """Ten texts in four batches; the server answers the second batch wrongly: an error, never short."""
    server = answering(answering_batches(row.answer))
    outcome: Any = None
    with pytest.raises(SIEError) as caught:
        outcome = await embed(server, mode, TEN, embed_batch_size=3, max_concurrency=2)
    assert outcome is None
    assert caught.value.code == row.code
    assert any(3 in batch_of(r) for r in server.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", SCORE_BAD, ids=lambda r: r.id)
async def test_reranker_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers three nodes with crafted scores: a typed error, never a wrong ranking."""
    reranker = SIEReranker(model_name="m", top_n=3, **answering(row.body).connection())
    nodes = [NodeWithScore(node=TextNode(text=t)) for t in ("a", "b", "c")]
    with pytest.raises(row.error) as caught:
        await sync_or_async(reranker, "postprocess_nodes", mode, nodes, query_str="q")
    assert caught.value.code == row.code


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", CHAT_BAD, ids=lambda r: r.id)
async def test_chat_model_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers a chat completion with a crafted body: a typed error, sent once."""
    server = answering(row.body)
    with pytest.raises(row.error) as caught:
        await sync_or_async(chat_model(server), "chat", mode, USER)
    assert caught.value.code == row.code
    assert len(server.requests) == 1  # chat is never re-sent


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_do_not_raise(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """The server's bad arguments stay on the ToolCallBlock; tool selection gives a dict, never raises."""
    llm = chat_model(answering(tool_completion(arguments)))
    for response in (
        await sync_or_async(llm, "chat", mode, USER),
        await sync_or_async(llm, "chat_with_tools", mode, [FunctionTool.from_defaults(fn=get_weather)], user_msg="w?"),
    ):
        (block,) = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        assert (block.tool_call_id, block.tool_name) == ("call_1", "get_weather")
        assert block.tool_kwargs == (arguments if li_kwargs is None else li_kwargs)
        (selection,) = llm.get_tool_calls_from_response(response)
        assert selection.tool_name == "get_weather"
        assert isinstance(selection.tool_kwargs, dict)


@pytest.mark.parametrize("mode", MODES)
async def test_model_loading_mid_batch_is_waited_out_in_order(mode: str, fake_sleeps: list[float]) -> None:
    """The fourth of ten batches is refused once (503 MODEL_LOADING, Retry-After: 2): all thirty vectors come
    back in input order, only that batch is sent twice, and the wait honoured Retry-After."""
    server = cold_batches()
    vectors = await embed(server, mode, THIRTY, embed_batch_size=3, max_concurrency=2, wait_for_capacity=True)
    assert [tuple(v) for v in vectors] == [(float(i), -float(i)) for i in range(30)]
    assert batch_attempts(server) == {b: 2 if b == COLD_BATCH else 1 for b in range(10)}
    assert fake_sleeps == [2.0]


@pytest.mark.parametrize("mode", MODES)
async def test_model_loading_mid_batch_without_waiting_raises(mode: str, fake_sleeps: list[float]) -> None:
    """With wait_for_capacity=False the 503 MODEL_LOADING is a ModelLoadingError; nothing is returned."""
    server = cold_batches()
    outcome: Any = None
    with pytest.raises(ModelLoadingError) as caught:
        outcome = await embed(server, mode, THIRTY, embed_batch_size=3, max_concurrency=2, wait_for_capacity=False)
    assert outcome is None
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (503, "MODEL_LOADING", 2.0)
    assert "wait_for_capacity is off" in error.message
    assert all(n == 1 for n in batch_attempts(server).values())
    assert fake_sleeps == []
