"""Extraction results as graph documents, in the classes of the LangChain graph package installed, if any."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

from langchain_core.documents import Document

from .._adapters.graph import GraphShape, graph_shape
from ..types import ExtractResult

# Looked up in this order, on each conversion, so that importing the adapters imports neither.
GRAPH_MODULES = ("langchain_neo4j.graphs.graph_document", "langchain_community.graphs.graph_document")


@dataclass(frozen=True)
class GraphDocument(GraphShape):
    """The graph of one document, without a LangChain graph package: the fields of its ``GraphDocument``."""

    source: Document
    """The document the graph was extracted from."""


def graph_documents(documents: Sequence[Document], results: Sequence[ExtractResult]) -> list[Any]:
    """Each document's extraction as a ``GraphDocument`` of the first of ``GRAPH_MODULES`` installed, else as ours."""
    shapes = [graph_shape(result) for result in results]
    module = _graph_module()
    if module is None:
        return [
            GraphDocument(shape.nodes, shape.relationships, doc) for doc, shape in zip(documents, shapes, strict=True)
        ]
    return [_framework_document(module, shape, doc) for doc, shape in zip(documents, shapes, strict=True)]


def _graph_module() -> ModuleType | None:
    for name in GRAPH_MODULES:
        try:
            return import_module(name)
        except ImportError:
            continue
    return None


def _framework_document(module: ModuleType, shape: GraphShape, source: Document) -> Any:
    nodes = {(n.id, n.type): module.Node(id=n.id, type=n.type, properties=n.properties) for n in shape.nodes}
    relationships = [
        module.Relationship(
            source=nodes[r.source.id, r.source.type],
            target=nodes[r.target.id, r.target.type],
            type=r.type,
            properties=r.properties,
        )
        for r in shape.relationships
    ]
    return module.GraphDocument(nodes=list(nodes.values()), relationships=relationships, source=source)
