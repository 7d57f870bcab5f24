"""Large encode calls (``_adapters/batching.py``): planned batches sent with a limit in flight, results in input
order, as results, rows and one matrix; one bad batch fails the call and stops the rest (against ``FakeSIE``)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest

from sie_integrations import AsyncSIEClient, SIEClient
from sie_integrations._adapters.batching import (
    Batching,
    Concurrent,
    aembed_matrix,
    aembed_rows,
    aencode_batched,
    embed_matrix,
    embed_rows,
    encode_batched,
)
from sie_integrations._core.concurrency import DEFAULT_CAP, Limit
from sie_integrations.errors import RequestError
from tests.fakes.sie import BASE_URL, FakeSIE, array_map, vector_of
from tests.support.texts import CORPUS

NUMBERS = [str(i) for i in range(23)]


def numbered(width: int = 3) -> FakeSIE:
    """Each text is a number; its vector is that number ``width`` times, answered in msgpack."""
    return FakeSIE(vector=lambda text: [float(text)] * width, msgpack_vectors=True)


def test_the_concurrency_field_says_the_cap() -> None:
    assert f"between 1 and {DEFAULT_CAP}" in " ".join(inspect.getsource(Concurrent).split())


def test_results_come_back_in_input_order_whatever_the_batches() -> None:
    server = FakeSIE()
    with SIEClient(BASE_URL, http_client=server.client()) as sie:
        batching = Batching(size=16, limit=Limit(pinned=4))
        results = encode_batched(sie, "m", CORPUS, batching)
        rows = embed_rows(sie, "m", CORPUS, batching)
        matrix = embed_matrix(sie, "m", CORPUS, batching)
    expected = np.array([vector_of(t) for t in CORPUS], dtype=np.float32)
    assert np.array_equal(np.stack([r.dense for r in results]), expected)
    assert np.array_equal(np.array(rows, dtype=np.float32), expected)
    assert np.array_equal(matrix, expected)
    batches = server.encode_batches
    assert sorted(len(t) for texts in batches[: len(batches) // 3] for t in texts) == sorted(map(len, CORPUS))
    assert all(len(texts) <= 16 for texts in batches)


def test_async_results_come_back_in_input_order() -> None:
    server = FakeSIE()

    async def run() -> tuple[list[np.ndarray], np.ndarray]:
        async with AsyncSIEClient(BASE_URL, http_client=server.async_client()) as sie:
            batching = Batching(size=16, limit=Limit(pinned=4))
            results = await aencode_batched(sie, "m", CORPUS, batching)
            return [r.dense for r in results], await aembed_matrix(sie, "m", CORPUS, batching)

    dense, matrix = asyncio.run(run())
    expected = np.array([vector_of(t) for t in CORPUS], dtype=np.float32)
    assert np.array_equal(np.stack(dense), expected)
    assert np.array_equal(matrix, expected)


def test_each_request_holds_texts_of_similar_length() -> None:
    server = FakeSIE()
    with SIEClient(BASE_URL, http_client=server.client()) as sie:
        embed_matrix(sie, "m", CORPUS, Batching(size=64, limit=Limit(pinned=1)))
    spreads = [max(map(len, texts)) - min(map(len, texts)) for texts in server.encode_batches]
    unsorted = [max(map(len, CORPUS[i : i + 64])) - min(map(len, CORPUS[i : i + 64])) for i in range(0, 300, 64)]
    assert sum(spreads) < sum(unsorted) / 3


@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_rows_and_matrix_keep_input_order_across_batches(max_concurrency: int) -> None:
    server = numbered()
    with SIEClient(BASE_URL, http_client=server.client()) as client:
        rows = embed_rows(client, "m", NUMBERS, Batching(5, Limit(pinned=max_concurrency)))
        matrix = embed_matrix(client, "m", NUMBERS, Batching(5, Limit(pinned=max_concurrency)))
    assert [r[0] for r in rows] == [float(t) for t in NUMBERS]
    assert all(type(v) is float for r in rows for v in r)
    np.testing.assert_array_equal(matrix[:, 0], [float(t) for t in NUMBERS])
    assert sorted(map(len, server.encode_batches)) == sorted([5, 5, 5, 5, 3] * 2)


def test_async_rows_and_matrix_keep_input_order_across_batches() -> None:
    server = numbered()

    async def run() -> tuple[list[list[float]], np.ndarray[Any, Any]]:
        async with AsyncSIEClient(BASE_URL, http_client=server.async_client()) as client:
            rows = await aembed_rows(client, "m", NUMBERS, Batching(4, Limit(pinned=3)))
            return rows, await aembed_matrix(client, "m", NUMBERS, Batching(4, Limit(pinned=3)))

    rows, matrix = asyncio.run(run())
    assert [r[0] for r in rows] == [float(t) for t in NUMBERS]
    np.testing.assert_array_equal(matrix[:, 0], [float(t) for t in NUMBERS])
    assert len(server.encode_batches) == 12


def test_a_batch_of_another_width_is_refused_not_truncated() -> None:
    def wider_third(route: str, number: int, body: Any) -> httpx.Response | None:
        if number != 3:
            return None
        items = [{"dense": {"values": array_map(np.zeros(4, "<f4"))}} for _ in body["items"]]
        content = msgpack.packb({"model": "m", "items": items}, use_bin_type=True)
        return httpx.Response(200, content=content, headers={"content-type": "application/msgpack"})

    server = FakeSIE(vector=lambda text: [float(text)] * 3, msgpack_vectors=True, refuse=wider_third)
    client = SIEClient(BASE_URL, http_client=server.client())
    with pytest.raises(RequestError) as info:
        embed_matrix(client, "m", NUMBERS, Batching(5, Limit(pinned=1)))
    assert info.value.code == "MALFORMED_RESPONSE"
    assert "batches differ" in str(info.value)


def test_empty_input_sends_nothing() -> None:
    server = numbered()
    with SIEClient(BASE_URL, http_client=server.client()) as client:
        assert embed_matrix(client, "m", [], Batching(5, Limit(pinned=2))).shape == (0, 0)
        assert embed_rows(client, "m", [], Batching(5, Limit(pinned=2))) == []
        assert client.encode_dense("m", []).shape == (0, 0)
    assert server.requests == []


def refusing_zero(delay: float) -> FakeSIE:
    """The batch holding "0" is refused at once (400); every other answers after ``delay``."""

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if body["items"][0]["text"] == "0":
            return httpx.Response(400, json={"detail": {"code": "INVALID_INPUT", "message": "no"}})
        return None

    return FakeSIE(vector=lambda text: [0.0] * 3, msgpack_vectors=True, refuse=refuse, delay=delay)


def test_a_failed_batch_stops_the_batches_not_yet_sent() -> None:
    server = refusing_zero(0.02)
    client = SIEClient(BASE_URL, http_client=server.client())
    with pytest.raises(RequestError) as info:
        embed_rows(client, "m", [str(i) for i in range(40)], Batching(1, Limit(pinned=2)))
    assert info.value.code == "INVALID_INPUT"
    assert len(server.requests) < 10, f"{len(server.requests)} of 40 batches were sent after the first one failed"


def test_async_a_failed_batch_cancels_the_others() -> None:
    server = refusing_zero(0.05)

    async def run() -> set[asyncio.Task[Any]]:
        async with AsyncSIEClient(BASE_URL, http_client=server.async_client()) as client:
            with pytest.raises(RequestError):
                await aembed_matrix(client, "m", [str(i) for i in range(40)], Batching(1, Limit(pinned=4)))
            return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    left = asyncio.run(run())
    assert left == set()
    # Those in flight were cancelled (only the refusal completed), and the ~35 waiting were never sent.
    assert len(server.requests) <= 5 and server.completed == 1
