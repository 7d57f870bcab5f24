"""SIE reranking for LlamaIndex, as a node postprocessor."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from pydantic import Field, PrivateAttr

from .._adapters.batching import in_flight
from .._adapters.rerank import Ranked, arerank, rerank
from .._core.concurrency import Limit
from ..types import ScoreEntry
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)


class SIEReranker(LlamaIndexConnection, BaseNodePostprocessor):
    """Reranks retrieved nodes with an SIE scoring model and keeps the best ``top_n``.

    Returned nodes carry the reranker's score; a call without a query raises ``ValueError``.
    """

    model_name: str
    """The id of a scoring model, a reranker (also accepted as ``model``)."""
    top_n: int = Field(default=3, ge=1)
    """Nodes to keep (default 3)."""
    instruction: str | None = None
    """A task instruction sent with each request, for rerankers that take one."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once, for more nodes than one request takes (1,000). None (the default)
    adapts it to the server, between 1 and 32; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEReranker"``."""
        return "SIEReranker"

    def _limit(self) -> Limit:
        return in_flight(self.max_concurrency, self._adaptive)

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        return [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]

    def _start(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> str:
        if query_bundle is None:
            raise ValueError("SIEReranker needs a query")
        dispatcher.event(
            ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=self.top_n, model_name=self.model_name)
        )
        return query_bundle.query_str

    def _end(self, nodes: list[NodeWithScore], ranked: list[Ranked]) -> list[NodeWithScore]:
        out = [NodeWithScore(node=nodes[r.index].node, score=r.score) for r in ranked]
        dispatcher.event(ReRankEndEvent(nodes=out))
        return out

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)

        def score(part: Sequence[str]) -> list[ScoreEntry]:
            return self.client.score(self.model_name, query, part, instruction=self.instruction)

        return self._end(nodes, rerank(score, self._texts(nodes), top_n=self.top_n, limit=self._limit()))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = self._start(nodes, query_bundle)

        async def score(part: Sequence[str]) -> list[ScoreEntry]:
            return await self.async_client.score(self.model_name, query, part, instruction=self.instruction)

        return self._end(nodes, await arerank(score, self._texts(nodes), top_n=self.top_n, limit=self._limit()))
