"""Hostile responses through the LangChain adapters, table by table (``tests/fakes/bad_answers.py``).

Each crafted answer ends in the library's typed error, never in a partial or reordered result: through the
embeddings (one request, or one bad batch of several), the reranker, the extraction transformer and the chat
model. A model that goes cold in the middle of a batched embed is waited out, with every vector in input order.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from langchain_core.documents import Document

from sie_integrations import ModelLoadingError, SIEError
from sie_integrations.langchain import SIEChatModel, SIEEmbeddings, SIEExtractionTransformer, SIEReranker
from tests.fakes.bad_answers import (
    ADAPTER_ONLY_ENCODE_BAD,
    BATCH_BAD,
    CHAT_BAD,
    COLD_BATCH,
    ENCODE_BAD,
    EXTRACT_BAD,
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


def embed(server: MockServer | FakeSIE, mode: str, texts: list[str], **kwargs: Any) -> Awaitable[Any]:
    return sync_or_async(SIEEmbeddings(model="m", **server.connection(), **kwargs), "embed_documents", mode, texts)


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
        outcome = await embed(server, mode, TEN, batch_size=3, max_concurrency=2)
    assert outcome is None
    assert caught.value.code == row.code
    assert any(3 in batch_of(r) for r in server.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", SCORE_BAD, ids=lambda r: r.id)
async def test_reranker_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers three documents with crafted scores: a typed error, never a wrong ranking."""
    reranker = SIEReranker(model="m", top_n=None, **answering(row.body).connection())
    docs = [Document(page_content=t) for t in ("a", "b", "c")]
    with pytest.raises(row.error) as caught:
        await sync_or_async(reranker, "compress_documents", mode, docs, "q")
    assert caught.value.code == row.code


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", EXTRACT_BAD, ids=lambda r: r.id)
async def test_extraction_transformer_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers two texts with a crafted extraction: a typed error, nothing partial."""
    transformer = SIEExtractionTransformer(model="m", labels=["person"], **answering(row.body).connection())
    docs = [Document(page_content="Ada"), Document(page_content="Bob")]
    with pytest.raises(row.error) as caught:
        await sync_or_async(transformer, "transform_documents", mode, docs)
    assert caught.value.code == row.code
    if row.id.startswith("per-item"):
        assert caught.value.item_index == 1  # names the failed input


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", CHAT_BAD, ids=lambda r: r.id)
async def test_chat_model_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers a chat completion with a crafted body: a typed error, sent once."""
    server = answering(row.body)
    with pytest.raises(row.error) as caught:
        await sync_or_async(SIEChatModel(model="m", **server.connection()), "invoke", mode, "hi")
    assert caught.value.code == row.code
    assert len(server.requests) == 1  # chat is never re-sent


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_give_invalid_tool_calls(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """The server's unparseable (or non-object) arguments become ``invalid_tool_calls``, verbatim."""
    llm = SIEChatModel(model="m", **answering(tool_completion(arguments)).connection())
    message = await sync_or_async(llm, "invoke", mode, "weather?")
    if lc_args is None:
        assert message.tool_calls == []
        (invalid,) = message.invalid_tool_calls
        assert (invalid["id"], invalid["name"], invalid["args"]) == ("call_1", "get_weather", arguments)
        assert invalid["error"]
    else:
        assert message.invalid_tool_calls == []
        assert [(c["id"], c["args"]) for c in message.tool_calls] == [("call_1", lc_args)]


@pytest.mark.parametrize("mode", MODES)
async def test_model_loading_mid_batch_is_waited_out_in_order(mode: str, fake_sleeps: list[float]) -> None:
    """The fourth of ten batches is refused once (503 MODEL_LOADING, Retry-After: 2): all thirty vectors come
    back in input order, only that batch is sent twice, and the wait honoured Retry-After."""
    server = cold_batches()
    vectors = await embed(server, mode, THIRTY, batch_size=3, max_concurrency=2, wait_for_capacity=True)
    assert [tuple(v) for v in vectors] == [(float(i), -float(i)) for i in range(30)]
    assert batch_attempts(server) == {b: 2 if b == COLD_BATCH else 1 for b in range(10)}
    assert fake_sleeps == [2.0]


@pytest.mark.parametrize("mode", MODES)
async def test_model_loading_mid_batch_without_waiting_raises(mode: str, fake_sleeps: list[float]) -> None:
    """With wait_for_capacity=False the 503 MODEL_LOADING is a ModelLoadingError; nothing is returned."""
    server = cold_batches()
    outcome: Any = None
    with pytest.raises(ModelLoadingError) as caught:
        outcome = await embed(server, mode, THIRTY, batch_size=3, max_concurrency=2, wait_for_capacity=False)
    assert outcome is None
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (503, "MODEL_LOADING", 2.0)
    assert "wait_for_capacity is off" in error.message
    assert all(n == 1 for n in batch_attempts(server).values())
    assert fake_sleeps == []
