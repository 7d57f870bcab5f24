"""SIE reranking for LlamaIndex, as a node postprocessor."""

from __future__ import annotations

from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from pydantic import Field

from ..types import ScoreEntry
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)
MAX_ITEMS_PER_REQUEST = 1000


class SIEReranker(LlamaIndexConnection, BaseNodePostprocessor):
    """Reranks retrieved nodes with an SIE scoring model and keeps the best ``top_n``."""

    model_name: str
    top_n: int = Field(default=3, ge=1)
    instruction: str | None = None

    @classmethod
    def class_name(cls) -> str:
        return "SIEReranker"

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        return [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]

    def _ranked(self, nodes: list[NodeWithScore], chunks: list[list[ScoreEntry]]) -> list[NodeWithScore]:
        scored = [
            (entry.score, offset + entry.index)
            for offset, entries in zip(range(0, len(nodes), MAX_ITEMS_PER_REQUEST), chunks, strict=True)
            for entry in entries
        ]
        scored.sort(key=lambda pair: -pair[0])
        return [NodeWithScore(node=nodes[i].node, score=score) for score, i in scored[: self.top_n]]

    def _start(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> str:
        if query_bundle is None:
            raise ValueError("SIEReranker needs a query")
        dispatcher.event(
            ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=self.top_n, model_name=self.model_name)
        )
        return query_bundle.query_str

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        texts = self._texts(nodes)
        chunks = [
            self.client.score(
                self.model_name, query, texts[o : o + MAX_ITEMS_PER_REQUEST], instruction=self.instruction
            )
            for o in range(0, len(texts), MAX_ITEMS_PER_REQUEST)
        ]
        ranked = self._ranked(nodes, chunks)
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)
        texts = self._texts(nodes)
        chunks = [
            await self.async_client.score(
                self.model_name, query, texts[o : o + MAX_ITEMS_PER_REQUEST], instruction=self.instruction
            )
            for o in range(0, len(texts), MAX_ITEMS_PER_REQUEST)
        ]
        ranked = self._ranked(nodes, chunks)
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked
