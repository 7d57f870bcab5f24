"""What a broken server answers: crafted response bodies, table by table, each with the typed error it must end in.

Every row of a ``*_BAD`` table is one crafted 200 answer (msgpack or JSON) to encode, score, extract, chat, generate
or the model routes: wrong item counts, ids that do not match, unsafe or unknown dtypes, wrong shapes, absurd
declared sizes, huge declared container lengths, non-finite scores, a chat completion without choices, an error
envelope sent with HTTP 200. ``answering(body)`` is a scripted server that gives one of them to every request;
``cold_batches()`` is a model that goes cold in the middle of a large batched embed. The tests that send them
are ``test_hostile_responses.py`` in ``tests/http``, ``tests/langchain`` and ``tests/llama_index``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgpack
import numpy as np

from sie_integrations import (
    InputTooLongError,
    RequestError,
    ServerError,
    SIEError,
)
from tests.fakes.scripted import MockServer
from tests.fakes.sie import FakeSIE, decoded

MSGPACK = "application/msgpack"
JSON = "application/json"
MALFORMED = "MALFORMED_RESPONSE"


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


# The embeddings adapters also must not accept what the client does not check per item.
ADAPTER_ONLY_ENCODE_BAD = [
    Bad("vectors-of-different-lengths", encode_body(OK_JSON, dense([0.5, 0.25, 1.0]))),
    Bad(
        "msgpack-vectors-of-different-lengths",
        encode_body(OK_MSGPACK, dense(np_map(np.array([0.5, 0.25, 1.0], dtype="<f4"))), pack=M),
    ),
    Bad("an-item-without-dense", encode_body(OK_JSON, {"sparse": {"indices": [1], "values": [0.5]}})),
]


# --- embeddings adapters with batching: one batch answered wrongly -----------------------------


def batch_of(request: httpx.Request) -> list[int]:
    return [int(item["text"][1:]) for item in decoded(request)["items"]]


def position_vectors(positions: list[int]) -> list[dict[str, Any]]:
    return [dense(np_map(np.array([float(i), -float(i)], dtype="<f4"))) for i in positions]


def answering_batches(wrong: Callable[[list[int]], Body]) -> Callable[[httpx.Request], httpx.Response]:
    """Every batch answered right, except the one holding ``t3`` (the second of four)."""

    def reply(request: httpx.Request) -> httpx.Response:
        positions = batch_of(request)
        if 3 in positions:
            return wrong(positions).response()
        return encode_body(*position_vectors(positions), pack=M).response()

    return reply


@dataclass(frozen=True)
class WrongBatch:
    """How the MockTransport answers the batch holding ``t3``: ``answer(positions)``; raises with ``code``."""

    id: str
    answer: Callable[[list[int]], Body]
    code: str = MALFORMED


BATCH_BAD = [
    WrongBatch("one-vector-fewer", lambda p: encode_body(*position_vectors(p[:-1]), pack=M), COUNT),
    WrongBatch("one-vector-more", lambda p: encode_body(*position_vectors([*p, 99]), pack=M), COUNT),
    WrongBatch("no-vectors", lambda p: encode_body(pack=M), COUNT),
    WrongBatch("reversed-and-one-dropped", lambda p: encode_body(*position_vectors(p[::-1][1:]), pack=M), COUNT),
    WrongBatch("json-one-vector-fewer", lambda p: encode_body(*[dense([float(i), 0.0]) for i in p[1:]]), COUNT),
    WrongBatch("an-unsafe-dtype", lambda p: encode_body(*[dense(array_map(type="|O", kind=b"O")) for _ in p], pack=M)),
    WrongBatch("error-envelope-with-200", lambda p: M(ENVELOPE)),
]
TEN = [f"t{i}" for i in range(10)]


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


def tool_completion(arguments: str) -> Body:
    return J(completion({"content": None, "tool_calls": [tool_call(arguments)]}, usage={"prompt_tokens": 1}))


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


# --- MODEL_LOADING in the middle of a large batched embed ----------------------------------------

THIRTY = [f"t{i}" for i in range(30)]  # ten batches of three
COLD_BATCH = 3  # the fourth batch: t9, t10, t11


def answering(body: Body | Callable[[httpx.Request], httpx.Response]) -> MockServer:
    """A scripted server that answers every request with ``body`` (or what ``body(request)`` returns)."""
    return MockServer().then(body if callable(body) else lambda request: body.response())


def cold_batches() -> FakeSIE:
    """A model that goes cold during a batched embed of ``THIRTY``: its fourth batch first gets 503 MODEL_LOADING
    (Retry-After: 2). Every vector is ``[position, -position]``, answered in msgpack."""
    refused: list[int] = []

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if body["items"][0]["text"] != f"t{3 * COLD_BATCH}" or refused:
            return None
        refused.append(number)
        envelope = {"error": {"code": "MODEL_LOADING", "message": "model m is loading", "type": "server_error"}}
        return httpx.Response(503, json=envelope, headers={"Retry-After": "2"})

    return FakeSIE(vector=lambda text: [float(text[1:]), -float(text[1:])], msgpack_vectors=True, refuse=refuse)


def batch_attempts(server: FakeSIE) -> dict[int, int]:
    """How many times each batch of three of ``THIRTY`` was sent."""
    counts: dict[int, int] = {}
    for texts in server.encode_batches:
        batch = int(texts[0][1:]) // 3
        counts[batch] = counts.get(batch, 0) + 1
    return counts
