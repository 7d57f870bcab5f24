"""An extraction as a graph: its entities as nodes, its relations as relationships between them.

The shape is that of LangChain's graph documents (``Node``, ``Relationship``), in plain dataclasses:

* a node's ``id`` is the entity's text as found, its ``type`` the label it was found for; an entity found
  several times is one node, with the highest score and every span
  (``{"score": ..., "starts": [...], "ends": [...]}``, the spans in text order; no offsets for an image region);
* a relationship's ``type`` is the relation's label as the server sends it (not normalised), its properties
  ``{"score": ...}``; its ends are the nodes of the head's and the tail's text (of the highest-scoring label,
  when a text was found under several), or a node of type ``FALLBACK_TYPE`` when no entity has that text.

Property values are numbers and flat lists, the values graph databases such as Neo4j store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..types import Entity, ExtractResult

FALLBACK_TYPE = "Entity"
"""The type of a node named by a relation's head or tail but found as no entity."""


@dataclass(frozen=True)
class GraphNode:
    """A node: an entity's text and label, with its score and spans as properties."""

    id: str
    """The entity's text."""
    type: str
    """The label it was found for, or ``FALLBACK_TYPE``."""
    properties: dict[str, Any] = field(default_factory=dict)
    """``score`` (the highest), and ``starts`` and ``ends`` (its spans) when the text has offsets."""


@dataclass(frozen=True)
class GraphRelationship:
    """A directed relationship between two nodes, typed with the relation's label."""

    source: GraphNode
    """The node of the relation's head."""
    target: GraphNode
    """The node of the relation's tail."""
    type: str
    """The relation's label, as the server sent it."""
    properties: dict[str, Any] = field(default_factory=dict)
    """``score``: the highest score of this relation between these nodes."""


@dataclass(frozen=True)
class GraphShape:
    """The nodes and relationships of one extraction, each once."""

    nodes: list[GraphNode]
    """The entities, in the order first found, then the nodes only relations name."""
    relationships: list[GraphRelationship]
    """The relations, in the order first found."""


def graph_shape(result: ExtractResult) -> GraphShape:
    """The graph of one extraction: a node per distinct (text, label), a relationship per distinct relation."""
    found: dict[tuple[str, str], list[Entity]] = {}
    for entity in result.entities:
        found.setdefault((entity.text, entity.label), []).append(entity)
    nodes = [_entity_node(text, label, entities) for (text, label), entities in found.items()]
    by_text: dict[str, GraphNode] = {}
    for node in nodes:
        if node.id not in by_text or node.properties["score"] > by_text[node.id].properties["score"]:
            by_text[node.id] = node

    def node_of(text: str) -> GraphNode:
        if text not in by_text:
            by_text[text] = GraphNode(text, FALLBACK_TYPE)
            nodes.append(by_text[text])
        return by_text[text]

    relationships: dict[tuple[str, str, str], GraphRelationship] = {}
    for relation in result.relations:
        key = (relation.head, relation.tail, relation.relation)
        if key not in relationships or relation.score > relationships[key].properties["score"]:
            source, target = node_of(relation.head), node_of(relation.tail)
            relationships[key] = GraphRelationship(source, target, relation.relation, {"score": relation.score})
    return GraphShape(nodes, list(relationships.values()))


def nodes_by_text(shape: GraphShape) -> list[GraphNode]:
    """One node per text, for a graph that names its nodes by their text alone (LlamaIndex's): the node of the
    best-scoring label (the one relationships end at), with the spans of every label the text was found under."""
    groups: dict[str, list[GraphNode]] = {}
    for node in shape.nodes:
        groups.setdefault(node.id, []).append(node)
    folded = []
    for text, nodes in groups.items():
        best = max(nodes, key=lambda n: n.properties.get("score", -math.inf))
        spans = sorted(
            {
                span
                for n in nodes
                for span in zip(n.properties.get("starts", []), n.properties.get("ends", []), strict=True)
            }
        )
        properties = dict(best.properties)
        if spans:
            properties["starts"], properties["ends"] = [s for s, _ in spans], [e for _, e in spans]
        folded.append(GraphNode(text, best.type, properties))
    return folded


def _entity_node(text: str, label: str, entities: Sequence[Entity]) -> GraphNode:
    spans = sorted({(e.start, e.end) for e in entities if e.start is not None and e.end is not None})
    properties: dict[str, Any] = {"score": max(e.score for e in entities)}
    if spans:
        properties["starts"] = [start for start, _ in spans]
        properties["ends"] = [end for _, end in spans]
    return GraphNode(text, label, properties)
