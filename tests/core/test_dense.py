"""Dense vectors of an encode answer as one matrix (``_core/encode.py``, ``codec.py``): msgpack and JSON rows,
bad rows refused."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sie_integrations._core.codec import WireFormatError, stack_vector_maps
from sie_integrations._core.encode import encode_dense_call, parse_encode
from sie_integrations.errors import RequestError

MSGPACK = "application/msgpack"


def array_map(array: np.ndarray[Any, Any]) -> dict[bytes, Any]:
    return {b"nd": True, b"type": array.dtype.str, b"kind": b"", b"shape": list(array.shape), b"data": array.tobytes()}


def msgpack_body(rows: list[Any]) -> bytes:
    items = [{"dense": {"dims": 3, "dtype": "float32", "values": row}} for row in rows]
    packed: bytes = msgpack.packb({"model": "m", "items": items}, use_bin_type=True)
    return packed


def json_body(rows: list[Any], dtype: str = "float32") -> bytes:
    return json.dumps({"items": [{"dense": {"dtype": dtype, "values": row}} for row in rows]}).encode()


def parse(content: bytes, ctype: str, count: int) -> np.ndarray[Any, Any]:
    call = encode_dense_call(
        "m", ["x"] * count, is_query=False, instruction=None, output_dtype=None, options=None, wire="msgpack"
    )
    return call.parse(content, ctype)


def test_msgpack_rows_become_one_matrix_in_order() -> None:
    rows = np.arange(12, dtype="<f4").reshape(4, 3)
    matrix = parse(msgpack_body([array_map(r) for r in rows]), MSGPACK, 4)
    assert matrix.shape == (4, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, rows)


def test_json_rows_become_one_matrix_with_their_dtype() -> None:
    matrix = parse(json_body([[1, -2, 3], [4, 5, -6]], "int8"), "application/json", 2)
    assert matrix.dtype == np.int8
    np.testing.assert_array_equal(matrix, [[1, -2, 3], [4, 5, -6]])


@settings(max_examples=50)
@given(st.integers(1, 20), st.integers(1, 16), st.sampled_from(["<f4", ">f4", "<f2", "|i1", "|u1", "<f8"]))
def test_agrees_with_the_per_item_parser(n: int, dims: int, dtype: str) -> None:
    rows = (np.arange(n * dims) % 97).astype(dtype).reshape(n, dims)
    body = msgpack_body([array_map(r) for r in rows])
    matrix = parse(body, MSGPACK, n)
    per_item = np.stack([r.dense for r in parse_encode(body, MSGPACK, n)])  # type: ignore[misc]
    assert (matrix.dtype.kind, matrix.dtype.itemsize) == (per_item.dtype.kind, per_item.dtype.itemsize)
    np.testing.assert_array_equal(matrix, per_item)


def test_wrong_count_is_refused() -> None:
    body = msgpack_body([array_map(np.zeros(3, "<f4"))] * 2)
    with pytest.raises(RequestError) as info:
        parse(body, MSGPACK, 3)
    assert info.value.code == "ENCODE_RESULT_COUNT_MISMATCH"


BAD_MSGPACK_ROWS: list[tuple[str, list[Any]]] = [
    ("second row shorter", [array_map(np.zeros(3, "<f4")), array_map(np.zeros(2, "<f4"))]),
    ("second row other dtype", [array_map(np.zeros(3, "<f4")), array_map(np.zeros(3, "<f8"))]),
    ("second row without data", [array_map(np.zeros(3, "<f4")), {b"nd": True, b"type": "<f4", b"shape": [3]}]),
    ("second row data too short", [array_map(np.zeros(3, "<f4")), {**array_map(np.zeros(3, "<f4")), b"data": b"\0"}]),
    ("second row a list", [array_map(np.zeros(3, "<f4")), [0.0, 0.0, 0.0]]),
    ("first row 2-D", [array_map(np.zeros((1, 3), "<f4"))]),
    ("first row bad dtype", [{**array_map(np.zeros(3, "<f4")), b"type": "|O"}]),
    ("first row a scalar", [{b"nd": False, b"type": "<f4", b"kind": b"", b"data": b"\0" * 4}]),
]


@pytest.mark.parametrize("rows", [r for _, r in BAD_MSGPACK_ROWS], ids=[n for n, _ in BAD_MSGPACK_ROWS])
def test_malformed_msgpack_rows_are_refused(rows: list[Any]) -> None:
    with pytest.raises(RequestError) as info:
        parse(msgpack_body(rows), MSGPACK, len(rows))
    assert info.value.code == "MALFORMED_RESPONSE"


BAD_ITEMS: list[tuple[str, bytes]] = [
    ("item without dense", json.dumps({"items": [{"sparse": {}}]}).encode()),
    ("item not an object", json.dumps({"items": [[1, 2]]}).encode()),
    ("dense without values", json.dumps({"items": [{"dense": {"dtype": "float32"}}]}).encode()),
    ("ragged rows", json_body([[1.0, 2.0], [1.0]])),
    ("strings", json_body([["a", "b"]])),
    (
        "mixed dtypes",
        json.dumps(
            {"items": [{"dense": {"dtype": "float32", "values": [1]}}, {"dense": {"dtype": "int8", "values": [1]}}]}
        ).encode(),
    ),
    ("no item list", b'{"items": 3}'),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_ITEMS], ids=[n for n, _ in BAD_ITEMS])
def test_malformed_json_items_are_refused(body: bytes) -> None:
    count = max(1, len(json.loads(body)["items"])) if isinstance(json.loads(body)["items"], list) else 1
    with pytest.raises(RequestError) as info:
        parse(body, "application/json", count)
    assert info.value.code == "MALFORMED_RESPONSE"


def test_stack_vector_maps_builds_one_buffer_not_views_of_each_row() -> None:
    rows = [array_map(np.full(4, i, "<f4")) for i in range(3)]
    matrix = stack_vector_maps(rows)
    assert matrix.flags.c_contiguous and matrix.base is not None
    np.testing.assert_array_equal(matrix[:, 0], [0, 1, 2])
    with pytest.raises(WireFormatError):
        stack_vector_maps([])
