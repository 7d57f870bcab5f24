"""SIE reranking for LlamaIndex, as node postprocessors: a scoring model, or MaxSim over token vectors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from pydantic import Field

from .._adapters.batching import Batched, Concurrent
from .._adapters.model_options import ModelOptions
from .._adapters.multivector import aencode_multivectors, encode_multivectors, maxsim_ranking
from .._adapters.rerank import Ranked, arerank, rerank
from ..types import ScoreEntry
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)

Reranking = tuple[str, Callable[[list[Ranked]], list[NodeWithScore]]]


class _Reranking(LlamaIndexConnection, ModelOptions, Concurrent, BaseNodePostprocessor):
    """What both rerankers share: ``top_n``, the nodes' texts, and LlamaIndex's rerank events."""

    model_name: str
    top_n: int = Field(default=3, ge=1)
    """Nodes to keep (default 3)."""
    instruction: str | None = None
    """A task instruction sent with each request, for models that take one."""

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        return [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]

    @contextmanager
    def _reranking(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None) -> Iterator[Reranking]:
        """One reranking inside LlamaIndex's rerank events (instrumentation, and the ``RERANKING`` callback as
        core's rerankers fire it): the query, and the function that returns the nodes of a ranking."""
        if query_bundle is None:
            raise ValueError(f"{type(self).__name__} needs a query")
        dispatcher.event(
            ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=self.top_n, model_name=self.model_name)
        )
        payload: dict[str, Any] = {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model_name,
            EventPayload.QUERY_STR: query_bundle.query_str,
            EventPayload.TOP_K: self.top_n,
        }
        with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:

            def end(ranked: list[Ranked]) -> list[NodeWithScore]:
                out = [NodeWithScore(node=nodes[r.index].node, score=r.score) for r in ranked]
                event.on_end(payload={EventPayload.NODES: out})
                dispatcher.event(ReRankEndEvent(nodes=out))
                return out

            yield query_bundle.query_str, end


class SIEReranker(_Reranking):
    """Reranks retrieved nodes with an SIE scoring model and keeps the best ``top_n``.

    Returned nodes carry the reranker's score; a call without a query raises ``ValueError``.
    """

    model_name: str
    """The id of a scoring model, a reranker (also accepted as ``model``)."""

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEReranker"``."""
        return "SIEReranker"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, end):

            def score(part: Sequence[str]) -> list[ScoreEntry]:
                return self.client.score(self.model_name, query, part, instruction=self.instruction, **self._options())

            return end(rerank(score, self._texts(nodes), top_n=self.top_n, limit=self._limit()))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, end):

            async def score(part: Sequence[str]) -> list[ScoreEntry]:
                return await self.async_client.score(
                    self.model_name, query, part, instruction=self.instruction, **self._options()
                )

            return end(await arerank(score, self._texts(nodes), top_n=self.top_n, limit=self._limit()))


class SIEMaxSimReranker(_Reranking, Batched):
    """Reranks retrieved nodes by MaxSim between the query's and each node's token vectors; keeps the best ``top_n``.

    A second stage after any vector store: the token vectors come from a multivector model (ColBERT-style)
    and are scored on the client, so the store needs no multivector support. Returned nodes carry the MaxSim
    score; a call without a query raises ``ValueError``.
    """

    model_name: str
    """The id of a model with multivector output, such as a ColBERT model (also accepted as ``model``)."""

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEMaxSimReranker"``."""
        return "SIEMaxSimReranker"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, end):
            if not nodes:
                return end([])
            args = {"instruction": self.instruction, **self._options()}
            q = encode_multivectors(self.client, self.model_name, [query], self._batching(), is_query=True, **args)
            d = encode_multivectors(
                self.client, self.model_name, self._texts(nodes), self._batching(), is_query=False, **args
            )
            return end(maxsim_ranking(q[0], d, self.top_n))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        with self._reranking(nodes, query_bundle) as (query, end):
            if not nodes:
                return end([])
            args = {"instruction": self.instruction, **self._options()}
            client, batching = self.async_client, self._batching()
            q, d = await asyncio.gather(
                aencode_multivectors(client, self.model_name, [query], batching, is_query=True, **args),
                aencode_multivectors(client, self.model_name, self._texts(nodes), batching, is_query=False, **args),
            )
            return end(maxsim_ranking(q[0], d, self.top_n))
