"""SIE extraction for LlamaIndex: entities and relations into node metadata and property-graph keys."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.extractors.interface import BaseExtractor
from llama_index.core.graph_stores.types import KG_NODES_KEY, KG_RELATIONS_KEY, EntityNode, Relation
from llama_index.core.schema import BaseNode, MetadataMode
from llama_index.core.tools import FunctionTool
from pydantic import Field

from .._adapters.batching import Batched, BatchSize
from .._adapters.extraction import Part, aextract_batched, aextract_one, extract_one, extraction_dict
from .._adapters.graph import graph_shape, nodes_by_text
from .._adapters.model_options import ModelOptions
from ..types import ExtractResult
from ._base import LlamaIndexConnection

logger = logging.getLogger("sie_integrations")

ENTITIES_KEY = "entities"
RELATIONS_KEY = "entity_relations"
METADATA_KEYS: Mapping[Part, str] = {
    "entities": ENTITIES_KEY,
    "relations": RELATIONS_KEY,  # "relations" is KG_RELATIONS_KEY
    "classifications": "classifications",
    "objects": "objects",
}
"""The metadata key of each part of an extraction."""


def graph_parts(result: ExtractResult, node: BaseNode) -> tuple[list[EntityNode], list[Relation]]:
    """The extraction's graph (``graph_shape``) as property-graph objects, added to those already on the node.

    LlamaIndex names an ``EntityNode`` by its text alone, so a text found under several labels is one node, of its
    best-scoring label (``nodes_by_text``); a text the node already has an entity for keeps that one.
    """
    shape = graph_shape(result)
    entities: list[EntityNode] = list(node.metadata.get(KG_NODES_KEY, []))
    relations: list[Relation] = list(node.metadata.get(KG_RELATIONS_KEY, []))
    known = {e.id for e in entities}
    for found in nodes_by_text(shape):
        entity = EntityNode(name=found.id, label=found.type, properties=found.properties)
        if entity.id not in known:
            known.add(entity.id)
            entities.append(entity)
    for relationship in shape.relationships:
        relations.append(
            Relation(
                label=relationship.type,
                source_id=relationship.source.id,
                target_id=relationship.target.id,
                properties=relationship.properties,
            )
        )
    return entities, relations


class SIEExtractor(LlamaIndexConnection, ModelOptions, Batched, BaseExtractor):
    """Extracts entities and relations for ``labels`` with an SIE model.

    Writes them into each node's metadata (``entities``, ``entity_relations``, ``classifications``, ``objects``)
    and, with ``graph=True``, into ``KG_NODES_KEY`` / ``KG_RELATIONS_KEY`` so ``PropertyGraphIndex`` can use it
    as a ``kg_extractor``. These keys are kept out of the text sent to embedding models and LLMs.
    """

    model_name: str
    """The id of an extraction model, such as a GLiNER model (also accepted as ``model``)."""
    labels: list[str] = Field(min_length=1)
    """The entity labels to find, such as ``["person", "organization"]`` (at least one)."""
    batch_size: BatchSize = 32
    """Nodes per request (default 32); fewer when their text passes 400,000 characters."""
    graph: bool = True
    """Also write property-graph entities and relations (``KG_NODES_KEY``, ``KG_RELATIONS_KEY``)."""
    metadata_mode: MetadataMode = MetadataMode.NONE
    """Which of a node's metadata is sent along with its text (default: none)."""
    show_progress: bool = False
    """Show LlamaIndex's progress bar over the nodes."""

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEExtractor"``."""
        return "SIEExtractor"

    async def _aextract_with_retry(self, nodes: Sequence[BaseNode]) -> list[dict[str, Any]]:
        """One attempt per batch of nodes, keeping LlamaIndex's ``raise_on_error``.

        ``max_retries`` is the client's here (429s, busy 503s, broken connections: what is safe to
        retry). LlamaIndex reads the same field to repeat the whole ``aextract`` on any error,
        refusals included, sleeping ``retry_backoff * 2**attempt`` in between.
        """
        try:
            return await self.aextract(nodes)
        except Exception as exc:
            if self.raise_on_error:
                raise
            logger.warning("extraction failed (%s); empty metadata for %d node(s)", exc, len(nodes))
            return [{} for _ in nodes]

    async def aextract(self, nodes: Sequence[BaseNode]) -> list[dict[str, Any]]:
        """The metadata to add to each node, in input order.

        Args:
            nodes: The nodes; their content is sent in batches of ``batch_size``.
        """
        texts = [node.get_content(metadata_mode=self.metadata_mode) for node in nodes]
        results = await aextract_batched(
            self.async_client, self.model_name, texts, self._batching(), labels=self.labels, **self._options()
        )
        keys = [*METADATA_KEYS.values(), *([KG_NODES_KEY, KG_RELATIONS_KEY] if self.graph else [])]
        out = []
        for node, result in zip(nodes, results, strict=True):
            metadata = extraction_dict(result, METADATA_KEYS)
            if self.graph:
                metadata[KG_NODES_KEY], metadata[KG_RELATIONS_KEY] = graph_parts(result, node)
            for excluded in (node.excluded_embed_metadata_keys, node.excluded_llm_metadata_keys):
                excluded.extend(k for k in keys if k not in excluded)
            out.append(metadata)
        return out

    def as_tool(self, name: str = "sie_extract", description: str | None = None) -> FunctionTool:
        """A tool for agents: extract from a text, returning entities, relations, classifications and objects.

        Args:
            name: The tool's name, as the model sees it.
            description: What the tool does, as the model sees it; None: one naming the ``labels``.
        """

        def extract(text: str) -> dict[str, Any]:
            """Extract entities (with character offsets), relations, classifications and objects from a text."""
            result = extract_one(self.client, self.model_name, text, labels=self.labels, **self._options())
            return extraction_dict(result, METADATA_KEYS)

        async def aextract(text: str) -> dict[str, Any]:
            result = await aextract_one(self.async_client, self.model_name, text, labels=self.labels, **self._options())
            return extraction_dict(result, METADATA_KEYS)

        labels = ", ".join(self.labels)
        return FunctionTool.from_defaults(
            fn=extract,
            async_fn=aextract,
            name=name,
            description=description or f"Extract {labels} entities and their relations from a text.",
        )
