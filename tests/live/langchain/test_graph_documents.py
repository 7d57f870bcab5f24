"""Graph documents from the real peer's extractions, through Neo4jGraph's own import code and in the plain shape."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.documents import Document

with warnings.catch_warnings():  # langchain-community warns that it is being sunset; only its graph classes are used
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.graphs import Neo4jGraph
    from langchain_community.graphs import graph_document as community

from sie_integrations.langchain import SIEExtractionTransformer
from sie_integrations.langchain._graph import GraphDocument
from tests.support.graphs import block, node_keys

LABELS = ["person", "city"]
TEXTS = ["Alice met Bob in Paris.", "Carol lives in Rome.", "x"]


def _assert_well_formed(graphs: list[Any], docs: list[Document]) -> None:
    assert len(graphs) == len(docs)
    for graph, doc in zip(graphs, docs, strict=True):
        assert graph.source is doc
        keys = node_keys(graph.nodes)
        assert len(keys) == len(set(keys))
        assert {n.type for n in graph.nodes} <= {*LABELS, "Entity"}
        for node in graph.nodes:
            spans = zip(node.properties.get("starts", []), node.properties.get("ends", []), strict=True)
            assert all(doc.page_content[start:end] == node.id for start, end in spans)
        for relationship in graph.relationships:
            assert relationship.source in graph.nodes and relationship.target in graph.nodes
            assert isinstance(relationship.type, str) and relationship.type
            assert isinstance(relationship.properties["score"], float)


@pytest.mark.live
@pytest.mark.vcr
async def test_graph_documents_from_the_peer_go_through_neo4j_import(sie_url: str) -> None:
    docs = [Document(page_content=t, metadata={"source": i}) for i, t in enumerate(TEXTS)]
    transformer = SIEExtractionTransformer(model="sie-fake-full", labels=LABELS, base_url=sie_url, batch_size=2)
    graphs = transformer.convert_to_graph_documents(docs)
    assert all(type(g) is community.GraphDocument for g in graphs)
    _assert_well_formed(graphs, docs)
    assert any(g.relationships for g in graphs)
    assert all("sie_extraction" not in d.metadata for d in docs)
    assert await transformer.aconvert_to_graph_documents(docs) == graphs

    # Neo4jGraph's own import code, with its query() captured instead of sent to a server
    sent: list[dict[str, Any]] = []
    store = Neo4jGraph.__new__(Neo4jGraph)
    store.query = lambda query, params={}: sent.append(params) or []  # type: ignore[method-assign]
    store.add_graph_documents(graphs, include_source=True)
    nodes = [row for params in sent[0::2] for row in params["data"]]
    rels = [row for params in sent[1::2] for row in params["data"]]
    assert [(n["id"], n["type"]) for n in nodes] == [(n.id, n.type) for g in graphs for n in g.nodes]
    assert [(r["source"], r["type"], r["target"]) for r in rels] == [  # Neo4jGraph upper-cases types itself
        (r.source.id, r.type.replace(" ", "_").upper(), r.target.id) for g in graphs for r in g.relationships
    ]
    for row in nodes + rels:  # Neo4j stores primitives and flat lists only
        for value in row["properties"].values():
            assert isinstance(value, (int, float, str)) or all(isinstance(v, (int, float)) for v in value)


@pytest.mark.live
@pytest.mark.vcr
def test_plain_graph_documents_from_the_peer(sie_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "langchain_community", "langchain_neo4j")
    docs = [Document(page_content=t) for t in TEXTS]
    transformer = SIEExtractionTransformer(model="sie-fake-full", labels=LABELS, base_url=sie_url, batch_size=2)
    graphs = transformer.convert_to_graph_documents(docs)
    assert all(type(g) is GraphDocument for g in graphs)
    _assert_well_formed(graphs, docs)
