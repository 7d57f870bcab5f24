"""Pure request builders and response parsers of _protocol.py, checked against the recorded transcripts."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sie_integrations._core.call import generate_path, model_path
from sie_integrations._core.chat_completions import chat_call, chat_request, parse_chat
from sie_integrations._core.codec import JSON, MSGPACK
from sie_integrations._core.encode import encode_call, parse_encode
from sie_integrations._core.extract import extract_call, parse_extract
from sie_integrations._core.generate import generate_call, parse_generate, parse_generate_chunk
from sie_integrations._core.score import parse_score, score_call
from sie_integrations.chat import ChatCompletionRequest, ToolCall
from sie_integrations.errors import InputTooLongError, RequestError, SIEError
from sie_integrations.types import (
    Classification,
    EncodeResult,
    Entity,
    GenerateResult,
    Image,
    Item,
    ItemLike,
    Relation,
    Usage,
)

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def transcript(name: str) -> tuple[str, bytes, bytes]:
    """(request path, request body, response body) of a recorded exchange, verbatim."""
    text = next(TRANSCRIPTS.glob(f"{name}-*.txt")).read_bytes()
    request, response = text.split(b"### RESPONSE\n", 1)
    request_line, request_body = request.split(b"### REQUEST\n", 1)[1].split(b"\n\n", 1)
    url = request_line.split(b"\n", 1)[0].split(b" ", 1)[1].decode()
    return urlsplit(url).path, request_body.strip(), response.split(b"\n\n", 1)[1]


def encode(items: list[Any], wire: str = "json", **kwargs: Any) -> Any:
    args: dict[str, Any] = {
        "output_types": ["dense"],
        "is_query": False,
        "instruction": None,
        "output_dtype": None,
        "options": None,
        "wire": wire,
    }
    args.update(kwargs)
    return encode_call("BAAI/bge-m3", items, **args)


def body_of(call: Any) -> Any:
    assert call.body is not None
    if call.content_type == MSGPACK:
        return msgpack.unpackb(call.body, raw=False)
    assert call.content_type == JSON
    return json.loads(call.body)


def np_map(array: np.ndarray[Any, Any]) -> dict[bytes, Any]:
    return {b"nd": True, b"type": array.dtype.str, b"kind": b"", b"shape": list(array.shape), b"data": array.tobytes()}


# --- encode requests ---------------------------------------------------------------------


@pytest.mark.parametrize("wire", ["json", "msgpack"])
def test_encode_body_matches_the_protocol_example(wire: str) -> None:
    call = encode(
        [Item(id="q1", text="how do sparse vectors work?")], wire, output_types=["dense", "sparse"], is_query=True
    )
    assert body_of(call) == {
        "items": [{"id": "q1", "text": "how do sparse vectors work?"}],
        "params": {"output_types": ["dense", "sparse"], "options": {"is_query": True}},
    }
    content_type = {"json": "application/json", "msgpack": "application/msgpack"}[wire]
    assert call.method == "POST"
    assert call.path == "/v1/encode/BAAI/bge-m3"
    assert call.headers == {"Accept": content_type, "Content-Type": content_type}
    assert call.idempotent


@pytest.mark.parametrize("wire", ["json", "msgpack"])
def test_encode_params(wire: str) -> None:
    options = {"profile": "fast", "normalize": False, "weights": [0.5, 1.0]}
    call = encode(
        ["a", "b"],
        wire,
        output_types=["multivector"],
        is_query=True,
        instruction="Represent this",
        output_dtype="float16",
        options=options,
    )
    body = body_of(call)
    assert body["items"] == [{"text": "a"}, {"text": "b"}]
    assert body["params"] == {
        "output_types": ["multivector"],
        "instruction": "Represent this",
        "output_dtype": "float16",
        "options": {"profile": "fast", "normalize": False, "weights": [0.5, 1.0], "is_query": True},
    }
    assert options == {"profile": "fast", "normalize": False, "weights": [0.5, 1.0]}  # caller's dict untouched


@pytest.mark.parametrize("wire", ["json", "msgpack"])
def test_is_query_lands_only_in_params_options(wire: str) -> None:
    body = body_of(encode(["q"], wire, is_query=True))
    assert body["params"]["options"]["is_query"] is True
    assert "is_query" not in body
    assert "is_query" not in body["params"]
    assert "options" not in body_of(encode(["d"], wire, is_query=False))["params"]


@pytest.mark.parametrize("wire", ["json", "msgpack"])
@pytest.mark.parametrize(
    "options",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"x": -math.inf},
        {"nested": {"deeper": {"y": math.nan}}},
        {"weights": [1.0, math.inf]},
        {"pair": (0.0, -math.inf)},
        {"x": np.float64("nan")},
    ],
)
def test_non_finite_options_refused(wire: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode(["x"], wire, options=options)


@pytest.mark.parametrize("output_types", [[], ["dense", "bogus"], ["Dense"], "dense", ["sparse", None]])
def test_output_types_validated(output_types: Any) -> None:
    with pytest.raises(ValueError, match="output_types"):
        encode(["x"], output_types=output_types)


@pytest.mark.parametrize(
    ("items", "position", "type_name"),
    [([None], 0, "NoneType"), (["ok", None], 1, "NoneType"), ([3], 0, "int"), (["a", "b", 4], 2, "int")],
)
@pytest.mark.parametrize("wire", ["json", "msgpack"])
def test_bad_items_name_their_position(items: list[Any], position: int, type_name: str, wire: str) -> None:
    with pytest.raises(TypeError, match=rf"item {position}\b.*{type_name}"):
        encode(items, wire)


@pytest.mark.parametrize("items", ["a single string", b"bytes", None, 42, {"text": "x"}])
def test_items_must_be_a_list(items: Any) -> None:
    with pytest.raises(TypeError, match="items must be a list"):
        encode(items)


def test_item_without_text_or_images_and_non_str_text() -> None:
    with pytest.raises(ValueError, match="item 1"):
        encode(["ok", Item(id="x")])
    with pytest.raises(TypeError, match="item 0"):
        encode([Item(text=5)])  # type: ignore[arg-type]


IMAGE = b"\x89PNG\r\n\x1a\n\x00\xfb\xff\xbf"  # \xfb\xff\xbf base64-encodes to "+/+/": standard alphabet


def test_images_are_bin_in_msgpack() -> None:
    item = Item(text="caption", images=(Image(IMAGE, "png"), Image(b"\xff\xd8", None)), id="i", metadata={"k": 1})
    raw = encode([item], "msgpack").body
    body = msgpack.unpackb(raw, raw=False)
    images = body["items"][0]["images"]
    assert images == [{"data": IMAGE, "format": "png"}, {"data": b"\xff\xd8", "format": None}]
    assert isinstance(images[0]["data"], bytes)  # bin, not a str
    assert base64.b64encode(IMAGE) not in raw
    assert body["items"][0]["metadata"] == {"k": 1}
    assert body["items"][0]["id"] == "i"


def test_images_are_standard_base64_in_json() -> None:
    body = body_of(encode([Item(images=(Image(IMAGE, "png"),))], "json"))
    (image,) = body["items"][0]["images"]
    assert image["format"] == "png"
    assert "+/+/" in image["data"]
    assert base64.b64decode(image["data"], validate=True) == IMAGE
    assert "text" not in body["items"][0]


# --- model ids in paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("BAAI/bge-m3", "BAAI/bge-m3"),
        ("sie-fake", "sie-fake"),
        ("org/sub/model_v1.5~x", "org/sub/model_v1.5~x"),
        ("model:profile", "model:profile"),
        ("org/model name", "org/model%20name"),
        ("a?b#c", "a%3Fb%23c"),
        ("100%", "100%25"),
        ("%2e%2e", "%252e%252e"),
        ("a\\b", "a%5Cb"),
        ("caf\u00e9/\u2603", "caf%C3%A9/%E2%98%83"),
        ("...", "..."),
        (".hidden/x.", ".hidden/x."),
    ],
)
def test_model_path(model: str, path: str) -> None:
    assert model_path(model) == path


@pytest.mark.parametrize(
    "model",
    [
        "",
        "   ",
        "..",
        ".",
        "a/../b",
        "../admin",
        "a/..",
        "./a",
        "a//b",
        "/a",
        "a/",
        "/",
        "a\x00b",
        "a\nb",
        "a\n",
        "\tmodel",
        "a\rb",
        "a\x7f",
        "a/\x1b/b",
    ],
)
def test_model_path_refuses(model: str) -> None:
    with pytest.raises(ValueError, match="model"):
        model_path(model)
    with pytest.raises(ValueError, match="model"):
        generate_path(model)


@pytest.mark.parametrize("model", [None, 3, b"BAAI/bge-m3"])
def test_model_path_refuses_non_strings(model: Any) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        model_path(model)


def acceptable(model: str) -> bool:
    """The rule: non-blank, no empty / '.' / '..' segment, no control character."""
    if not model.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in model):
        return False
    return all(s not in ("", ".", "..") for s in model.split("/"))


model_ids = st.text(st.sampled_from(list("ab./%?#: \\\n\r\t\x00\x7f\u00e9-_~")), max_size=12) | st.text(max_size=12)


@settings(max_examples=500)
@given(model_ids)
def test_no_model_id_reaches_another_route(model: str) -> None:
    try:
        path = model_path(model)
    except ValueError:
        assert not acceptable(model)
        return
    assert acceptable(model)
    assert re.fullmatch(r"[A-Za-z0-9:@+\-_.~%/]+", path)
    segments = path.split("/")
    assert [unquote(s) for s in segments] == model.split("/")
    assert all(s not in ("", ".", "..") for s in segments)
    url = httpx.URL("http://sie.test/v1/encode/" + path)
    assert url.raw_path == ("/v1/encode/" + path).encode()  # no normalisation, no query, no fragment
    assert url.query == b""
    assert url.fragment == ""


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("Qwen/Qwen3-4B-Instruct-2507", "Qwen__Qwen3-4B-Instruct-2507"),
        ("a/b/c", "a__b__c"),
        ("sie-fake", "sie-fake"),
        ("org/m v.1", "org__m%20v.1"),
    ],
)
def test_generate_path(model: str, path: str) -> None:
    assert generate_path(model) == path


@settings(max_examples=300)
@given(model_ids)
def test_generate_path_has_no_slash(model: str) -> None:
    try:
        path = generate_path(model)
    except ValueError:
        assert not acceptable(model)
        return
    assert "/" not in path
    assert unquote(path) == model.replace("/", "__")
    assert re.fullmatch(r"[A-Za-z0-9:@+\-_.~%]+", path)


# --- encode responses --------------------------------------------------------------------


def test_parse_encode_transcript_10b() -> None:
    path, request, response = transcript("10b")
    assert json.loads(request) == {"items": [{"text": "hello world"}, {"text": "second item"}]}
    call = encode(["hello world", "second item"])
    assert path == "/v1/encode/sie-fake" == "/v1/encode/" + model_path("sie-fake")
    results = call.parse(response, "application/json")
    raw = json.loads(response)["items"]
    assert len(results) == 2
    for result, expected in zip(results, raw, strict=True):
        assert isinstance(result, EncodeResult)
        assert result.dense is not None
        assert result.dense.dtype == np.float32
        assert result.dense.shape == (384,)
        np.testing.assert_array_equal(result.dense, np.asarray(expected["dense"]["values"], dtype=np.float32))
        assert result.sparse is None
        assert result.multivector is None
        assert result.id is None
    assert results[0].dense is not None
    assert results[0].dense[0] == pytest.approx(-0.08461730182170868)
    with pytest.raises(RequestError) as info:
        parse_encode(response, "application/json", 3)
    assert info.value.code == "ENCODE_RESULT_COUNT_MISMATCH"


def test_parse_encode_transcript_13b_all_output_types() -> None:
    _, request, response = transcript("13b")
    call = encode(["hello world"], output_types=["dense", "sparse", "multivector"])
    assert body_of(call) == json.loads(request)
    (result,) = call.parse(response, "application/json")
    assert result.dense is not None
    assert result.dense.shape == (384,)
    assert result.sparse is not None
    assert result.sparse.indices.tolist() == [109, 4261, 6616, 11331, 16640, 21726, 25414, 25865]
    assert result.sparse.values.dtype == np.float32
    assert result.sparse.values[0] == pytest.approx(0.24726244807243347)
    assert result.sparse.dims == 30522
    assert result.sparse.to_dict()["indices"][0] == 109
    assert result.multivector is not None
    assert result.multivector.shape == (2, 128)
    assert result.multivector.dtype == np.float32


def test_parse_encode_msgpack_arrays() -> None:
    dense = np.array([0.25, -0.5, 1.0], dtype="<f4")
    indices = np.array([3, 17, 90311], dtype="<i4")
    weights = np.array([0.5, 0.25, 0.125], dtype="<f2")
    multi = np.arange(6, dtype="<f2").reshape(3, 2)
    body = msgpack.packb(
        {
            "model": "BAAI/bge-m3",
            "items": [
                {
                    "id": "a",
                    "dense": {"dims": 3, "dtype": "float32", "values": np_map(dense)},
                    "sparse": {
                        "dims": 250002,
                        "dtype": "float16",
                        "indices": np_map(indices),
                        "values": np_map(weights),
                    },
                    "multivector": {"token_dims": 2, "num_tokens": 3, "dtype": "float16", "values": np_map(multi)},
                },
                {"dense": {"dims": 3, "dtype": "float32", "values": np_map(dense * 2)}},
            ],
            "timing": None,
        },
        use_bin_type=True,
    )
    call = encode([Item(id="a", text="x"), "y"], "msgpack", output_types=["dense", "sparse", "multivector"])
    first, second = call.parse(body, "application/msgpack")
    assert first.id == "a"
    assert first.dense is not None
    assert first.dense.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(first.dense, dense)
    assert first.sparse is not None
    np.testing.assert_array_equal(first.sparse.indices, indices)
    np.testing.assert_array_equal(first.sparse.values, weights)
    assert first.sparse.values.dtype == np.float16
    assert first.sparse.dims == 250002
    assert first.sparse.to_dict() == {"indices": [3, 17, 90311], "values": [0.5, 0.25, 0.125]}
    assert first.multivector is not None
    assert first.multivector.dtype == np.float16
    np.testing.assert_array_equal(first.multivector, multi)
    assert second.id is None
    assert second.sparse is None
    assert second.multivector is None
    assert second.dense is not None
    np.testing.assert_array_equal(second.dense, dense * 2)


def test_json_dtype_labels() -> None:
    body = json.dumps(
        {
            "items": [
                {
                    "dense": {"dims": 4, "dtype": "float16", "values": [0.5, -1.0, 2.0, 0.0]},
                    "multivector": {"token_dims": 2, "num_tokens": 2, "dtype": "int8", "values": [[1, -127], [127, 0]]},
                },
                {"dense": {"dims": 16, "dtype": "binary", "values": [255, 1]}},
                {"dense": {"dims": 2, "dtype": "int8", "values": [-127, 127]}},
                {"dense": {"dims": 2, "dtype": "uint8", "values": [0, 255]}},
                {"dense": {"dims": 2, "dtype": "float32", "values": [0.1, 0.2]}},
            ]
        }
    ).encode()
    half, binary, int8, uint8, single = parse_encode(body, "application/json", 5)
    assert half.dense is not None
    assert half.dense.dtype == np.float16
    assert half.dense.tolist() == [0.5, -1.0, 2.0, 0.0]
    assert half.multivector is not None
    assert half.multivector.dtype == np.int8
    assert half.multivector.tolist() == [[1, -127], [127, 0]]
    assert binary.dense is not None
    assert binary.dense.dtype == np.uint8
    assert binary.dense.tolist() == [255, 1]  # packed bits: ceil(16 / 8) bytes
    assert int8.dense is not None
    assert int8.dense.dtype == np.int8
    assert uint8.dense is not None
    assert uint8.dense.dtype == np.uint8
    assert single.dense is not None
    assert single.dense.dtype == np.float32


@pytest.mark.parametrize(
    "item",
    [
        {"dense": {"dtype": "int8", "values": [200]}},  # out of range for the labelled dtype
        {"dense": {"dtype": "binary", "values": [256]}},
        {"dense": {"dtype": "uint8", "values": [-1]}},
        {"dense": {"dtype": "float32", "values": ["a"]}},
        {"dense": {"dtype": "float32", "values": [[1.0]]}},
        {"dense": {"dtype": "float32"}},
        {"multivector": {"dtype": "float32", "values": [1.0, 2.0]}},
        {"multivector": {"dtype": "float32", "values": [[1.0], [2.0, 3.0]]}},
        {"sparse": {"indices": [1, 2], "values": [0.5]}},
        {"sparse": {"indices": [1.5], "values": [0.5]}},
        {"sparse": {"indices": [2**70], "values": [0.5]}},
        {"sparse": {"values": [0.5]}},
        "not an object",
    ],
)
def test_malformed_encode_items_raise_request_error(item: Any) -> None:
    body = json.dumps({"items": [item]}).encode()
    with pytest.raises(RequestError) as info:
        parse_encode(body, "application/json", 1)
    assert info.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize(
    ("body", "ctype"), [(b"[]", "application/json"), (b"{bad", "application/json"), (b"\xc1", "application/msgpack")]
)
def test_malformed_encode_body(body: bytes, ctype: str) -> None:
    with pytest.raises(RequestError, match="malformed encode response"):
        parse_encode(body, ctype, 1)


# --- score -------------------------------------------------------------------------------


def test_score_transcript_14() -> None:
    path, request, response = transcript("14")
    call = score_call(
        "sie-fake",
        "what is sie?",
        ["SIE is an inference engine", "bananas are yellow", "unrelated"],
        instruction=None,
        options=None,
        wire="json",
    )
    assert call.path == path
    assert body_of(call) == json.loads(request)
    entries = call.parse(response, "application/json")
    assert [e.index for e in entries] == [2, 1, 0]
    assert [e.item_id for e in entries] == ["item-2", "item-1", "item-0"]
    assert [e.rank for e in entries] == [0, 1, 2]
    assert [e.score for e in entries] == [0.8708752989768982, 0.8065252900123596, 0.47319602966308594]


def test_score_maps_ids_and_sorts_best_first() -> None:
    items: list[ItemLike] = [Item(id="a", text="A"), "B", Item(id="c", text="C")]
    call = score_call("m", Item(id="q", text="Q"), items, instruction="rank", options={"profile": "p"}, wire="msgpack")
    body = body_of(call)
    assert body["query"] == {"id": "q", "text": "Q"}
    assert body["instruction"] == "rank"
    assert body["options"] == {"profile": "p"}
    response = msgpack.packb(
        {
            "scores": [
                {"item_id": "item-1", "score": 0.1, "rank": 2},
                {"item_id": "a", "score": 0.9, "rank": 0},
                {"item_id": "c", "score": 0.5, "rank": 1},
            ]
        },
        use_bin_type=True,
    )
    entries = call.parse(response, "application/msgpack")
    assert [(e.index, e.item_id, e.rank) for e in entries] == [(0, "a", 0), (2, "c", 1), (1, "item-1", 2)]


@pytest.mark.parametrize(
    ("scores", "code"),
    [
        ([{"item_id": "item-0", "score": 1.0}], "SCORE_RESULT_COUNT_MISMATCH"),
        ([{"item_id": "item-0", "score": 1.0}, {"item_id": "item-0", "score": 0.5}], "MALFORMED_RESPONSE"),
        ([{"item_id": "item-0", "score": 1.0}, {"item_id": "item-9", "score": 0.5}], "MALFORMED_RESPONSE"),
        ([{"item_id": "item-0", "score": "1"}, {"item_id": "item-1", "score": 0.5}], "MALFORMED_RESPONSE"),
        ([{"item_id": "item-0", "score": True}, {"item_id": "item-1", "score": 0.5}], "MALFORMED_RESPONSE"),
    ],
)
def test_score_bad_responses(scores: list[dict[str, Any]], code: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_score(json.dumps({"scores": scores}).encode(), "application/json", {"item-0": 0, "item-1": 1})
    assert info.value.code == code


def test_score_duplicate_request_ids_refused() -> None:
    with pytest.raises(ValueError, match="share the id"):
        score_call(
            "m", "q", [Item(id="x", text="1"), Item(id="x", text="2")], instruction=None, options=None, wire="json"
        )


# --- extract -----------------------------------------------------------------------------


def test_extract_transcript_15b() -> None:
    path, request, response = transcript("15b")
    call = extract_call(
        "sie-fake-full",
        ["Alice met Bob in Paris."],
        labels=["person", "city"],
        output_schema=None,
        instruction=None,
        options=None,
        wire="json",
    )
    assert call.path == path
    assert body_of(call) == json.loads(request)
    (result,) = call.parse(response, "application/json")
    assert result.id == "item-0"
    assert result.entities == [
        Entity(text="Paris.", label="person", score=0.4023652001899602, start=17, end=23, bbox=None),
        Entity(text="Paris.", label="city", score=0.5805694259892494, start=17, end=23, bbox=None),
    ]
    assert result.relations == [Relation(head="Paris.", tail="Paris.", relation="related_to", score=0.4411050994766947)]
    assert result.classifications == [
        Classification(label="person", score=0.44798538508811053),
        Classification(label="city", score=0.41127775176192355),
    ]
    assert result.objects == []
    assert result.data == {"characters": 23, "images": 0, "labels": ["person", "city"]}


def test_extract_per_item_error_names_the_item() -> None:
    body = {
        "items": [
            {"id": "ok", "entities": [], "relations": [], "classifications": [], "objects": [], "data": {}},
            {"id": "n2", "error": {"code": "INPUT_TOO_LONG", "message": "too long"}},
        ]
    }
    with pytest.raises(SIEError) as info:
        parse_extract(json.dumps(body).encode(), "application/json", 2)
    assert isinstance(info.value, InputTooLongError)
    assert info.value.item_index == 1
    assert "n2" in str(info.value)


# --- generate ----------------------------------------------------------------------------


def test_generate_transcript_16() -> None:
    path, request, response = transcript("16")
    call = generate_call(
        "sie-fake", "Say hello", max_new_tokens=8, temperature=None, top_p=None, stop=None, stream=False
    )
    assert call.path == path
    assert body_of(call) == json.loads(request)
    assert call.headers["Accept"] == "application/json"
    assert not call.idempotent
    assert parse_generate(response, "application/json") == GenerateResult(
        model="sie-fake",
        text="tok_a78760a2 tok_70a76af3 tok_f791d0e5 tok_77fdb43d tok_d10ff712 tok_76b6a009 tok_f6cc1248 tok_076b56fa",
        finish_reason="length",
        usage=Usage(prompt_tokens=2, completion_tokens=8, total_tokens=10),
        timings={},
    )


def test_generate_stream_request_transcript_17() -> None:
    path, request, _ = transcript("17")
    call = generate_call(
        "sie-fake", "Say hello", max_new_tokens=5, temperature=None, top_p=None, stop=None, stream=True
    )
    assert call.path == path
    assert body_of(call) == json.loads(request)
    assert call.headers["Accept"] == "text/event-stream"


def test_generate_gateway_fields() -> None:
    body = {
        "model": "Qwen/Qwen3-4B-Instruct-2507",
        "text": "hi",
        "finish_reason": "stop",
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": -1,
            "total_tokens": "x",
            "prompt_tokens_details": {"cached_tokens": 2},
        },
        "ttft_ms": 38.5,
        "tpot_ms": 4,
        "attempt_id": "a1",
    }
    result = parse_generate(json.dumps(body).encode(), "application/json")
    assert result.usage == Usage(prompt_tokens=3, completion_tokens=0, total_tokens=0, cached_tokens=2)
    assert result.timings == {"ttft_ms": 38.5, "tpot_ms": 4.0}


def test_generate_sends_every_field_it_accepts_and_the_model_options() -> None:
    """The fields of ``GenerateSettings`` (section 8.1), checked and sent as given; ``options`` as they are."""
    more = {
        "seed": 7,
        "frequency_penalty": 0.5,
        "presence_penalty": -1.0,
        "logit_bias": {"42": -100.0},
        "routing_key": "tenant-a",
        "prompt_cache_key": "faq",
        "safety_identifier": "user-1",
        "lora_adapter": "legal",
    }
    call = generate_call("m", "p", max_new_tokens=4, options={"profile": "default"}, stream=False, **more)
    assert body_of(call) == {"prompt": "p", "max_new_tokens": 4, **more, "options": {"profile": "default"}}
    streamed = generate_call("m", "p", max_new_tokens=4, logprobs=True, top_logprobs=2, stream=True)
    assert body_of(streamed) == {
        "prompt": "p",
        "max_new_tokens": 4,
        "logprobs": True,
        "top_logprobs": 2,
        "stream": True,
    }


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"presence_penalty": math.nan}, "presence_penalty"),
        ({"seed": "seven"}, "seed"),
        ({"sed": 7}, "sed"),
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
        ({"logprobs": True}, "need a stream"),
        ({"lora_adapter": ""}, "lora_adapter"),
    ],
)
def test_generate_refuses_a_field_it_does_not_take_before_sending(more: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_call("m", "p", max_new_tokens=4, stream=False, **more)


def test_a_generate_chunk_keeps_its_logprobs() -> None:
    chunk = parse_generate_chunk(
        {"seq": 0, "text_delta": " a", "done": False, "logprobs": [{"token": " a", "logprob": -0.1, "bytes": None}]}
    )
    assert chunk.logprobs == [{"token": " a", "logprob": -0.1, "bytes": None}]
    assert parse_generate_chunk({"seq": 1, "text_delta": "", "done": True}).logprobs is None


@pytest.mark.parametrize("body", [{"text": "x"}, {"model": "m"}, {"model": "m", "text": 3}])
def test_generate_needs_model_and_text(body: dict[str, Any]) -> None:
    with pytest.raises(RequestError):
        parse_generate(json.dumps(body).encode(), "application/json")


# --- chat --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["60b", "62", "81b"])
def test_chat_requests_of_the_transcripts_round_trip(name: str) -> None:
    path, request, _ = transcript(name)
    call = chat_call(json.loads(request), stream=False)
    assert call.path == path == "/v1/chat/completions"
    assert body_of(call) == json.loads(request)
    assert call.headers == {"Accept": "application/json", "Content-Type": "application/json"}
    assert not call.idempotent


def test_parse_chat_60b() -> None:
    completion = parse_chat(transcript("60b")[2], "application/json")
    assert completion.id == "chatcmpl-2fd416c6-471b-434b-af4f-d0b4c4a7c07f"
    assert completion.model == "tiny-chat"
    (choice,) = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from tiny-chat!"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        65,
        2,
        67,
    )
    assert completion.usage.prompt_tokens_details == {"cached_tokens": 64}


@pytest.mark.parametrize(
    ("name", "call_id", "arguments"),
    [
        ("62", "220834b3-97fb-49c1-8466-32435569fe04", '{"city": "Paris"}'),
        ("81b", "call_110861b0f9104e6d96df73cb", '{"city":"Paris"}'),
    ],
)
def test_parse_chat_tool_calls(name: str, call_id: str, arguments: str) -> None:
    completion = parse_chat(transcript(name)[2], "application/json")
    (choice,) = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    (tool_call,) = choice.message.tool_calls
    assert isinstance(tool_call, ToolCall)
    assert tool_call.id == call_id
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert tool_call.function.arguments == arguments
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert completion.usage is not None
    assert completion.usage.total_tokens == 612


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"choices": [{"message": 3}]}', b"nope"])
def test_parse_chat_malformed(body: bytes) -> None:
    with pytest.raises(RequestError, match="malformed chat response"):
        parse_chat(body, "application/json")


# every field of protocol section 7.1, each with a valid value
ALL_FIELDS: dict[str, Any] = {
    "model": "Qwen/Qwen3-4B-Instruct-2507",
    "messages": [
        {"role": "developer", "content": "Answer tersely."},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}], "name": "ann"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": -3}'},
    ],
    "max_completion_tokens": 128,
    "max_tokens": 64,
    "temperature": 0.7,
    "top_p": 0.9,
    "top_k": 40,
    "repetition_penalty": 1.1,
    "frequency_penalty": -0.5,
    "presence_penalty": 0.5,
    "stop": ["\n\n", "END"],
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string", "default": None}}},
                "strict": True,
            },
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True},
    },
    "n": 2,
    "best_of": 3,
    "logprobs": True,
    "top_logprobs": 5,
    "logit_bias": {"42": -100.0, "7": 2.5},
    "seed": -(2**63),
    "user": "u-1",
    "safety_identifier": "s-1",
    "lora_adapter": "my-lora",
    "routing_key": "tenant-a",
    "prompt_cache_key": "cache-1",
    "include_reasoning": True,
    "min_tokens": 0,
    "chat_template_kwargs": {"enable_thinking": False},
    "schema_in_prompt": True,
}


def test_request_fields_are_exactly_those_of_the_protocol() -> None:
    assert set(ChatCompletionRequest.model_fields) == set(ALL_FIELDS)


def test_every_protocol_field_is_accepted_and_sent_back_unchanged() -> None:
    request = chat_request(ALL_FIELDS)
    assert request.to_wire() == ALL_FIELDS
    assert json.loads(json.dumps(request.to_wire())) == ALL_FIELDS


@pytest.mark.parametrize("field", sorted(set(ALL_FIELDS) - {"model", "messages"}))
def test_to_wire_sends_only_the_fields_that_were_set(field: str) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    extra = {field: ALL_FIELDS[field]}
    if field == "tool_choice":
        extra["tools"] = ALL_FIELDS["tools"]
    if field == "top_logprobs":
        extra["logprobs"] = True
    wire = chat_request({**base, **extra}).to_wire()
    assert wire == {**base, **extra}


def test_minimal_request_wire() -> None:
    assert ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "Hi"}]).to_wire() == {  # type: ignore[list-item]
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize(
    "patch",
    [
        {"foo": 1},
        {"max_new_tokens": 5},
        {"stream_options": {"include_usage": True, "continuous_usage_stats": True}},
        {"tools": [{"type": "function", "function": {"name": "f", "extra": 1}}]},
        {"tools": [{"type": "function", "function": {"name": "f"}, "cache": True}]},
        {"tool_choice": {"type": "function", "function": {"name": "f", "x": 1}}, "tools": ALL_FIELDS["tools"]},
    ],
)
def test_unknown_fields_refused(patch: dict[str, Any]) -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **patch}
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate(request)
    with pytest.raises(ValueError, match="invalid chat completion request"):
        chat_request(request)
    with pytest.raises(ValueError, match="invalid chat completion request"):
        chat_call(request, stream=False)


@pytest.mark.parametrize(
    "patch",
    [
        {"model": ""},
        {"messages": []},
        {"temperature": math.nan},
        {"temperature": -0.1},
        {"top_p": 0},
        {"max_tokens": 0},
        {"n": 129},
        {"top_logprobs": 21, "logprobs": True},
        {"top_logprobs": 3},
        {"tool_choice": "required"},
        {"tool_choice": {"type": "function", "function": {"name": "missing"}}, "tools": ALL_FIELDS["tools"]},
        {"response_format": {"type": "xml"}},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x", "tool_call_id": "c"}]},
        {"messages": [{"role": "robot", "content": "x"}]},
    ],
)
def test_invalid_values_refused(patch: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid chat completion request"):
        chat_request({"model": "m", "messages": [{"role": "user", "content": "Hi"}], **patch})


def test_chat_call_stream_flag() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    streamed = chat_call(request, stream=True)
    assert body_of(streamed)["stream"] is True
    assert streamed.headers["Accept"] == "text/event-stream"
    assert "stream" not in body_of(chat_call(request, stream=False))
    with pytest.raises(ValueError, match="stream"):
        chat_call({**request, "stream": True}, stream=False)
    assert "stream" not in body_of(chat_call({**request, "stream": False}, stream=False))
    assert body_of(chat_call({**request, "n": 2}, stream=False))["n"] == 2
    with pytest.raises(ValueError, match="n must be 1 when streaming"):
        chat_call({**request, "n": 2}, stream=True)


@pytest.mark.parametrize("key", ["is_query", "output_types", "output_dtype", "instruction"])
def test_encode_options_may_not_set_what_the_call_says(key: str) -> None:
    """The server takes ``options.is_query`` / ``output_types`` over the call's own: an adapter built with
    ``options={"is_query": True}`` would embed its documents as queries."""
    with pytest.raises(ValueError, match=f"options may not set {key}"):
        encode_call(
            "m",
            ["x"],
            output_types=["dense"],
            is_query=False,
            instruction=None,
            output_dtype=None,
            options={key: True},
            wire="json",
        )
