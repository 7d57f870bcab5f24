"""Length-aware batching: batches of similar length within their limits, results back in input order."""

from __future__ import annotations

import asyncio
import random

import httpx
import msgpack
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sie_integrations import AsyncSIEClient, Image, Item, SIEClient
from sie_integrations._adapters.batching import (
    Batching,
    aembed_matrix,
    aencode_batched,
    embed_matrix,
    embed_rows,
    encode_batched,
)
from sie_integrations._core.batches import IMAGE_CHARS, MAX_BATCH_IMAGE_BYTES, image_bytes, plan, text_length
from sie_integrations._core.concurrency import Limit


def vector_of(text: str) -> list[float]:
    """A vector that depends on the text alone, so a result in the wrong place shows."""
    return [float(len(text)), float(sum(map(ord, text)) % 9973), 1.0]


class Server:
    """An ``httpx.MockTransport`` encode endpoint that records each request's texts."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        texts = [item["text"] for item in msgpack.unpackb(request.content)["items"]]
        self.requests.append(texts)
        items = [{"dense": {"dims": 3, "dtype": "float32", "values": vector_of(t)}} for t in texts]
        return httpx.Response(200, json={"model": "m", "items": items})


CORPUS = [("word " * random.Random(i).randint(1, 60)).strip() + f" {i}" for i in range(300)]


def test_plan_sorts_by_length_and_respects_both_limits() -> None:
    parts = plan(CORPUS, size=32, max_chars=2_000)
    assert sorted(p for part in parts for p in part.positions) == list(range(len(CORPUS)))
    lengths = [[text_length(item) for item in part.items] for part in parts]
    flat = [n for batch in lengths for n in batch]
    assert flat == sorted(flat)  # shortest first, across and within batches
    assert all(len(batch) <= 32 for batch in lengths)
    assert all(sum(batch) <= 2_000 for batch in lengths)
    assert len(parts) > len(CORPUS) / 32  # the character budget cut some batches short


def test_an_item_longer_than_the_budget_goes_alone() -> None:
    parts = plan(["a", "b" * 50, "c"], size=10, max_chars=20)
    assert [part.items for part in parts] == [["a", "c"], ["b" * 50]]


def test_plan_measures_items_by_their_text_and_an_image_as_a_long_text() -> None:
    parts = plan([Item(text="long text"), "x", Item(images=(Image(b"\x89PNG", "png"),))], size=2)
    assert [part.positions for part in parts] == [[1, 0], [2]]
    assert text_length(Item(text="ab", images=(Image(b"x"), Image(b"y")))) == 2 + 2 * IMAGE_CHARS


def test_plan_caps_the_image_bytes_of_a_request() -> None:
    big = Item(images=(Image(b"x" * (MAX_BATCH_IMAGE_BYTES // 3 + 1), "png"),))
    parts = plan([big] * 7 + ["text"], size=256)
    assert [part.positions for part in parts] == [[7, 0, 1], [2, 3], [4, 5], [6]]  # two images fit, not three
    assert all(sum(image_bytes(item) for item in part.items) <= MAX_BATCH_IMAGE_BYTES for part in parts)
    huge = Item(images=(Image(b"x" * (MAX_BATCH_IMAGE_BYTES + 1), "png"),))
    assert [part.positions for part in plan([huge, huge], size=256)] == [[0], [1]]


@given(st.lists(st.text(max_size=40), max_size=60), st.integers(1, 8), st.integers(1, 120))
def test_plan_places_every_item_once(texts: list[str], size: int, max_chars: int) -> None:
    parts = plan(texts, size, max_chars)
    assert sorted(p for part in parts for p in part.positions) == list(range(len(texts)))
    for part in parts:
        assert part.items == [texts[p] for p in part.positions]
        assert len(part.items) <= size
        assert len(part.items) == 1 or sum(map(len, part.items)) <= max_chars


def test_results_come_back_in_input_order_whatever_the_batches() -> None:
    server = Server()
    with SIEClient("https://sie.test", http_client=httpx.Client(transport=httpx.MockTransport(server))) as sie:
        batching = Batching(size=16, limit=Limit(pinned=4))
        results = encode_batched(sie, "m", CORPUS, batching)
        rows = embed_rows(sie, "m", CORPUS, batching)
        matrix = embed_matrix(sie, "m", CORPUS, batching)
    expected = np.array([vector_of(t) for t in CORPUS], dtype=np.float32)
    assert np.array_equal(np.stack([r.dense for r in results]), expected)
    assert np.array_equal(np.array(rows, dtype=np.float32), expected)
    assert np.array_equal(matrix, expected)
    sent = [len(t) for texts in server.requests[: len(server.requests) // 3] for t in texts]
    assert sorted(sent) == sorted(map(len, CORPUS))
    assert all(len(texts) <= 16 for texts in server.requests)


def test_async_results_come_back_in_input_order() -> None:
    server = Server()

    async def run() -> tuple[list[np.ndarray], np.ndarray]:
        transport = httpx.MockTransport(server)
        async with AsyncSIEClient("https://sie.test", http_client=httpx.AsyncClient(transport=transport)) as sie:
            batching = Batching(size=16, limit=Limit(pinned=4))
            results = await aencode_batched(sie, "m", CORPUS, batching)
            return [r.dense for r in results], await aembed_matrix(sie, "m", CORPUS, batching)

    dense, matrix = asyncio.run(run())
    expected = np.array([vector_of(t) for t in CORPUS], dtype=np.float32)
    assert np.array_equal(np.stack(dense), expected)
    assert np.array_equal(matrix, expected)


def test_each_request_holds_texts_of_similar_length() -> None:
    server = Server()
    with SIEClient("https://sie.test", http_client=httpx.Client(transport=httpx.MockTransport(server))) as sie:
        embed_matrix(sie, "m", CORPUS, Batching(size=64, limit=Limit(pinned=1)))
    spreads = [max(map(len, texts)) - min(map(len, texts)) for texts in server.requests]
    unsorted = [max(map(len, CORPUS[i : i + 64])) - min(map(len, CORPUS[i : i + 64])) for i in range(0, 300, 64)]
    assert sum(spreads) < sum(unsorted) / 3
