"""Hostile responses from a server simulated with ``httpx.MockTransport``, table by table.

Every row is one crafted 200 answer (msgpack or JSON) to encode, score, extract, chat, generate or the model
routes: wrong item counts, ids that do not match, unsafe or unknown dtypes, wrong shapes, absurd declared
sizes, huge declared container lengths, non-finite scores, a chat completion without choices, an error
envelope sent with HTTP 200. Each must end in the library's typed error (``RequestError`` with code
``MALFORMED_RESPONSE`` or ``<WHAT>_RESULT_COUNT_MISMATCH``, or the typed error of a per-item failure),
never in a partial or reordered result, whether it reaches the client directly or through the LangChain
and LlamaIndex adapters. The few lenient results are rows of their own, with what they return checked.

The last section is a model that goes cold in the middle of a large batched embed (503 MODEL_LOADING with
Retry-After on one batch of ten): the result has every vector in input order, and only that batch is sent
twice; with ``wait_for_capacity=False`` the typed ``ModelLoadingError`` is raised and nothing is returned.

The tables are the module-level lists; ``TABLES`` counts them.
"""

from __future__ import annotations

import json
import math
import threading
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest
from langchain_core.documents import Document
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import FunctionTool

from sie_integrations import (
    AsyncSIEClient,
    InputTooLongError,
    ModelLoadingError,
    RequestError,
    ServerError,
    SIEClient,
    SIEError,
)
from sie_integrations.langchain import SIEChatModel as LCChat
from sie_integrations.langchain import SIEEmbeddings as LCEmbeddings
from sie_integrations.langchain import SIEExtractionTransformer as LCExtractionTransformer
from sie_integrations.langchain import SIEReranker as LCReranker
from sie_integrations.llama_index import SIEChatModel as LIChat
from sie_integrations.llama_index import SIEEmbeddings as LIEmbeddings
from sie_integrations.llama_index import SIEReranker as LIReranker
from tests.fakes.scripted import sync_or_async

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")

MODES = ["sync", "async"]
MSGPACK = "application/msgpack"
JSON = "application/json"
MALFORMED = "MALFORMED_RESPONSE"
MEMORY_LIMIT = 50 * 2**20


# --- crafting bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A crafted response body and its content type."""

    content: bytes
    content_type: str

    def response(self, status: int = 200) -> httpx.Response:
        return httpx.Response(status, content=self.content, headers={"content-type": self.content_type})


def J(obj: Any) -> Body:
    return Body(json.dumps(obj).encode(), JSON)


def M(obj: Any) -> Body:
    return Body(msgpack.packb(obj, use_bin_type=True), MSGPACK)


def raw(content: bytes, content_type: str = JSON) -> Body:
    return Body(content, content_type)


def np_map(array: np.ndarray[Any, Any]) -> dict[bytes, Any]:
    """A numpy array in the msgpack-numpy layout of protocol section 3.1."""
    return {b"nd": True, b"type": array.dtype.str, b"kind": b"", b"shape": list(array.shape), b"data": array.tobytes()}


def array_map(**fields: Any) -> dict[bytes, Any]:
    """A hand-made msgpack-numpy map: a valid ``<f4`` ``[2]`` array unless ``fields`` say otherwise."""
    base: dict[str, Any] = {"nd": True, "type": "<f4", "kind": b"", "shape": [2], "data": b"\x00" * 8}
    base.update(fields)
    return {k.encode(): v for k, v in base.items() if v is not None}


def dense(values: Any, dtype: str = "float32") -> dict[str, Any]:
    return {"dense": {"dims": 2, "dtype": dtype, "values": values}}


def encode_body(*items: Any, pack: Callable[[Any], Body] = J) -> Body:
    return pack({"model": "m", "items": list(items), "timing": None})


OK_JSON = dense([0.5, 0.25])
OK_MSGPACK = dense(np_map(np.array([0.5, 0.25], dtype="<f4")))


def decoded(request: httpx.Request) -> Any:
    if "msgpack" in request.headers.get("content-type", ""):
        return msgpack.unpackb(request.content, raw=False)
    return json.loads(request.content)


class Server:
    """An httpx.MockTransport handler answering every request with one crafted body; records requests."""

    def __init__(self, body: Body | Callable[[httpx.Request], httpx.Response], status: int = 200) -> None:
        self.body = body
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.body(request) if callable(self.body) else self.body.response(self.status)

    @property
    def kw(self) -> dict[str, Any]:
        return {
            "base_url": "http://sie.test",
            "http_client": httpx.Client(transport=httpx.MockTransport(self)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self)),
        }


@dataclass(frozen=True)
class Bad:
    """A hostile body that must raise ``error`` with ``code``."""

    id: str
    body: Body
    code: str | None = MALFORMED
    error: type[SIEError] = RequestError


# --- encode ------------------------------------------------------------------------------------

COUNT = "ENCODE_RESULT_COUNT_MISMATCH"
ENVELOPE = {"error": {"code": "inference_error", "message": "worker crashed", "type": "server_error"}}

ENCODE_BAD = [
    # counts (two inputs are sent)
    Bad("json-one-item-fewer", encode_body(OK_JSON), COUNT),
    Bad("json-one-item-more", encode_body(OK_JSON, OK_JSON, OK_JSON), COUNT),
    Bad("json-no-items", encode_body(), COUNT),
    Bad("msgpack-one-item-fewer", encode_body(OK_MSGPACK, pack=M), COUNT),
    Bad("msgpack-one-item-more", encode_body(OK_MSGPACK, OK_MSGPACK, OK_MSGPACK, pack=M), COUNT),
    # the shape of the body
    Bad("items-missing", J({"model": "m"})),
    Bad("items-null", J({"model": "m", "items": None})),
    Bad("items-an-object", J({"model": "m", "items": {"0": OK_JSON, "1": OK_JSON}})),
    Bad("item-a-string", encode_body(OK_JSON, "dense")),
    Bad("body-a-list", J([OK_JSON, OK_JSON])),
    Bad("body-html", raw(b"<html><body>502 Bad Gateway</body></html>", "text/html")),
    Bad("body-empty-json", raw(b"", JSON)),
    Bad("body-empty-msgpack", raw(b"", MSGPACK)),
    Bad("body-json-labelled-msgpack", Body(json.dumps({"items": [OK_JSON, OK_JSON]}).encode(), MSGPACK)),
    Bad("body-truncated-msgpack", Body(encode_body(OK_MSGPACK, OK_MSGPACK, pack=M).content[:-3], MSGPACK)),
    Bad("body-trailing-bytes-msgpack", Body(encode_body(OK_MSGPACK, OK_MSGPACK, pack=M).content + b"\xc0", MSGPACK)),
    Bad("error-envelope-with-200", J(ENVELOPE)),
    Bad("error-string-with-200", J({"error": "Service shutting down", "detail": "draining"})),
    Bad("error-envelope-with-200-msgpack", M(ENVELOPE)),
    # dense values in JSON
    Bad("json-dense-strings", encode_body(dense(["0.5", "0.25"]), OK_JSON)),
    Bad("json-dense-words", encode_body(OK_JSON, dense(["zero", "one"]))),
    Bad("json-dense-2d", encode_body(dense([[0.5, 0.25]]), OK_JSON)),
    Bad("json-dense-missing", encode_body(OK_JSON, {"dense": {"dims": 2, "dtype": "float32"}})),
    Bad("json-dense-null", encode_body(OK_JSON, dense(None))),
    Bad("json-dense-an-object", encode_body(OK_JSON, dense({"0": 0.5}))),
    Bad("json-dense-int8-out-of-range", encode_body(OK_JSON, dense([300, 1], "int8"))),
    # dense values in msgpack
    Bad("msgpack-dtype-complex", encode_body(OK_MSGPACK, dense(array_map(type="<c8", data=b"\x00" * 16)), pack=M)),
    Bad(
        "msgpack-dtype-object-pickle",
        encode_body(OK_MSGPACK, dense(array_map(type="|O", kind=b"O", shape=[1], data=b"\x80\x04N.")), pack=M),
    ),
    Bad("msgpack-dtype-bytes-S4", encode_body(OK_MSGPACK, dense(array_map(type="|S4")), pack=M)),
    Bad("msgpack-dtype-unicode", encode_body(OK_MSGPACK, dense(array_map(type="<U1")), pack=M)),
    Bad("msgpack-dtype-datetime", encode_body(OK_MSGPACK, dense(array_map(type="<M8[s]", data=b"\x00" * 16)), pack=M)),
    Bad("msgpack-dtype-unknown", encode_body(OK_MSGPACK, dense(array_map(type="float32")), pack=M)),
    Bad("msgpack-dtype-not-a-string", encode_body(OK_MSGPACK, dense(array_map(type=4)), pack=M)),
    Bad("msgpack-dtype-missing", encode_body(OK_MSGPACK, dense(array_map(type=None)), pack=M)),
    Bad("msgpack-kind-structured", encode_body(OK_MSGPACK, dense(array_map(kind=b"V")), pack=M)),
    Bad("msgpack-kind-object-float-type", encode_body(OK_MSGPACK, dense(array_map(kind=b"O")), pack=M)),
    Bad("msgpack-nd-false-with-array-data", encode_body(OK_MSGPACK, dense(array_map(nd=False)), pack=M)),
    Bad("msgpack-2d-for-dense", encode_body(OK_MSGPACK, dense(array_map(shape=[1, 2])), pack=M)),
    Bad("msgpack-0d-scalar-for-dense", encode_body(OK_MSGPACK, dense(array_map(nd=False, data=b"\x00" * 4)), pack=M)),
    Bad("msgpack-data-shorter-than-shape", encode_body(OK_MSGPACK, dense(array_map(shape=[3])), pack=M)),
    Bad("msgpack-data-longer-than-shape", encode_body(OK_MSGPACK, dense(array_map(data=b"\x00" * 9)), pack=M)),
    Bad("msgpack-data-a-str", encode_body(OK_MSGPACK, dense(array_map(data="\x00" * 8)), pack=M)),
    Bad("msgpack-data-missing", encode_body(OK_MSGPACK, dense(array_map(data=None)), pack=M)),
    Bad("msgpack-shape-a-str", encode_body(OK_MSGPACK, dense(array_map(shape="2")), pack=M)),
    Bad("msgpack-shape-floats", encode_body(OK_MSGPACK, dense(array_map(shape=[2.0])), pack=M)),
    Bad("msgpack-shape-missing", encode_body(OK_MSGPACK, dense(array_map(shape=None)), pack=M)),
]

# Declared sizes no buffer backs: each must fail fast, without allocating what it declares.
ABSURD = [
    Bad("shape-1e12", encode_body(OK_MSGPACK, dense(array_map(shape=[10**12])), pack=M)),
    Bad("shape-2^62-by-2^62", encode_body(OK_MSGPACK, dense(array_map(shape=[2**62, 2**62])), pack=M)),
    Bad("shape-2^63", encode_body(OK_MSGPACK, dense(array_map(shape=[2**63])), pack=M)),
    Bad("shape-2^64-1", encode_body(OK_MSGPACK, dense(array_map(shape=[2**64 - 1])), pack=M)),
    Bad("shape-2^62-by-0-empty-data", encode_body(OK_MSGPACK, dense(array_map(shape=[2**62, 0], data=b"")), pack=M)),
    Bad("shape-8-dims-of-2^31", encode_body(OK_MSGPACK, dense(array_map(shape=[2**31] * 8)), pack=M)),
    Bad("shape-64-dims", encode_body(OK_MSGPACK, dense(array_map(shape=[1] * 64, data=b"\x00" * 4)), pack=M)),
    Bad("shape-negative", encode_body(OK_MSGPACK, dense(array_map(shape=[-1])), pack=M)),
    Bad("shape-two-negatives", encode_body(OK_MSGPACK, dense(array_map(shape=[-(2**62), -(2**62)])), pack=M)),
    Bad("array32-of-4G-items", raw(b"\x82\xa5model\xa1m\xa5items\xdd\xff\xff\xff\xff", MSGPACK)),
    Bad("map32-of-4G-keys", raw(b"\xdf\xff\xff\xff\xff", MSGPACK)),
    Bad("bin32-of-4GB", raw(b"\x81\xa5items\x91\x81\xa5dense\xc6\xff\xff\xff\xff", MSGPACK)),
    Bad("str32-of-4GB", raw(b"\x81\xa5items\xdb\xff\xff\xff\xff", MSGPACK)),
    Bad("ext32-of-4GB", raw(b"\x81\xa5items\xc9\xff\xff\xff\xff\x01", MSGPACK)),
    Bad("array16-claims-65535-items", raw(b"\x81\xa5items\xdc\xff\xff" + msgpack.packb(OK_MSGPACK), MSGPACK)),
    Bad("msgpack-nested-100000-deep", raw(b"\x81\xa5items" + b"\x91" * 100_000, MSGPACK)),
    Bad("json-nested-100000-deep", raw(b'{"items": ' + b"[" * 100_000, JSON)),
    Bad("json-million-digit-integer", raw(b'{"items": [{"dense": {"values": [' + b"9" * 10**6 + b"]}}]}", JSON)),
]


@pytest.mark.parametrize("row", ENCODE_BAD, ids=lambda r: r.id)
async def test_client_encode_refuses_hostile_body(sie: Any, row: Bad) -> None:
    """The MockTransport answers encode with a crafted body: a typed error, no (partial) result."""
    sie.server.then(lambda request: row.body.response())
    with pytest.raises(row.error) as caught:
        await sie.call(sie.client().encode("m", ["a", "b"]))
    assert caught.value.code == row.code
    assert sie.server.count == 1  # a malformed answer is not a reason to send again


def _tracing_peak(run: Callable[[], Any]) -> int:
    """Peak traced memory while ``run`` executes (bytes)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()


@pytest.mark.parametrize("row", ABSURD, ids=lambda r: r.id)
def test_absurd_declared_sizes_fail_fast_in_bounded_memory(sie_server: Any, row: Bad) -> None:
    """The MockTransport declares sizes nothing backs: RequestError, and peak memory stays under 50 MB."""
    sie_server.then(lambda request: row.body.response())
    client = SIEClient("http://sie.test", http_client=httpx.Client(transport=httpx.MockTransport(sie_server)))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.encode("m", ["a", "b"])
        except RequestError as exc:
            errors.append(exc)

    peak = _tracing_peak(run)
    assert len(errors) == 1, "the absurd body was accepted"
    assert errors[0].code in (MALFORMED, COUNT)
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.1f} MiB"


def lc_embeddings(server: Server, **kwargs: Any) -> LCEmbeddings:
    return LCEmbeddings(model="m", **server.kw, **kwargs)


def li_embeddings(server: Server, **kwargs: Any) -> LIEmbeddings:
    return LIEmbeddings(model_name="m", **server.kw, **kwargs)


# The embeddings adapters also must not accept what the client does not check per item.
ADAPTER_ONLY_ENCODE_BAD = [
    Bad("vectors-of-different-lengths", encode_body(OK_JSON, dense([0.5, 0.25, 1.0]))),
    Bad(
        "msgpack-vectors-of-different-lengths",
        encode_body(OK_MSGPACK, dense(np_map(np.array([0.5, 0.25, 1.0], dtype="<f4"))), pack=M),
    ),
    Bad("an-item-without-dense", encode_body(OK_JSON, {"sparse": {"indices": [1], "values": [0.5]}})),
]

EMBED_VIA = {
    "lc-embed-documents": lambda s, m: sync_or_async(lc_embeddings(s), "embed_documents", m, ["a", "b"]),
    "li-get-text-embedding-batch": lambda s, m: sync_or_async(
        li_embeddings(s), "get_text_embedding_batch", m, ["a", "b"]
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(EMBED_VIA))
@pytest.mark.parametrize("row", ENCODE_BAD + ADAPTER_ONLY_ENCODE_BAD, ids=lambda r: r.id)
async def test_embeddings_adapters_refuse_hostile_body(row: Bad, via: str, mode: str) -> None:
    """Through SIEEmbeddings (LangChain, LlamaIndex), the MockTransport's crafted body ends in a typed error."""
    server = Server(row.body)
    with pytest.raises(SIEError) as caught:
        await EMBED_VIA[via](server, mode)
    assert caught.value.code in (row.code, MALFORMED)
    assert len(server.requests) == 1


# A body the client may accept or refuse; when it accepts, the values must be where they were sent.
async def test_nan_in_dense_values_is_kept_in_place_or_refused(sie: Any) -> None:
    """The MockTransport answers a JSON NaN in a vector (Python's json reads it): in place, or a typed error."""
    body = raw(
        b'{"items": [{"dense": {"dtype": "float32", "values": [0.5, NaN]}}, ' + b'{"dense": {"values": [1, 2]}}]}'
    )
    sie.server.then(lambda request: body.response())
    outcome: Any
    try:
        outcome = await sie.call(sie.client().encode("m", ["a", "b"]))
    except RequestError as exc:
        outcome = exc
    if isinstance(outcome, RequestError):
        assert outcome.code == MALFORMED
    else:
        first, second = outcome
        assert first.dense[0] == 0.5
        assert math.isnan(first.dense[1])
        assert second.dense.tolist() == [1.0, 2.0]


# --- embeddings adapters with batching: one batch answered wrongly -----------------------------


def _batch_of(request: httpx.Request) -> list[int]:
    return [int(item["text"][1:]) for item in decoded(request)["items"]]


def _vectors(positions: list[int]) -> list[dict[str, Any]]:
    return [dense(np_map(np.array([float(i), -float(i)], dtype="<f4"))) for i in positions]


def _batches_answered(wrong: Callable[[list[int]], Body]) -> Callable[[httpx.Request], httpx.Response]:
    """Every batch answered right, except the one holding ``t3`` (the second of four)."""

    def reply(request: httpx.Request) -> httpx.Response:
        positions = _batch_of(request)
        if 3 in positions:
            return wrong(positions).response()
        return encode_body(*_vectors(positions), pack=M).response()

    return reply


@dataclass(frozen=True)
class WrongBatch:
    """How the MockTransport answers the batch holding ``t3``: ``answer(positions)``; raises with ``code``."""

    id: str
    answer: Callable[[list[int]], Body]
    code: str = MALFORMED


BATCH_BAD = [
    WrongBatch("one-vector-fewer", lambda p: encode_body(*_vectors(p[:-1]), pack=M), COUNT),
    WrongBatch("one-vector-more", lambda p: encode_body(*_vectors([*p, 99]), pack=M), COUNT),
    WrongBatch("no-vectors", lambda p: encode_body(pack=M), COUNT),
    WrongBatch("reversed-and-one-dropped", lambda p: encode_body(*_vectors(p[::-1][1:]), pack=M), COUNT),
    WrongBatch("json-one-vector-fewer", lambda p: encode_body(*[dense([float(i), 0.0]) for i in p[1:]]), COUNT),
    WrongBatch("an-unsafe-dtype", lambda p: encode_body(*[dense(array_map(type="|O", kind=b"O")) for _ in p], pack=M)),
    WrongBatch("error-envelope-with-200", lambda p: M(ENVELOPE)),
]
TEN = [f"t{i}" for i in range(10)]
BATCHED_VIA = {
    "lc-embed-documents": lambda s, m: sync_or_async(
        lc_embeddings(s, batch_size=3, max_concurrency=2), "embed_documents", m, TEN
    ),
    "li-get-text-embedding-batch": lambda s, m: sync_or_async(
        li_embeddings(s, embed_batch_size=3, max_concurrency=2), "get_text_embedding_batch", m, TEN
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(BATCHED_VIA))
@pytest.mark.parametrize("row", BATCH_BAD, ids=lambda r: r.id)
async def test_one_bad_batch_fails_the_whole_embed(row: WrongBatch, via: str, mode: str) -> None:
    """Ten texts in four batches; the MockTransport answers the second batch wrongly: an error, never short."""
    server = Server(_batches_answered(row.answer))
    outcome: Any = None
    with pytest.raises(SIEError) as caught:
        outcome = await BATCHED_VIA[via](server, mode)
    assert outcome is None
    assert caught.value.code == row.code
    assert any(3 in _batch_of(r) for r in server.requests)


# --- score -------------------------------------------------------------------------------------

SCORE_COUNT = "SCORE_RESULT_COUNT_MISMATCH"


def scores(*entries: Any, pack: Callable[[Any], Body] = J) -> Body:
    return pack({"model": "m", "query_id": None, "scores": list(entries)})


def entry(item_id: Any, score: Any = 1.0, rank: Any = 0) -> dict[str, Any]:
    return {"item_id": item_id, "score": score, "rank": rank}


S0, S1, S2 = entry("item-0", 3.0, 0), entry("item-1", 2.0, 1), entry("item-2", 1.0, 2)

SCORE_BAD = [
    Bad("one-score-fewer", scores(S0, S1), SCORE_COUNT),
    Bad("one-score-more", scores(S0, S1, S2, entry("item-3")), SCORE_COUNT),
    Bad("a-score-repeated-on-top", scores(S0, S1, S2, S0), SCORE_COUNT),
    Bad("no-scores", scores(), SCORE_COUNT),
    Bad("msgpack-one-score-fewer", scores(S0, S1, pack=M), SCORE_COUNT),
    Bad("id-never-sent", scores(S0, S1, entry("item-7"))),
    Bad("id-repeated", scores(S0, S1, entry("item-0", 0.5, 2))),
    Bad("id-an-int", scores(S0, S1, entry(2))),
    Bad("id-missing", scores(S0, S1, {"score": 1.0, "rank": 2})),
    Bad("id-of-the-query", scores(S0, S1, entry("query"))),
    Bad("score-a-string", scores(S0, S1, entry("item-2", "1.0", 2))),
    Bad("score-a-bool", scores(S0, S1, entry("item-2", True, 2))),
    Bad("score-null", scores(S0, S1, entry("item-2", None, 2))),
    Bad("score-nan", raw(scores(S0, S1, entry("item-2", 1.5, 2)).content.replace(b"1.5", b"NaN"))),
    Bad("score-infinity", raw(scores(S0, S1, entry("item-2", 1.5, 2)).content.replace(b"1.5", b"Infinity"))),
    Bad("msgpack-score-minus-inf", scores(S0, S1, entry("item-2", -math.inf, 2), pack=M)),
    Bad("msgpack-score-nan", scores(S0, entry("item-1", math.nan, 1), S2, pack=M)),
    Bad("scores-an-object", J({"scores": {"item-0": 1.0, "item-1": 2.0, "item-2": 3.0}})),
    Bad("scores-missing", J({"model": "m", "results": [S0, S1, S2]})),
    Bad("entry-a-number", scores(S0, S1, 1.0)),
    Bad("error-envelope-with-200", J(ENVELOPE)),
    Bad("body-a-list", J([S0, S1, S2])),
]


def lc_rerank(server: Server, mode: str) -> Awaitable[Any]:
    docs = [Document(page_content=t) for t in ("a", "b", "c")]
    return sync_or_async(LCReranker(model="m", top_n=None, **server.kw), "compress_documents", mode, docs, "q")


def li_rerank(server: Server, mode: str) -> Awaitable[Any]:
    nodes = [NodeWithScore(node=TextNode(text=t)) for t in ("a", "b", "c")]
    return sync_or_async(
        LIReranker(model_name="m", top_n=3, **server.kw), "postprocess_nodes", mode, nodes, query_str="q"
    )


def client_score(server: Server, mode: str) -> Awaitable[Any]:
    async def run() -> Any:
        if mode == "sync":
            return SIEClient("http://sie.test", http_client=server.kw["http_client"]).score("m", "q", ["a", "b", "c"])
        client = AsyncSIEClient("http://sie.test", http_client=server.kw["http_async_client"])
        return await client.score("m", "q", ["a", "b", "c"])

    return run()


SCORE_VIA = {"client-score": client_score, "lc-compress-documents": lc_rerank, "li-postprocess-nodes": li_rerank}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(SCORE_VIA))
@pytest.mark.parametrize("row", SCORE_BAD, ids=lambda r: r.id)
async def test_score_refuses_hostile_body(row: Bad, via: str, mode: str) -> None:
    """The MockTransport answers three documents with crafted scores: a typed error, never a wrong ranking."""
    server = Server(row.body)
    with pytest.raises(row.error) as caught:
        await SCORE_VIA[via](server, mode)
    assert caught.value.code == row.code
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_score_rank_that_is_not_an_int_falls_back_to_position(mode: str) -> None:
    """Lenient: a MockTransport rank of the wrong type is replaced by the entry's position; indices stay right."""
    server = Server(scores(entry("item-2", 3.0, "first"), entry("item-0", 2.0, None), entry("item-1", 1.0, 2.5)))
    result = await client_score(server, mode)
    assert [(e.index, e.score, e.rank) for e in result] == [(2, 3.0, 0), (0, 2.0, 1), (1, 1.0, 2)]


# --- extract -----------------------------------------------------------------------------------

EXTRACT_COUNT = "EXTRACT_RESULT_COUNT_MISMATCH"


def extracted(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"entities": [], "relations": [], "classifications": [], "objects": [], "data": {}}
    return {**base, **fields}


def extract_body(*items: Any, pack: Callable[[Any], Body] = J) -> Body:
    return pack({"model": "m", "items": list(items)})


ENTITY = {"text": "Ada", "label": "person", "score": 0.9, "start": 0, "end": 3, "bbox": None}
E_OK = extracted(id="item-0", entities=[ENTITY])

EXTRACT_BAD = [
    Bad("one-item-fewer", extract_body(E_OK), EXTRACT_COUNT),
    Bad("one-item-more", extract_body(E_OK, E_OK, E_OK), EXTRACT_COUNT),
    Bad("msgpack-one-item-more", extract_body(E_OK, E_OK, E_OK, pack=M), EXTRACT_COUNT),
    Bad("items-missing", J({"model": "m"})),
    Bad("item-a-list", extract_body(E_OK, [ENTITY])),
    Bad("entity-without-label", extract_body(E_OK, extracted(entities=[{"text": "Ada", "score": 0.9}]))),
    Bad("entity-score-a-string", extract_body(E_OK, extracted(entities=[{**ENTITY, "score": "high"}]))),
    Bad("entity-score-a-bool", extract_body(E_OK, extracted(entities=[{**ENTITY, "score": True}]))),
    Bad("entities-an-object", extract_body(E_OK, extracted(entities={"Ada": "person"}))),
    Bad("entities-of-strings", extract_body(E_OK, extracted(entities=["Ada"]))),
    Bad("relation-without-tail", extract_body(E_OK, extracted(relations=[{"head": "a", "relation": "r", "score": 1}]))),
    Bad("bbox-of-words", extract_body(E_OK, extracted(objects=[{"label": "cat", "score": 0.5, "bbox": ["x"]}]))),
    Bad("error-envelope-with-200", J(ENVELOPE)),
    Bad(
        "per-item-error-input-too-long",
        extract_body(E_OK, extracted(id="item-1", error={"code": "INPUT_TOO_LONG", "message": "item too long"})),
        "INPUT_TOO_LONG",
        InputTooLongError,
    ),
    Bad(
        "per-item-error-malformed",
        extract_body(E_OK, extracted(id="item-1", error="boom")),
        "INTERNAL_ERROR",
        ServerError,
    ),
]


def client_extract(server: Server, mode: str) -> Awaitable[Any]:
    async def run() -> Any:
        if mode == "sync":
            client = SIEClient("http://sie.test", http_client=server.kw["http_client"])
            return client.extract("m", ["Ada", "Bob"], labels=["person"])
        async_client = AsyncSIEClient("http://sie.test", http_client=server.kw["http_async_client"])
        return await async_client.extract("m", ["Ada", "Bob"], labels=["person"])

    return run()


def lc_transform(server: Server, mode: str) -> Awaitable[Any]:
    transformer = LCExtractionTransformer(model="m", labels=["person"], **server.kw)
    docs = [Document(page_content="Ada"), Document(page_content="Bob")]
    return sync_or_async(transformer, "transform_documents", mode, docs)


EXTRACT_VIA = {"client-extract": client_extract, "lc-transform-documents": lc_transform}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(EXTRACT_VIA))
@pytest.mark.parametrize("row", EXTRACT_BAD, ids=lambda r: r.id)
async def test_extract_refuses_hostile_body(row: Bad, via: str, mode: str) -> None:
    """The MockTransport answers two texts with a crafted extraction: a typed error, nothing partial."""
    server = Server(row.body)
    with pytest.raises(row.error) as caught:
        await EXTRACT_VIA[via](server, mode)
    assert caught.value.code == row.code
    if row.id.startswith("per-item"):
        assert caught.value.item_index == 1  # names the failed input


# --- chat --------------------------------------------------------------------------------------


def completion(message: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok", **(message or {})}}],
    }
    return {**body, **fields}


def tool_call(arguments: Any, **function: Any) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments, **function}}


CHAT_BAD = [
    Bad("choices-empty", J(completion(choices=[]))),
    Bad("choices-missing", J({"id": "c1", "model": "m"})),
    Bad("choices-null", J(completion(choices=None))),
    Bad("choices-an-object", J(completion(choices={"0": {"message": {"content": "ok"}}}))),
    Bad("choice-without-message", J(completion(choices=[{"index": 0, "finish_reason": "stop"}]))),
    Bad("content-a-number", J(completion({"content": 42}))),
    Bad("content-a-list-of-strings", J(completion({"content": ["o", "k"]}))),
    Bad("tool-arguments-an-object", J(completion({"content": None, "tool_calls": [tool_call({"city": "Oslo"})]}))),
    Bad("tool-call-without-function", J(completion({"tool_calls": [{"id": "call_1", "type": "function"}]}))),
    Bad("tool-calls-an-object", J(completion({"tool_calls": {"id": "call_1"}}))),
    Bad("usage-tokens-words", J(completion(usage={"prompt_tokens": "many"}))),
    Bad("body-a-list", J([completion()])),
    Bad("body-html", raw(b"<!doctype html><title>502</title>", "text/html")),
    Bad("body-empty", raw(b"")),
    Bad(
        "body-sse-to-a-plain-request", raw(b"data: " + json.dumps(completion()).encode() + b"\n\n", "text/event-stream")
    ),
    Bad("body-nested-100000-deep", raw(b'{"choices": ' + b"[" * 100_000)),
    Bad("error-envelope-with-200", J(ENVELOPE)),
    Bad("error-string-with-200", J({"error": "upstream exploded"})),
]

LI_USER = [ChatMessage(role=MessageRole.USER, content="hi")]


def client_chat(server: Server, mode: str) -> Awaitable[Any]:
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

    async def run() -> Any:
        if mode == "sync":
            return SIEClient("http://sie.test", http_client=server.kw["http_client"]).chat_completions(request)
        return await AsyncSIEClient("http://sie.test", http_client=server.kw["http_async_client"]).chat_completions(
            request
        )

    return run()


def lc_chat(server: Server) -> LCChat:
    return LCChat(model="m", **server.kw)


def li_chat(server: Server) -> LIChat:
    return LIChat(model_name="m", context_window=4096, **server.kw)


CHAT_VIA = {
    "client-chat-completions": client_chat,
    "lc-invoke": lambda s, m: sync_or_async(lc_chat(s), "invoke", m, "hi"),
    "li-chat": lambda s, m: sync_or_async(li_chat(s), "chat", m, LI_USER),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(CHAT_VIA))
@pytest.mark.parametrize("row", CHAT_BAD, ids=lambda r: r.id)
async def test_chat_refuses_hostile_body(row: Bad, via: str, mode: str) -> None:
    """The MockTransport answers a chat completion with a crafted body: a typed error, sent once."""
    server = Server(row.body)
    with pytest.raises(row.error) as caught:
        await CHAT_VIA[via](server, mode)
    assert caught.value.code == row.code
    assert len(server.requests) == 1  # chat is never re-sent
    if "envelope" in row.id or "string-with-200" in row.id:
        assert "worker crashed" in caught.value.message or "upstream exploded" in caught.value.message


# (the arguments the server sends; the args of LangChain's valid tool call, or None for an invalid tool call;
#  the tool_kwargs of LlamaIndex's ToolCallBlock, or None when it keeps the raw string)
TOOL_ARGUMENTS: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ('{"city": "Os', None, None),
    ("not json", None, None),
    ("{'city': 'Oslo'}", None, None),
    ('{"city": "Oslo"}{"unit": "C"}', None, None),
    ('{"city": "Os\x00lo"}', {"city": "Os\x00lo"}, None),  # LangChain parses non-strict JSON
    ("[1, 2]", None, None),
    ('"Oslo"', None, None),
    ("42", None, None),
    ("true", None, None),
    ("null", {}, None),
    ("", {}, {}),
    ("   ", None, {}),
]


def _tool_completion(arguments: str) -> Body:
    return J(completion({"content": None, "tool_calls": [tool_call(arguments)]}, usage={"prompt_tokens": 1}))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_client_keeps_them_verbatim(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """Lenient: the client returns the MockTransport's arguments string as it came (the caller parses it)."""
    completion_ = await client_chat(Server(_tool_completion(arguments)), mode)
    (call_,) = completion_.choices[0].message.tool_calls
    assert (call_.id, call_.function.name, call_.function.arguments) == ("call_1", "get_weather", arguments)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_langchain_gives_invalid_tool_calls(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """The MockTransport's unparseable (or non-object) arguments become ``invalid_tool_calls``, verbatim."""
    message = await sync_or_async(lc_chat(Server(_tool_completion(arguments))), "invoke", mode, "weather?")
    if lc_args is None:
        assert message.tool_calls == []
        (invalid,) = message.invalid_tool_calls
        assert (invalid["id"], invalid["name"], invalid["args"]) == ("call_1", "get_weather", arguments)
        assert invalid["error"]
    else:
        assert message.invalid_tool_calls == []
        assert [(c["id"], c["args"]) for c in message.tool_calls] == [("call_1", lc_args)]


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_llama_index_does_not_raise(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """The MockTransport's bad arguments stay on the ToolCallBlock; tool selection gives a dict, never raises."""
    llm = li_chat(Server(_tool_completion(arguments)))
    for response in (
        await sync_or_async(llm, "chat", mode, LI_USER),
        await sync_or_async(llm, "chat_with_tools", mode, [FunctionTool.from_defaults(fn=get_weather)], user_msg="w?"),
    ):
        (block,) = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        assert (block.tool_call_id, block.tool_name) == ("call_1", "get_weather")
        assert block.tool_kwargs == (arguments if li_kwargs is None else li_kwargs)
        (selection,) = llm.get_tool_calls_from_response(response)
        assert selection.tool_name == "get_weather"
        assert isinstance(selection.tool_kwargs, dict)


# --- generate and models -----------------------------------------------------------------------

OTHER_BAD = [
    Bad("generate-text-missing", J({"model": "m", "finish_reason": "stop"})),
    Bad("generate-text-a-number", J({"model": "m", "text": 7})),
    Bad("generate-model-missing", J({"text": "ok"})),
    Bad("generate-error-envelope-with-200", J({"error": {"code": "empty_model_output", "message": "nothing"}})),
    Bad("generate-body-a-string", J("ok")),
    Bad("model-without-name", J({"inputs": ["text"]})),
    Bad("model-name-a-number", J({"name": 7})),
    Bad("model-error-envelope-with-200", J({"error": {"code": "MODEL_NOT_FOUND", "message": "no such model"}})),
    Bad("models-not-a-list", J({"models": {"name": "m"}})),
    Bad("models-entry-without-name", J({"models": [{"name": "m"}, {"id": "x"}]})),
]


@pytest.mark.parametrize("row", OTHER_BAD, ids=lambda r: r.id)
async def test_generate_and_models_refuse_hostile_body(sie: Any, row: Bad) -> None:
    """The MockTransport answers generate / models with a crafted body: RequestError MALFORMED_RESPONSE."""
    sie.server.then(lambda request: row.body.response())
    client = sie.client()
    run = {
        "generate": lambda: client.generate("m", "p", max_new_tokens=2),
        "model": lambda: client.get_model("m"),
        "models": lambda: client.list_models(),
    }[row.id.split("-")[0]]
    with pytest.raises(row.error) as caught:
        await sie.call(run())
    assert caught.value.code == row.code


# --- MODEL_LOADING in the middle of a large batched embed ----------------------------------------

THIRTY = [f"t{i}" for i in range(30)]  # ten batches of three
COLD_BATCH = 3  # the fourth batch: t9, t10, t11


class ColdBatchServer:
    """A MockTransport handler for batched embeds: the fourth batch first gets 503 MODEL_LOADING.

    Every vector is ``[position, -position]``, so the order of the result is checkable. Thread-safe (the sync
    adapters send batches from a thread pool).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: dict[int, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        positions = _batch_of(request)
        batch = positions[0] // 3
        with self.lock:
            self.attempts[batch] = self.attempts.get(batch, 0) + 1
            first = self.attempts[batch] == 1
        if batch == COLD_BATCH and first:
            envelope = {"error": {"code": "MODEL_LOADING", "message": "model m is loading", "type": "server_error"}}
            return httpx.Response(503, json=envelope, headers={"Retry-After": "2"})
        return encode_body(*_vectors(positions), pack=M).response()

    def kw(self) -> dict[str, Any]:
        return {
            "base_url": "http://sie.test",
            "http_client": httpx.Client(transport=httpx.MockTransport(self)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self)),
        }


COLD_VIA: dict[str, Callable[[ColdBatchServer, str, bool], Awaitable[Any]]] = {
    "lc-embed-documents": lambda s, m, wait: sync_or_async(
        LCEmbeddings(model="m", batch_size=3, max_concurrency=2, wait_for_capacity=wait, **s.kw()),
        "embed_documents",
        m,
        THIRTY,
    ),
    "li-get-text-embedding-batch": lambda s, m, wait: sync_or_async(
        LIEmbeddings(model_name="m", embed_batch_size=3, max_concurrency=2, wait_for_capacity=wait, **s.kw()),
        "get_text_embedding_batch",
        m,
        THIRTY,
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(COLD_VIA))
async def test_model_loading_mid_batch_is_waited_out_in_order(via: str, mode: str, fake_sleeps: list[float]) -> None:
    """The MockTransport refuses the fourth of ten batches once (503 MODEL_LOADING, Retry-After: 2).

    The result has all thirty vectors in input order; only that batch is sent twice; the wait honoured
    Retry-After.
    """
    server = ColdBatchServer()
    vectors = await COLD_VIA[via](server, mode, True)
    assert len(vectors) == len(THIRTY)
    assert [tuple(v) for v in vectors] == [(float(i), -float(i)) for i in range(30)]
    assert server.attempts == {b: 2 if b == COLD_BATCH else 1 for b in range(10)}
    assert fake_sleeps == [2.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via", list(COLD_VIA))
async def test_model_loading_mid_batch_without_waiting_raises(via: str, mode: str, fake_sleeps: list[float]) -> None:
    """With wait_for_capacity=False the MockTransport's 503 MODEL_LOADING is a ModelLoadingError; nothing returned."""
    server = ColdBatchServer()
    outcome: Any = None
    with pytest.raises(ModelLoadingError) as caught:
        outcome = await COLD_VIA[via](server, mode, False)
    assert outcome is None
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (503, "MODEL_LOADING", 2.0)
    assert "wait_for_capacity is off" in error.message
    assert server.attempts[COLD_BATCH] == 1
    assert all(n == 1 for n in server.attempts.values())
    assert fake_sleeps == []


# --- the size of every table -------------------------------------------------------------------

TABLES = {
    "encode": ENCODE_BAD,
    "encode, absurd sizes": ABSURD,
    "encode, adapters only": ADAPTER_ONLY_ENCODE_BAD,
    "encode, NaN in a vector": ["nan"],
    "batched embeds": BATCH_BAD,
    "score": SCORE_BAD,
    "score, lenient rank": ["rank"],
    "extract": EXTRACT_BAD,
    "chat": CHAT_BAD,
    "chat, tool arguments": TOOL_ARGUMENTS,
    "generate and models": OTHER_BAD,
}
HOSTILE_RESPONSES = sum(len(rows) for rows in TABLES.values())
MODEL_LOADING_CASES = len(COLD_VIA) * len(MODES) * 2  # waited out, and refused without waiting


def test_table_sizes() -> None:
    """Every table has rows with unique ids (each row is one distinct hostile response)."""
    for name, rows in TABLES.items():
        ids = [getattr(r, "id", r) for r in rows]
        assert ids, name
        assert len(set(map(repr, ids))) == len(ids), name
    assert HOSTILE_RESPONSES >= 150
    assert MODEL_LOADING_CASES == 8
