"""The dense-matrix path: parse_encode_dense, stack_vector_maps and the batched matrix/rows helpers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sie_integrations import AsyncSIEClient, SIEClient
from sie_integrations._adapters.batching import Batching, aembed_matrix, aembed_rows, embed_matrix, embed_rows
from sie_integrations._core.codec import WireFormatError, stack_vector_maps
from sie_integrations._core.concurrency import Limit
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


# --- parse_encode_dense -------------------------------------------------------------------


def test_msgpack_rows_become_one_matrix_in_order() -> None:
    rows = np.arange(12, dtype="<f4").reshape(4, 3)
    matrix = parse(msgpack_body([array_map(r) for r in rows]), MSGPACK, 4)
    assert matrix.shape == (4, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, rows)


def test_json_rows_become_one_matrix_with_their_dtype() -> None:
    matrix = parse(json_body([[1, -2, 3], [4, 5, -6]], "int8"), "application/json", 2)
    assert matrix.dtype == np.int8
    np.testing.assert_array_equal(matrix, [[1, -2, 3], [4, 5, -6]])


@settings(max_examples=50, deadline=None)
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


# --- batched rows and matrix, through MockTransport ---------------------------------------


def encoding_transport(
    dims: int = 3, *, dims_of_batch: dict[int, int] | None = None
) -> tuple[httpx.MockTransport, list[int]]:
    """A MockTransport encoder: each vector is [input number, ...]; ``dims_of_batch`` changes a batch's width."""
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = msgpack.unpackb(request.content, raw=False)["items"]
        sizes.append(len(items))
        width = (dims_of_batch or {}).get(len(sizes) - 1, dims)
        rows = [np.full(width, float(item["text"]), "<f4") for item in items]
        return httpx.Response(
            200, content=msgpack_body([array_map(r) for r in rows]), headers={"content-type": MSGPACK}
        )

    return httpx.MockTransport(handler), sizes


TEXTS = [str(i) for i in range(23)]


@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_rows_and_matrix_keep_input_order_across_batches(max_concurrency: int) -> None:
    transport, sizes = encoding_transport()
    with SIEClient("http://sie.test", http_client=httpx.Client(transport=transport)) as client:
        rows = embed_rows(client, "m", TEXTS, Batching(5, Limit(pinned=max_concurrency)))
        matrix = embed_matrix(client, "m", TEXTS, Batching(5, Limit(pinned=max_concurrency)))
    assert [r[0] for r in rows] == [float(t) for t in TEXTS]
    assert all(type(v) is float for r in rows for v in r)
    np.testing.assert_array_equal(matrix[:, 0], [float(t) for t in TEXTS])
    assert sorted(sizes) == sorted([5, 5, 5, 5, 3] * 2)


def test_async_rows_and_matrix_keep_input_order_across_batches() -> None:
    transport, sizes = encoding_transport()

    async def run() -> tuple[list[list[float]], np.ndarray[Any, Any]]:
        async with AsyncSIEClient("http://sie.test", http_client=httpx.AsyncClient(transport=transport)) as client:
            rows = await aembed_rows(client, "m", TEXTS, Batching(4, Limit(pinned=3)))
            return rows, await aembed_matrix(client, "m", TEXTS, Batching(4, Limit(pinned=3)))

    rows, matrix = asyncio.run(run())
    assert [r[0] for r in rows] == [float(t) for t in TEXTS]
    np.testing.assert_array_equal(matrix[:, 0], [float(t) for t in TEXTS])
    assert len(sizes) == 12


def test_a_batch_of_another_width_is_refused_not_truncated() -> None:
    transport, _ = encoding_transport(dims_of_batch={2: 4})
    client = SIEClient("http://sie.test", http_client=httpx.Client(transport=transport))
    with pytest.raises(RequestError) as info:
        embed_matrix(client, "m", TEXTS, Batching(5, Limit(pinned=1)))
    assert info.value.code == "MALFORMED_RESPONSE"
    assert "batches differ" in str(info.value)


def test_empty_input_sends_nothing() -> None:
    transport, sizes = encoding_transport()
    with SIEClient("http://sie.test", http_client=httpx.Client(transport=transport)) as client:
        assert embed_matrix(client, "m", [], Batching(5, Limit(pinned=2))).shape == (0, 0)
        assert embed_rows(client, "m", [], Batching(5, Limit(pinned=2))) == []
        assert client.encode_dense("m", []).shape == (0, 0)
    assert sizes == []


def failing_first_batch(delay: float) -> tuple[Any, list[str], list[str]]:
    """A MockTransport handler: the batch holding "0" is refused at once (400); every other answers after ``delay``."""
    sent: list[str] = []
    finished: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        items = msgpack.unpackb(request.content, raw=False)["items"]
        sent.append(items[0]["text"])
        if items[0]["text"] == "0":
            return httpx.Response(400, json={"detail": {"code": "INVALID_INPUT", "message": "no"}})
        return httpx.Response(
            200, content=msgpack_body([array_map(np.zeros(3, "<f4")) for _ in items]), headers={"content-type": MSGPACK}
        )

    return answer, sent, finished


def test_a_failed_batch_stops_the_batches_not_yet_sent() -> None:
    answer, sent, _ = failing_first_batch(0.02)

    def slow_answer(request: httpx.Request) -> httpx.Response:
        response = answer(request)
        if response.status_code == 200:
            time.sleep(0.02)
        return response

    client = SIEClient("http://sie.test", http_client=httpx.Client(transport=httpx.MockTransport(slow_answer)))
    with pytest.raises(RequestError) as info:
        embed_rows(client, "m", [str(i) for i in range(40)], Batching(1, Limit(pinned=2)))
    assert info.value.code == "INVALID_INPUT"
    assert len(sent) < 10, f"{len(sent)} of 40 batches were sent after the first one failed"


def test_async_a_failed_batch_cancels_the_others() -> None:
    answer, sent, finished = failing_first_batch(0.05)

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        response = answer(request)
        if response.status_code == 200:
            await asyncio.sleep(0.05)
            finished.append("x")
        return response

    async def run() -> set[asyncio.Task[Any]]:
        transport = httpx.MockTransport(slow_answer)
        async with AsyncSIEClient("http://sie.test", http_client=httpx.AsyncClient(transport=transport)) as client:
            with pytest.raises(RequestError):
                await aembed_matrix(client, "m", [str(i) for i in range(40)], Batching(1, Limit(pinned=4)))
            return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    left = asyncio.run(run())
    assert left == set()
    assert len(sent) <= 5 and finished == []  # those in flight were cancelled, the ~35 waiting never sent
