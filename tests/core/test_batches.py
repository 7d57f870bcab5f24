"""The batch planner and cost rule (``_core/batches.py``): batches of similar length within the request
limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sie_integrations import Image, Item
from sie_integrations._core.batches import IMAGE_CHARS, MAX_BATCH_IMAGE_BYTES, data_bytes, plan, stand_ins, text_length
from tests.support.texts import CORPUS


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


def test_plan_caps_the_data_bytes_of_a_request() -> None:
    big = Item(images=(Image(b"x" * (MAX_BATCH_IMAGE_BYTES // 3 + 1), "png"),))
    parts = plan([big] * 7 + ["text"], size=256)
    assert [part.positions for part in parts] == [[7, 0, 1], [2, 3], [4, 5], [6]]  # two images fit, not three
    assert all(sum(data_bytes(item) for item in part.items) <= MAX_BATCH_IMAGE_BYTES for part in parts)
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


def test_stand_ins_keep_input_order_within_the_size_and_byte_limits() -> None:
    planned = stand_ins([10, 10, 6_000_000, 6_000_000, 20_000_000, 1], 3)
    assert [b.positions for b in planned] == [[0, 1, 2], [3], [4], [5]]
    assert [b.cost for b in planned] == [3, 1, 1, 1]  # a document each, whatever its size
    assert all(item.document is None and item.text is None for b in planned for item in b.items)
