"""SIE embeddings for LlamaIndex: dense (``BaseEmbedding``), sparse (hybrid search), multivector (late interaction)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.callbacks.base import EventContext
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index.core.schema import ImageType
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
    plan,
    restore,
    split,
    text_length,
)
from .._adapters.multivector import aencode_multivectors, encode_multivectors
from .._adapters.sparse import SPARSE, sparse_vectors
from .._core.concurrency import Limit, batch_cost
from .._core.images import image_items, image_label
from .._http.dispatch import LoopGates, run_batches
from ..types import EncodeResult, ItemLike
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)


def _cost(part: Sequence[ItemLike]) -> float:
    return batch_cost(map(text_length, part))


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

    def _embed(self, texts: Sequence[ItemLike], is_query: bool = False) -> list[list[float]]:
        if not texts:
            return []
        rows: list[list[float]] = self.client.encode_dense(self.model_name, texts, **self._args(is_query)).tolist()
        return rows

    async def _aembed(self, texts: Sequence[ItemLike], is_query: bool = False) -> list[list[float]]:
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
        parts = [(list(part), part) for part in split(ordered, self.embed_batch_size)]
        return restore(order, self._in_flight_batches(parts, show_progress))

    def _in_flight_batches(
        self, parts: Sequence[tuple[list[str], Sequence[ItemLike]]], show_progress: bool
    ) -> list[list[float]]:
        """LlamaIndex's batch loop, its events included, with the batches sent ``max_concurrency`` at a time.

        Each part is what the events name (the texts, or the images' paths) and what is sent.
        """
        payload = self.to_payload()
        opened: deque[EventContext] = deque()

        def started() -> Iterator[Sequence[ItemLike]]:  # pulled on this thread, just before each batch is sent
            for _, items in get_tqdm_iterable(parts, show_progress, "Generating embeddings"):
                dispatcher.event(EmbeddingStartEvent(model_dict=payload))
                opened.append(EventContext(self.callback_manager, CBEventType.EMBEDDING))
                opened[-1].on_start(payload={EventPayload.SERIALIZED: payload})
                yield items

        out: list[list[float]] = []
        limit = in_flight(self.max_concurrency, self._adaptive)
        sent = run_batches(lambda items: self._embed(list(items)), started(), limit, _cost)
        try:
            for (chunks, _), vectors in zip(parts, sent, strict=True):
                opened.popleft().on_end(payload={EventPayload.CHUNKS: chunks, EventPayload.EMBEDDINGS: vectors})
                dispatcher.event(EmbeddingEndEvent(chunks=chunks, embeddings=vectors))
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


class SIEMultiModalEmbedding(SIEEmbeddings, MultiModalEmbedding):
    """Text and image embeddings in one vector space, from an SIE model that takes images (CLIP, SigLIP, ...).

    The image embedding model of a ``MultiModalVectorStoreIndex``. Images are paths, bytes, ``BytesIO`` or
    PIL images; each is read and checked before anything is sent (its format told by its bytes, at most
    16 MiB), then sent in batches of ``embed_batch_size`` (fewer when the images are large), up to
    ``max_concurrency`` at a time. Text methods are those of ``SIEEmbeddings``.
    """

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEMultiModalEmbedding"``."""
        return "SIEMultiModalEmbedding"

    def _image_parts(self, images: Sequence[ImageType]) -> tuple[list[int], list[tuple[list[str], list[ItemLike]]]]:
        """Where each planned image is in the input, and each batch as (what events name, what is sent)."""
        parts = plan(image_items(images), self.embed_batch_size)
        order = [i for part in parts for i in part.positions]
        return order, [([image_label(images[i]) for i in part.positions], part.items) for part in parts]

    def _get_image_embedding(self, img_file_path: ImageType) -> list[float]:
        return self._embed(image_items([img_file_path]))[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> list[float]:
        return (await self._aembed(image_items([img_file_path])))[0]

    def get_image_embedding(self, img_file_path: ImageType) -> list[float]:
        """Embed one image, with LlamaIndex's events naming it by its path (never its bytes).

        Args:
            img_file_path: A path, bytes, a ``BytesIO`` or a PIL image.
        """
        return self.get_image_embedding_batch([img_file_path])[0]

    async def aget_image_embedding(self, img_file_path: ImageType) -> list[float]:
        """Async ``get_image_embedding``.

        Args:
            img_file_path: A path, bytes, a ``BytesIO`` or a PIL image.
        """
        return (await self.aget_image_embedding_batch([img_file_path]))[0]

    def get_image_embedding_batch(
        self, img_file_paths: list[ImageType], show_progress: bool = False
    ) -> list[list[float]]:
        """Embed images in batches, up to ``max_concurrency`` in flight, with LlamaIndex's events; in input order.

        Args:
            img_file_paths: Paths, bytes, ``BytesIO`` or PIL images.
            show_progress: Show LlamaIndex's progress bar.
        """
        order, parts = self._image_parts(img_file_paths)
        return restore(order, self._in_flight_batches(parts, show_progress))

    async def aget_image_embedding_batch(
        self, img_file_paths: list[ImageType], show_progress: bool = False
    ) -> list[list[float]]:
        """Async ``get_image_embedding_batch``, with the same events; batches wait for a free ``max_concurrency`` slot.

        Args:
            img_file_paths: Paths, bytes, ``BytesIO`` or PIL images.
            show_progress: Not used.
        """
        order, parts = self._image_parts(img_file_paths)
        payload = self.to_payload()

        async def run(chunks: list[str], items: list[ItemLike]) -> list[list[float]]:
            dispatcher.event(EmbeddingStartEvent(model_dict=payload))
            with self.callback_manager.event(
                CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: payload}
            ) as event:
                vectors = await self._aembed(items)
                event.on_end(payload={EventPayload.CHUNKS: chunks, EventPayload.EMBEDDINGS: vectors})
            dispatcher.event(EmbeddingEndEvent(chunks=chunks, embeddings=vectors))
            return vectors

        batches = await asyncio.gather(*(run(*part) for part in parts))
        return restore(order, [vector for vectors in batches for vector in vectors])


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


class SIEMultiVectorEmbeddings(LlamaIndexConnection, BaseModel):
    """Late-interaction (ColBERT-style) embeddings: one ``(tokens, dims)`` numpy matrix per text.

    For ``SIEMaxSimReranker``, or a vector store with multivector support (Qdrant's ``MultiVectorConfig``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    """The id of a model with multivector output, such as a ColBERT model (also accepted as ``model``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""
    batch_size: int = Field(default=256, ge=1)
    """Texts per request (default 256)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once. None (the default) adapts it to the server: it grows while the server answers
    without queueing and backs off when requests queue or are refused, between 1 and 32; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)

    def _batching(self) -> Batching:
        return Batching(self.batch_size, in_flight(self.max_concurrency, self._adaptive))

    def get_text_embeddings(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """The token vectors of each text, in batches of ``batch_size``, in input order.

        Args:
            texts: The texts.
        """
        return encode_multivectors(
            self.client, self.model_name, texts, self._batching(), is_query=False, instruction=self.instruction
        )

    def get_query_embedding(self, query: str) -> np.ndarray[Any, Any]:
        """The token vectors of a search query (sent with ``is_query``).

        Args:
            query: The query.
        """
        return encode_multivectors(
            self.client, self.model_name, [query], self._batching(), is_query=True, instruction=self.instruction
        )[0]

    async def aget_text_embeddings(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """Async ``get_text_embeddings``.

        Args:
            texts: The texts.
        """
        return await aencode_multivectors(
            self.async_client, self.model_name, texts, self._batching(), is_query=False, instruction=self.instruction
        )

    async def aget_query_embedding(self, query: str) -> np.ndarray[Any, Any]:
        """Async ``get_query_embedding``.

        Args:
            query: The query.
        """
        vectors = await aencode_multivectors(
            self.async_client, self.model_name, [query], self._batching(), is_query=True, instruction=self.instruction
        )
        return vectors[0]
