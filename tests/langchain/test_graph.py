"""SIEExtractionTransformer.convert_to_graph_documents: LangChain's GraphDocument, or the plain shape without it."""

from __future__ import annotations

import subprocess
import sys
import types
import warnings

import pytest
from langchain_core.documents import Document

with warnings.catch_warnings():  # langchain-community warns that it is being sunset; only its graph classes are used
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.graphs import graph_document as community

from sie_integrations._adapters.graph import GraphNode, GraphRelationship
from sie_integrations.langchain._graph import GraphDocument, graph_documents
from sie_integrations.types import Entity, ExtractResult, Relation
from tests.support.graphs import block, node_keys

TEXTS = ["Alice met Bob in Paris.", "Carol lives in Rome.", "x"]
RESULT = ExtractResult(
    id="item-0",
    entities=[Entity("Alice", "person", 0.9, 0, 5), Entity("Paris", "city", 0.8, 17, 22)],
    relations=[Relation("Alice", "Paris", "visited", 0.7), Relation("Alice", "Bob", "met", 0.6)],
)


def test_langchain_community_classes_where_installed() -> None:
    doc = Document(page_content=TEXTS[0])
    (graph,) = graph_documents([doc], [RESULT])
    assert type(graph) is community.GraphDocument
    assert graph.source is doc
    assert all(type(n) is community.Node for n in graph.nodes)
    assert node_keys(graph.nodes) == [("Alice", "person"), ("Paris", "city"), ("Bob", "Entity")]
    assert graph.nodes[0].properties == {"score": 0.9, "starts": [0], "ends": [5]}
    assert [(type(r), r.type, r.properties) for r in graph.relationships] == [
        (community.Relationship, "visited", {"score": 0.7}),
        (community.Relationship, "met", {"score": 0.6}),
    ]
    visited, met = graph.relationships
    assert visited.source is graph.nodes[0] and visited.target is graph.nodes[1]
    assert met.source is graph.nodes[0] and met.target is graph.nodes[2]


def test_langchain_neo4j_classes_without_langchain_community(monkeypatch: pytest.MonkeyPatch) -> None:
    class Node(community.Node): ...

    class Relationship(community.Relationship): ...

    class Neo4jGraphDocument(community.GraphDocument): ...

    neo4j = types.ModuleType("langchain_neo4j.graphs.graph_document")
    neo4j.Node, neo4j.Relationship, neo4j.GraphDocument = Node, Relationship, Neo4jGraphDocument
    block(monkeypatch, "langchain_community")
    monkeypatch.setitem(sys.modules, "langchain_neo4j.graphs.graph_document", neo4j)
    (graph,) = graph_documents([Document(page_content=TEXTS[0])], [RESULT])
    assert type(graph) is Neo4jGraphDocument
    assert {type(n) for n in graph.nodes} == {Node}
    assert {type(r) for r in graph.relationships} == {Relationship}


def test_the_plain_shape_without_either(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "langchain_community", "langchain_neo4j")
    doc = Document(page_content=TEXTS[0])
    (graph,) = graph_documents([doc], [RESULT])
    assert type(graph) is GraphDocument
    assert graph.source is doc
    alice, paris, bob = graph.nodes
    assert alice == GraphNode("Alice", "person", {"score": 0.9, "starts": [0], "ends": [5]})
    assert bob == GraphNode("Bob", "Entity")
    assert graph.relationships == [
        GraphRelationship(alice, paris, "visited", {"score": 0.7}),
        GraphRelationship(alice, bob, "met", {"score": 0.6}),
    ]


def test_importing_the_adapters_imports_no_graph_package() -> None:
    code = (
        "import importlib.util, sys\n"
        "import sie_integrations.langchain\n"
        "from sie_integrations.langchain import SIEExtractionTransformer\n"
        "assert importlib.util.find_spec('langchain_community') is not None\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('langchain_community', 'langchain_neo4j'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
