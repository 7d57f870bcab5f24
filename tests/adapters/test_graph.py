"""graph_shape: an extraction as nodes and relationships (dedup, relation ends, the fallback type, spans, scores)."""

from __future__ import annotations

from sie_integrations._adapters.graph import FALLBACK_TYPE, GraphNode, GraphRelationship, graph_shape, nodes_by_text
from sie_integrations.types import Entity, ExtractResult, Relation

TEXT = "Alice met Bob in Paris. Alice left."


def _result(entities: list[Entity], relations: list[Relation] | None = None) -> ExtractResult:
    return ExtractResult(id="item-0", entities=entities, relations=relations or [])


def test_an_entity_found_several_times_is_one_node_with_its_best_score_and_every_span() -> None:
    shape = graph_shape(
        _result(
            [
                Entity("Alice", "person", 0.5, 24, 29),
                Entity("Bob", "person", 0.8, 10, 13),
                Entity("Alice", "person", 0.9, 0, 5),
                Entity("Alice", "person", 0.7, 0, 5),
            ]
        )
    )
    assert shape.nodes == [
        GraphNode("Alice", "person", {"score": 0.9, "starts": [0, 24], "ends": [5, 29]}),
        GraphNode("Bob", "person", {"score": 0.8, "starts": [10], "ends": [13]}),
    ]
    assert shape.relationships == []
    for node in shape.nodes:
        assert all(
            TEXT[s:e] == node.id for s, e in zip(node.properties["starts"], node.properties["ends"], strict=True)
        )


def test_one_text_under_two_labels_is_two_nodes() -> None:
    shape = graph_shape(_result([Entity("Paris", "city", 0.6, 17, 22), Entity("Paris", "person", 0.4, 17, 22)]))
    assert [(n.id, n.type, n.properties["score"]) for n in shape.nodes] == [
        ("Paris", "city", 0.6),
        ("Paris", "person", 0.4),
    ]


def test_an_entity_without_offsets_has_only_its_score() -> None:
    shape = graph_shape(
        _result([Entity("cat", "animal", 0.7, bbox=[1.0, 2.0, 3.0, 4.0]), Entity("cat", "animal", 0.2)])
    )
    assert shape.nodes == [GraphNode("cat", "animal", {"score": 0.7})]


def test_a_relation_links_the_nodes_of_its_head_and_tail_text() -> None:
    alice, paris = Entity("Alice", "person", 0.9, 0, 5), Entity("Paris", "city", 0.8, 17, 22)
    shape = graph_shape(_result([alice, paris], [Relation("Alice", "Paris", "visited", 0.75)]))
    assert shape.nodes[0].id == "Alice"
    assert shape.relationships == [GraphRelationship(shape.nodes[0], shape.nodes[1], "visited", {"score": 0.75})]
    assert shape.relationships[0].source.type == "person"
    assert shape.relationships[0].target.type == "city"


def test_a_text_under_several_labels_is_matched_to_its_highest_scoring_node() -> None:
    entities = [
        Entity("Paris", "person", 0.3, 17, 22),
        Entity("Paris", "city", 0.6, 17, 22),
        Entity("Paris", "person", 0.5, 17, 22),
        Entity("Bob", "person", 0.9, 10, 13),
    ]
    shape = graph_shape(_result(entities, [Relation("Bob", "Paris", "lives in", 0.4)]))
    (relationship,) = shape.relationships
    assert (relationship.target.id, relationship.target.type) == ("Paris", "city")
    assert relationship.target in shape.nodes


def test_a_relation_end_found_as_no_entity_is_a_fallback_node() -> None:
    shape = graph_shape(
        _result(
            [Entity("Alice", "person", 0.9, 0, 5)],
            [Relation("Alice", "Acme", "works at", 0.7), Relation("Acme", "Alice", "employs", 0.6)],
        )
    )
    assert FALLBACK_TYPE == "Entity"
    assert shape.nodes == [
        GraphNode("Alice", "person", {"score": 0.9, "starts": [0], "ends": [5]}),
        GraphNode("Acme", "Entity"),
    ]
    assert [(r.source.id, r.type, r.target.id, r.target.type) for r in shape.relationships] == [
        ("Alice", "works at", "Acme", "Entity"),
        ("Acme", "employs", "Alice", "person"),
    ]
    assert shape.relationships[0].target is shape.relationships[1].source


def test_a_repeated_relation_is_one_relationship_with_its_best_score_and_labels_are_kept() -> None:
    entities = [Entity("Alice", "person", 0.9, 0, 5), Entity("Bob", "person", 0.8, 10, 13)]
    relations = [
        Relation("Alice", "Bob", "knows", 0.2),
        Relation("Bob", "Alice", "knows", 0.3),
        Relation("Alice", "Bob", "knows", 0.6),
        Relation("Alice", "Bob", "met with", 0.4),
    ]
    shape = graph_shape(_result(entities, relations))
    assert [(r.source.id, r.type, r.target.id, r.properties) for r in shape.relationships] == [
        ("Alice", "knows", "Bob", {"score": 0.6}),
        ("Bob", "knows", "Alice", {"score": 0.3}),
        ("Alice", "met with", "Bob", {"score": 0.4}),
    ]


def test_every_relationship_end_is_a_node_and_nodes_are_distinct() -> None:
    entities = [Entity("Alice", "person", 0.9, 0, 5), Entity("Alice", "city", 0.95, 0, 5)]
    relations = [Relation("Alice", "Rome", "visited", 0.5), Relation("Rome", "Rome", "is", 0.1)]
    shape = graph_shape(_result(entities, relations))
    keys = [(n.id, n.type) for n in shape.nodes]
    assert len(keys) == len(set(keys)) == 3
    for relationship in shape.relationships:
        assert relationship.source in shape.nodes and relationship.target in shape.nodes
    assert shape.relationships[0].source.type == "city"
    assert shape.relationships[1].source is shape.relationships[1].target


def test_an_empty_extraction_is_an_empty_graph() -> None:
    shape = graph_shape(_result([]))
    assert (shape.nodes, shape.relationships) == ([], [])


def test_nodes_by_text_keep_the_best_label_and_every_span() -> None:
    """For a graph that names nodes by text alone (LlamaIndex's): one node a text, the label relations end at."""
    shape = graph_shape(
        _result(
            [
                Entity("Apple", "company", 0.9, 0, 5),
                Entity("Apple", "fruit", 0.5, 10, 15),
                Entity("Bob", "person", 0.8),
            ],
            [Relation("Bob", "Apple", "likes", 0.7), Relation("Bob", "Carol", "knows", 0.6)],
        )
    )
    nodes = nodes_by_text(shape)
    assert nodes == [
        GraphNode("Apple", "company", {"score": 0.9, "starts": [0, 10], "ends": [5, 15]}),
        GraphNode("Bob", "person", {"score": 0.8}),
        GraphNode("Carol", FALLBACK_TYPE),
    ]
    by_id = {n.id: n.type for n in nodes}
    assert all(by_id[r.target.id] == r.target.type for r in shape.relationships)
