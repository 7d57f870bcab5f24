"""Extraction for the adapters (``_adapters/extraction.py``): plain dicts, planned batches in input order; stub
clients record the calls."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sie_integrations import AsyncSIEClient, SIEClient, SIEError
from sie_integrations._adapters.batching import Batching
from sie_integrations._adapters.extraction import (
    KEYS,
    aextract_batched,
    aextract_one,
    extract_batched,
    extract_one,
    extraction_dict,
)
from sie_integrations.types import (
    Classification,
    DetectedObject,
    Entity,
    ExtractResult,
    Relation,
)
from tests.fakes.sie import BASE_URL, FakeSIE

RESULT = ExtractResult(
    id="item-0",
    entities=[Entity(text="Ada", label="person", score=0.9, start=0, end=3)],
    relations=[Relation(head="Ada", tail="Babbage", relation="knows", score=0.7)],
    classifications=[Classification(label="bio", score=0.6)],
    objects=[DetectedObject(label="face", score=0.8, bbox=[0.0, 1.0, 2.0, 3.0])],
)


def test_extraction_dict_holds_every_part_as_plain_data() -> None:
    assert extraction_dict(RESULT) == {
        "entities": [{"text": "Ada", "label": "person", "score": 0.9, "start": 0, "end": 3, "bbox": None}],
        "relations": [{"head": "Ada", "tail": "Babbage", "relation": "knows", "score": 0.7}],
        "classifications": [{"label": "bio", "score": 0.6}],
        "objects": [{"label": "face", "score": 0.8, "bbox": [0.0, 1.0, 2.0, 3.0]}],
    }
    assert list(KEYS) == ["entities", "relations", "classifications", "objects"]


def test_extraction_dict_names_and_picks_parts_by_keys() -> None:
    data = extraction_dict(RESULT, {"relations": "entity_relations", "entities": "found"})
    assert list(data) == ["entity_relations", "found"]
    assert data["found"][0]["text"] == "Ada"


class Extractor:
    """A stub client: one empty result per text, named after it; records the batches."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], list[str]]] = []

    def _extract(self, model: str, items: Sequence[str], labels: Sequence[str]) -> list[ExtractResult]:
        self.calls.append((model, list(items), list(labels)))
        return [ExtractResult(id=text) for text in items]

    def extract(self, model: str, items: Sequence[str], *, labels: Sequence[str]) -> list[ExtractResult]:
        return self._extract(model, items, labels)


class AsyncExtractor(Extractor):
    async def extract(  # type: ignore[override]
        self, model: str, items: Sequence[str], *, labels: Sequence[str]
    ) -> list[ExtractResult]:
        return self._extract(model, items, labels)


def test_extract_batched_sends_planned_batches_results_in_input_order() -> None:
    client = Extractor()
    texts = ["ccc", "a", "bb"]
    results = extract_batched(client, "m", texts, Batching(2), labels=["person"])  # type: ignore[arg-type]
    assert [r.id for r in results] == texts
    assert client.calls == [("m", ["a", "bb"], ["person"]), ("m", ["ccc"], ["person"])]  # shortest first
    assert extract_batched(client, "m", [], Batching(2), labels=["person"]) == []  # type: ignore[arg-type]
    assert len(client.calls) == 2


async def test_aextract_batched_sends_planned_batches_results_in_input_order() -> None:
    client = AsyncExtractor()
    texts = ["ccc", "a", "bb"]
    results = await aextract_batched(client, "m", texts, Batching(2), labels=["x"])  # type: ignore[arg-type]
    assert [r.id for r in results] == texts
    assert [c[1] for c in client.calls] == [["a", "bb"], ["ccc"]]


async def test_extract_one_sends_the_text_alone() -> None:
    client, aclient = Extractor(), AsyncExtractor()
    assert extract_one(client, "m", "a", labels=["x"]).id == "a"  # type: ignore[arg-type]
    assert (await aextract_one(aclient, "m", "b", labels=["x"])).id == "b"  # type: ignore[arg-type]
    assert [c[1] for c in client.calls + aclient.calls] == [["a"], ["b"]]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failed_item_is_named_by_its_position_in_the_input(mode: str) -> None:
    """Requests hold texts sorted by length, so a request's item 0 may be the input's text 5: the error says 5."""
    texts = ["a much longer text than the others", "bb", "c", "dddd", "eee", "f!"]
    server = FakeSIE(
        extract=lambda text: {"error": {"code": "INFERENCE_ERROR", "message": "boom"}} if "!" in text else {}
    )

    async def call() -> object:
        if mode == "sync":
            sync_client = SIEClient(BASE_URL, http_client=server.client())
            return extract_batched(sync_client, "m", texts, Batching(2), labels=["x"])
        client = AsyncSIEClient(BASE_URL, http_client=server.async_client())
        return await aextract_batched(client, "m", texts, Batching(2), labels=["x"])

    with pytest.raises(SIEError) as caught:
        await call()
    assert caught.value.item_index == 5
    assert caught.value.message.startswith("item 5 (id ")
