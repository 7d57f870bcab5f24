"""SIEExtractor (LlamaIndex) against ``FakeSIE``: node metadata, property-graph keys (one graph mapping), the
agent tool."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from llama_index.core.graph_stores.types import KG_NODES_KEY, KG_RELATIONS_KEY, EntityNode, Relation
from llama_index.core.schema import MetadataMode, TextNode

from sie_integrations import RequestError
from sie_integrations._core.batches import plan
from sie_integrations.llama_index import (
    SIEExtractor,
)
from tests.fakes.sie import FakeSIE

BASE_URL = "https://sie.test"


def extraction(text: str) -> dict[str, Any]:
    """Ada, and the text's last word as a place; a relation to Babbage (found as no entity); a classification."""
    place = text.rsplit(" ", 1)[1]
    return {
        "entities": [
            {"text": "Ada", "label": "person", "score": 0.9, "start": 0, "end": 3, "bbox": None},
            {"text": place, "label": "place", "score": 0.8, "start": len(text) - len(place), "end": len(text)},
        ],
        "relations": [{"head": "Ada", "tail": "Babbage", "relation": "knows", "score": 0.7}],
        "classifications": [{"label": "bio", "score": 0.6}],
    }


def with_objects(text: str) -> dict[str, Any]:
    """``extraction``, with one detected object per text as well."""
    return {**extraction(text), "objects": [{"label": "face", "score": 0.8, "bbox": [1.0, 2.0, 3.0, 4.0]}]}


def extract_nodes() -> list[TextNode]:
    existing = EntityNode(name="Earlier", label="thing")
    earlier = Relation(label="seen", source_id="Earlier", target_id="Ada")
    return [
        TextNode(text="Ada lived in London", id_="a", metadata={KG_NODES_KEY: [existing], KG_RELATIONS_KEY: [earlier]}),
        TextNode(text="Ada travelled to Turin", id_="b"),
    ]


def check_extracted(nodes: list[Any]) -> None:
    first, second = nodes
    assert [e["text"] for e in first.metadata["entities"]] == ["Ada", "London"]
    assert first.metadata["entities"][0] == {
        "text": "Ada",
        "label": "person",
        "score": 0.9,
        "start": 0,
        "end": 3,
        "bbox": None,
    }
    assert first.metadata["entity_relations"] == [{"head": "Ada", "tail": "Babbage", "relation": "knows", "score": 0.7}]
    assert first.metadata["classifications"] == [{"label": "bio", "score": 0.6}]
    graph_nodes = first.metadata[KG_NODES_KEY]
    assert all(isinstance(n, EntityNode) for n in graph_nodes)
    assert [(n.name, n.label) for n in graph_nodes] == [
        ("Earlier", "thing"),
        ("Ada", "person"),
        ("London", "place"),
        ("Babbage", "Entity"),  # graph_shape's FALLBACK_TYPE, as in LangChain's graph documents
    ]
    assert graph_nodes[1].properties == {"score": 0.9, "starts": [0], "ends": [3]}
    relations = first.metadata[KG_RELATIONS_KEY]
    assert all(isinstance(r, Relation) for r in relations)
    assert [(r.label, r.source_id, r.target_id) for r in relations] == [
        ("seen", "Earlier", "Ada"),
        ("knows", "Ada", "Babbage"),
    ]
    assert relations[1].properties == {"score": 0.7}
    assert [n.name for n in second.metadata[KG_NODES_KEY]] == ["Ada", "Turin", "Babbage"]
    keys = {"entities", "entity_relations", "classifications", KG_NODES_KEY, KG_RELATIONS_KEY}
    for node in nodes:
        assert keys <= set(node.excluded_embed_metadata_keys)
        assert keys <= set(node.excluded_llm_metadata_keys)
        for mode in (MetadataMode.EMBED, MetadataMode.LLM):
            content = node.get_content(metadata_mode=mode)
            assert "Babbage" not in content and "entities" not in content


async def test_extractor_writes_metadata_and_graph_keys() -> None:
    handler = FakeSIE(extract=extraction)
    extractor = SIEExtractor(model="m", labels=["person", "place"], batch_size=1, **handler.connection())
    nodes = extract_nodes()
    result = await extractor.acall(nodes)
    check_extracted(result)
    assert [b["params"] for b in handler.bodies] == [{"labels": ["person", "place"]}] * 2
    assert [[i["text"] for i in b["items"]] for b in handler.bodies] == [
        ["Ada lived in London"],
        ["Ada travelled to Turin"],
    ]
    # Extracting again does not list the excluded keys twice.
    await extractor.acall(result)
    assert nodes[0].excluded_embed_metadata_keys.count("entities") == 1


def test_extractor_without_graph_keys() -> None:
    extractor = SIEExtractor(model="m", labels=["person"], graph=False, **FakeSIE(extract=extraction).connection())
    [metadata] = extractor.extract([TextNode(text="Ada met Babbage")])
    assert set(metadata) == {"entities", "entity_relations", "classifications", "objects"}


async def test_extractor_keeps_detected_objects() -> None:
    """As LangChain's extractors do: the objects are kept in the metadata (out of the text sent on) and the tool."""
    objects = [{"label": "face", "score": 0.8, "bbox": [1.0, 2.0, 3.0, 4.0]}]
    extractor = SIEExtractor(model="m", labels=["face"], graph=False, **FakeSIE(extract=with_objects).connection())
    node = TextNode(text="Ada lived in London")
    [metadata] = await extractor.aextract([node])
    assert metadata["objects"] == objects
    assert "objects" in node.excluded_embed_metadata_keys
    assert "objects" in node.excluded_llm_metadata_keys
    assert extractor.as_tool().call(text="Ada lived in London").raw_output["objects"] == objects
    assert (await extractor.as_tool().acall(text="Ada lived in London")).raw_output["objects"] == objects


def test_extractor_sync_call_inside_a_running_loop() -> None:
    handler = FakeSIE(extract=extraction)
    extractor = SIEExtractor(model="m", labels=["person", "place"], **handler.connection())

    async def main() -> list[Any]:
        return extractor(extract_nodes())  # the synchronous entry point, with a loop already running

    check_extracted(asyncio.run(main()))
    assert len(handler.bodies) == 1


def test_extractor_failure_is_not_retried_on_top_of_the_client() -> None:
    server = FakeSIE(
        refuse=lambda route, number, body: httpx.Response(
            400, json={"detail": {"code": "INVALID_INPUT", "message": "bad labels"}}
        )
    )
    calls = server.requests

    extractor = SIEExtractor(model="m", labels=["person"], retry_backoff=0.0, **server.connection())
    with pytest.raises(RequestError, match="bad labels"):
        extractor(extract_nodes())
    assert len(calls) == 1  # a refusal is final: no whole-batch retries
    lenient = SIEExtractor(model="m", labels=["person"], raise_on_error=False, retry_backoff=0.0, **server.connection())
    nodes = lenient(extract_nodes())
    assert len(calls) == 2
    assert "entities" not in nodes[1].metadata


def test_extractor_as_tool() -> None:
    handler = FakeSIE(extract=extraction)
    extractor = SIEExtractor(model="m", labels=["person", "place"], **handler.connection())
    tool = extractor.as_tool()
    assert tool.metadata.name == "sie_extract"
    assert "person, place" in tool.metadata.description
    assert list(tool.metadata.get_parameters_dict()["properties"]) == ["text"]
    output = tool.call(text="Ada lived in London")
    assert [e["text"] for e in output.raw_output["entities"]] == ["Ada", "London"]
    assert output.raw_output["entity_relations"][0]["tail"] == "Babbage"
    assert handler.bodies[0]["items"][0]["text"] == "Ada lived in London"
    named = extractor.as_tool(name="find_people", description="Find people.")
    assert (named.metadata.name, named.metadata.description) == ("find_people", "Find people.")


async def test_extractor_as_tool_acall() -> None:
    sync_handler, async_handler = FakeSIE(extract=extraction), FakeSIE(extract=extraction)
    extractor = SIEExtractor(
        model="m",
        labels=["person", "place"],
        base_url=BASE_URL,
        http_client=sync_handler.client(),
        http_async_client=async_handler.async_client(),
    )
    output = await extractor.as_tool().acall(text="Ada travelled to Turin")
    assert [e["text"] for e in output.raw_output["entities"]] == ["Ada", "Turin"]
    assert output.raw_output["classifications"] == [{"label": "bio", "score": 0.6}]
    assert len(async_handler.bodies) == 1 and sync_handler.bodies == []  # natively async


async def test_the_requests_are_the_planners_and_keep_input_order() -> None:
    """Nodes of mixed length, ``batch_size=4``: the requests ``plan`` makes (grouped by length), as LangChain's
    transformer sends them; each node gets its own extraction back."""
    texts = [f"{'word ' * (i % 7)}Ada {i}" for i in range(10)]
    server = FakeSIE(extract=lambda text: {"classifications": [{"label": text, "score": 1.0}]})
    extractor = SIEExtractor(model="m", labels=["person"], batch_size=4, graph=False, **server.connection())
    metadata = await extractor.aextract([TextNode(text=text) for text in texts])
    assert [m["classifications"][0]["label"] for m in metadata] == texts
    sent = sorted([item["text"] for item in body["items"]] for body in server.sent("extract"))
    assert sent == sorted(batch.items for batch in plan(texts, 4))


async def test_a_text_under_two_labels_is_one_entity_node_of_its_best_label() -> None:
    """LlamaIndex names an ``EntityNode`` by its text: one node, so a graph store keeps the best label and its spans."""
    found = [
        {"text": "Apple", "label": "company", "score": 0.9, "start": 0, "end": 5},
        {"text": "Apple", "label": "fruit", "score": 0.5, "start": 0, "end": 5},
    ]
    server = FakeSIE(extract=lambda text: {"entities": found})
    extractor = SIEExtractor(model="m", labels=["company", "fruit"], **server.connection())
    existing = EntityNode(name="Earlier", label="thing")
    node = TextNode(text="Apple pie", metadata={KG_NODES_KEY: [existing, EntityNode(name="Apple", label="brand")]})
    [metadata] = await extractor.aextract([node])
    assert [(n.name, n.label) for n in metadata[KG_NODES_KEY]] == [("Earlier", "thing"), ("Apple", "brand")]
    [metadata] = await extractor.aextract([TextNode(text="Apple pie")])
    (apple,) = metadata[KG_NODES_KEY]
    assert (apple.label, apple.properties) == ("company", {"score": 0.9, "starts": [0], "ends": [5]})
