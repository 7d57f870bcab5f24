"""SIE sparse vectors for LlamaIndex: a ``BaseSparseEmbedding`` (``{index: weight}`` dicts, with LlamaIndex's
events), and ``(indices, values)`` batches, the sparse functions of Qdrant's hybrid search."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any, ClassVar

from llama_index.core.base.embeddings.base_sparse import BaseSparseEmbedding, SparseEmbedding
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.embedding import SparseEmbeddingEndEvent, SparseEmbeddingStartEvent
from llama_index.core.utils import get_tqdm_iterable
from pydantic import PrivateAttr

from .._adapters.batching import BatchSize, Concurrent, aencode_batched, batches, encode_batched
from .._adapters.model_options import ModelOptions
from .._adapters.sparse import SPARSE, sparse_vectors
from .._core.batches import Batch, restore
from .._http.dispatch import LoopGates, run_batches
from ..types import EncodeResult, ItemLike
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)
SparseBatch = tuple[list[list[int]], list[list[float]]]
Rows = list[SparseEmbedding]


def _split(results: list[EncodeResult]) -> SparseBatch:
    vectors = sparse_vectors(results)
    return [v.indices.tolist() for v in vectors], [v.values.tolist() for v in vectors]


def _rows(results: list[EncodeResult]) -> Rows:
    """LlamaIndex's sparse embeddings: one ``{index: weight}`` dict per result."""
    return [dict(zip(v.indices.tolist(), v.values.tolist(), strict=True)) for v in sparse_vectors(results)]


class SIESparseEmbeddings(LlamaIndexConnection, ModelOptions, Concurrent, BaseSparseEmbedding):
    """Sparse vectors from an SIE model: a LlamaIndex ``BaseSparseEmbedding``, and Qdrant's sparse functions.

    As a ``BaseSparseEmbedding`` (the ``sparse_embedding_model`` of vector stores such as Pinecone's),
    ``get_query_embedding``, ``get_text_embedding_batch`` and their async twins return ``{index: weight}``
    dicts, with LlamaIndex's ``SparseEmbeddingStartEvent`` / ``SparseEmbeddingEndEvent`` for each request.
    Texts are sent in batches of similar length, ``embed_batch_size`` at most each, up to ``max_concurrency``
    in flight (sync and async); results in input order.

    ``encode_documents`` / ``encode_queries`` return ``(indices, values)`` batches: they are the
    ``sparse_doc_fn`` / ``sparse_query_fn`` that ``QdrantVectorStore(enable_hybrid=True)`` takes.
    """

    model_name: str
    """The id of a model with sparse output, such as a SPLADE or BGE-M3 model (also accepted as ``model``)."""
    embed_batch_size: BatchSize = 256
    """Texts per request (default 256; also accepted as ``batch_size``); fewer when their text passes 400,000
    characters."""
    _gates: LoopGates = PrivateAttr(default_factory=LoopGates)
    _size_field: ClassVar[str] = "embed_batch_size"
    _renames: ClassVar[Mapping[str, str]] = {"model": "model_name", "batch_size": "embed_batch_size"}

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIESparseEmbeddings"``."""
        return "SIESparseEmbeddings"

    def _args(self, is_query: bool) -> dict[str, Any]:
        return {"output_types": SPARSE, "is_query": is_query, **self._options()}

    def _results(self, texts: Sequence[ItemLike], is_query: bool) -> list[EncodeResult]:
        return encode_batched(self.client, self.model_name, texts, self._batching(), **self._args(is_query))

    async def _aresults(self, texts: Sequence[ItemLike], is_query: bool) -> list[EncodeResult]:
        batching = self._batching()
        return await aencode_batched(self.async_client, self.model_name, texts, batching, **self._args(is_query))

    def encode_documents(self, texts: list[str]) -> SparseBatch:
        """Sparse vectors of documents, as ``(indices, values)``: two lists with one list per text.

        Args:
            texts: The documents' texts.
        """
        return _split(self._results(texts, is_query=False))

    def encode_queries(self, texts: list[str]) -> SparseBatch:
        """Sparse vectors of queries (sent with ``is_query``), as ``(indices, values)``.

        Args:
            texts: The queries.
        """
        return _split(self._results(texts, is_query=True))

    async def aencode_documents(self, texts: list[str]) -> SparseBatch:
        """Async ``encode_documents``.

        Args:
            texts: The documents' texts.
        """
        return _split(await self._aresults(texts, is_query=False))

    async def aencode_queries(self, texts: list[str]) -> SparseBatch:
        """Async ``encode_queries``.

        Args:
            texts: The queries.
        """
        return _split(await self._aresults(texts, is_query=True))

    # --- BaseSparseEmbedding ---------------------------------------------------------------------------------

    def _send(self, batch: Batch[ItemLike]) -> Rows:
        return _rows(self.client.encode(self.model_name, batch.items, **self._args(False)))

    async def _asend(self, batch: Batch[ItemLike], is_query: bool = False) -> Rows:
        return _rows(await self.async_client.encode(self.model_name, batch.items, **self._args(is_query)))

    async def _aembed(self, texts: list[str], is_query: bool = False) -> Rows:
        """Through this event loop's gate, so calls LlamaIndex starts at once stay under ``max_concurrency``."""
        planned = batches(texts, self.embed_batch_size)
        gate = self._gates.get(self._limit())
        return restore(planned, await gate.run_all(lambda batch: self._asend(batch, is_query), planned))

    @dispatcher.span
    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False, **kwargs: Any) -> Rows:
        """Sparse vectors of texts, in batches of similar length, up to ``max_concurrency`` in flight.

        Each request has LlamaIndex's start and end events, the end event naming its texts. Results in input
        order.

        Args:
            texts: The texts.
            show_progress: Show LlamaIndex's progress bar.
            **kwargs: Not used (LlamaIndex's signature).
        """
        planned, payload = batches(texts, self.embed_batch_size), self.to_payload()

        def started() -> Iterator[Batch[ItemLike]]:  # pulled on this thread, just before each batch is sent
            for batch in get_tqdm_iterable(planned, show_progress, "Generating embeddings"):
                dispatcher.event(SparseEmbeddingStartEvent(model_dict=payload))
                yield batch

        results: list[Rows] = []
        with closing(run_batches(self._send, started(), self._limit())) as sent:
            for batch, rows in zip(planned, sent, strict=True):
                dispatcher.event(SparseEmbeddingEndEvent(chunks=[texts[p] for p in batch.positions], embeddings=rows))
                results.append(rows)
        return restore(planned, results)

    @dispatcher.span
    async def aget_text_embedding_batch(self, texts: list[str], show_progress: bool = False) -> Rows:
        """Async ``get_text_embedding_batch``, with the same events: each request's start event once the
        gate lets it through.

        Args:
            texts: The texts.
            show_progress: Not used.
        """
        planned, payload = batches(texts, self.embed_batch_size), self.to_payload()

        async def send(batch: Batch[ItemLike]) -> Rows:
            dispatcher.event(SparseEmbeddingStartEvent(model_dict=payload))
            rows = await self._asend(batch)
            dispatcher.event(SparseEmbeddingEndEvent(chunks=[texts[p] for p in batch.positions], embeddings=rows))
            return rows

        return restore(planned, await self._gates.get(self._limit()).run_all(send, planned))

    def _get_query_embedding(self, query: str) -> SparseEmbedding:
        return _rows(self._results([query], is_query=True))[0]

    async def _aget_query_embedding(self, query: str) -> SparseEmbedding:
        return (await self._aembed([query], is_query=True))[0]

    def _get_text_embedding(self, text: str) -> SparseEmbedding:
        return _rows(self._results([text], is_query=False))[0]

    async def _aget_text_embedding(self, text: str) -> SparseEmbedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> Rows:
        return _rows(self._results(texts, is_query=False))

    async def _aget_text_embeddings(self, texts: list[str]) -> Rows:
        return await self._aembed(texts)
