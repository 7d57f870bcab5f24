"""SIE embeddings for LlamaIndex: dense (``BaseEmbedding``) and sparse (hybrid search)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.callbacks.base import EventContext
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index.core.utils import get_tqdm_iterable
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .._adapters.batching import (
    Batching,
    aembed_matrix,
    aencode_batched,
    by_length,
    embed_matrix,
    encode_batched,
    in_flight,
    restore,
    split,
)
from .._adapters.sparse import SPARSE, sparse_vectors
from .._core.concurrency import Limit, batch_cost
from .._http.dispatch import LoopGates, run_batches
from ..types import EncodeResult
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)


def _cost(part: Sequence[str]) -> float:
    return batch_cost(map(len, part))


class SIEEmbeddings(LlamaIndexConnection, BaseEmbedding):
    """Dense embeddings from an SIE model, for indexes, retrievers and ingestion pipelines.

    Each batch of ``embed_batch_size`` texts is one request; async batches run at most ``max_concurrency``
    at a time, adapted to the server unless pinned (LlamaIndex would otherwise send every batch at once).
    """

    model_name: str
    """The model id (also accepted as ``model``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""
    output_dtype: str | None = None
    """The number type of the vectors, when the model supports it: ``"float32"`` (the server's default),
    ``"float16"``, ``"int8"``, ``"uint8"``, ``"binary"``."""
    embed_batch_size: int = Field(default=256, gt=0, le=2048)
    """Texts per request, 1 to 2048 (default 256)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once. None (the default) adapts it to the server: it grows while the server answers
    without queueing and backs off when requests queue or are refused, between 1 and 32; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)
    _gates: LoopGates = PrivateAttr(default_factory=LoopGates)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEEmbeddings"``."""
        return "SIEEmbeddings"

    def _args(self, is_query: bool) -> dict[str, Any]:
        return {"is_query": is_query, "instruction": self.instruction, "output_dtype": self.output_dtype}

    def _embed(self, texts: list[str], is_query: bool = False) -> list[list[float]]:
        if not texts:
            return []
        rows: list[list[float]] = self.client.encode_dense(self.model_name, texts, **self._args(is_query)).tolist()
        return rows

    async def _aembed(self, texts: list[str], is_query: bool = False) -> list[list[float]]:
        if not texts:
            return []
        gate = self._gates.get(in_flight(self.max_concurrency, self._adaptive))
        matrix = await gate.run(
            lambda batch: self.async_client.encode_dense(self.model_name, batch, **self._args(is_query)),
            texts,
            _cost(texts),
        )
        rows: list[list[float]] = matrix.tolist()
        return rows

    def _batching(self) -> Batching:
        return Batching(self.embed_batch_size, in_flight(self.max_concurrency, self._adaptive))

    def get_text_embedding_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Embed texts into one ``(len(texts), dims)`` numpy matrix, no Python floats.

        Batches of ``embed_batch_size``, up to ``max_concurrency`` in flight.

        Args:
            texts: The texts.
            is_query: Embed them as search queries (as ``get_query_embedding`` does).
        """
        return embed_matrix(self.client, self.model_name, texts, self._batching(), **self._args(is_query))

    async def aget_text_embedding_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Async ``get_text_embedding_array``.

        Args:
            texts: The texts.
            is_query: Embed them as search queries (as ``aget_query_embedding`` does).
        """
        return await aembed_matrix(self.async_client, self.model_name, texts, self._batching(), **self._args(is_query))

    @dispatcher.span
    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Embed texts in batches of ``embed_batch_size`` texts of similar length; results in input order.

        Up to ``max_concurrency`` batches are in flight, with LlamaIndex's events for each batch, in order.
        With an ``embeddings_cache`` or a ``rate_limiter``, LlamaIndex sends the batches one after another.

        Args:
            texts: The texts.
            show_progress: Show LlamaIndex's progress bar.
            **kwargs: Passed on to LlamaIndex's ``get_text_embedding_batch``.
        """
        order, ordered = by_length(texts)
        if self.embeddings_cache is not None or self.rate_limiter is not None:
            return restore(order, super().get_text_embedding_batch(ordered, show_progress, **kwargs))
        return restore(order, self._in_flight_batches(ordered, show_progress))

    def _in_flight_batches(self, texts: list[str], show_progress: bool) -> list[list[float]]:
        """LlamaIndex's batch loop, its events included, with the batches sent ``max_concurrency`` at a time."""
        payload = self.to_payload()
        parts = split(texts, self.embed_batch_size)
        opened: deque[EventContext] = deque()

        def started() -> Iterator[Sequence[str]]:  # pulled on this thread, just before each batch is sent
            for part in get_tqdm_iterable(parts, show_progress, "Generating embeddings"):
                dispatcher.event(EmbeddingStartEvent(model_dict=payload))
                opened.append(EventContext(self.callback_manager, CBEventType.EMBEDDING))
                opened[-1].on_start(payload={EventPayload.SERIALIZED: payload})
                yield part

        out: list[list[float]] = []
        limit = in_flight(self.max_concurrency, self._adaptive)
        sent = run_batches(lambda part: self._embed(list(part)), started(), limit, _cost)
        try:
            for part, vectors in zip(parts, sent, strict=True):
                opened.popleft().on_end(payload={EventPayload.CHUNKS: list(part), EventPayload.EMBEDDINGS: vectors})
                dispatcher.event(EmbeddingEndEvent(chunks=list(part), embeddings=vectors))
                out.extend(vectors)
        except Exception as exc:
            for event in opened:
                event.on_end(payload={EventPayload.EXCEPTION: exc})
            raise
        finally:
            sent.close()
        return out

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[list[float]]:
        """Async ``get_text_embedding_batch``.

        Args:
            texts: The texts.
            show_progress: Show LlamaIndex's progress bar.
            **kwargs: Passed on to LlamaIndex's ``aget_text_embedding_batch``.
        """
        order, ordered = by_length(texts)
        return restore(order, await super().aget_text_embedding_batch(ordered, show_progress, **kwargs))

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query], is_query=True)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._aembed([query], is_query=True))[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._aembed(texts)


SparseBatch = tuple[list[list[int]], list[list[float]]]


def _split(results: list[EncodeResult]) -> SparseBatch:
    vectors = sparse_vectors(results)
    return [v.indices.tolist() for v in vectors], [v.values.tolist() for v in vectors]


class SIESparseEmbeddings(LlamaIndexConnection, BaseModel):
    """Sparse vectors from an SIE model as ``(indices, values)`` batches.

    ``encode_documents`` / ``encode_queries`` are the ``sparse_doc_fn`` / ``sparse_query_fn`` that
    ``QdrantVectorStore(enable_hybrid=True)`` takes.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    """The id of a model with sparse output, such as a SPLADE or BGE-M3 model (also accepted as ``model``)."""
    batch_size: int = Field(default=256, ge=1)
    """Texts per request (default 256)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once. None (the default) adapts it to the server: it grows while the server answers
    without queueing and backs off when requests queue or are refused, between 1 and 32; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)

    def _encode(self, texts: list[str], is_query: bool) -> SparseBatch:
        batching = Batching(self.batch_size, in_flight(self.max_concurrency, self._adaptive))
        return _split(
            encode_batched(self.client, self.model_name, texts, batching, output_types=SPARSE, is_query=is_query)
        )

    async def _aencode(self, texts: list[str], is_query: bool) -> SparseBatch:
        batching = Batching(self.batch_size, in_flight(self.max_concurrency, self._adaptive))
        results = await aencode_batched(
            self.async_client, self.model_name, texts, batching, output_types=SPARSE, is_query=is_query
        )
        return _split(results)

    def encode_documents(self, texts: list[str]) -> SparseBatch:
        """Sparse vectors of documents, as ``(indices, values)``: two lists with one list per text.

        Args:
            texts: The documents' texts.
        """
        return self._encode(texts, is_query=False)

    def encode_queries(self, texts: list[str]) -> SparseBatch:
        """Sparse vectors of queries (sent with ``is_query``), as ``(indices, values)``.

        Args:
            texts: The queries.
        """
        return self._encode(texts, is_query=True)

    async def aencode_documents(self, texts: list[str]) -> SparseBatch:
        """Async ``encode_documents``.

        Args:
            texts: The documents' texts.
        """
        return await self._aencode(texts, is_query=False)

    async def aencode_queries(self, texts: list[str]) -> SparseBatch:
        """Async ``encode_queries``.

        Args:
            texts: The queries.
        """
        return await self._aencode(texts, is_query=True)
