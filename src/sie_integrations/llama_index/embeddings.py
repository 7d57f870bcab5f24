"""SIE dense embeddings for LlamaIndex: texts (``BaseEmbedding``), and images in the same space."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.callbacks.base import EventContext
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index.core.schema import ImageType
from llama_index.core.utils import get_tqdm_iterable
from pydantic import PrivateAttr

from .._adapters.batching import BatchSize, Concurrent, aembed_matrix, batches, embed_matrix, embed_rows
from .._adapters.images import image_items, image_label
from .._adapters.model_options import ModelOptions
from .._core.batches import Batch, restore
from .._http.dispatch import LoopGates, run_batches
from ..types import ItemLike
from ._base import LlamaIndexConnection

dispatcher = get_dispatcher(__name__)
Vectors = list[list[float]]


class _Events:
    """LlamaIndex's events for each batch sent: a start event when it is sent, an end event with its vectors."""

    def __init__(self, embedding: BaseEmbedding) -> None:
        self._payload = embedding.to_payload()
        self._callbacks = embedding.callback_manager

    def start(self) -> EventContext:
        dispatcher.event(EmbeddingStartEvent(model_dict=self._payload))
        event = EventContext(self._callbacks, CBEventType.EMBEDDING)
        event.on_start(payload={EventPayload.SERIALIZED: self._payload})
        return event

    def end(self, event: EventContext, chunks: list[str], vectors: Vectors) -> None:
        event.on_end(payload={EventPayload.CHUNKS: chunks, EventPayload.EMBEDDINGS: vectors})
        dispatcher.event(EmbeddingEndEvent(chunks=chunks, embeddings=vectors))

    @staticmethod
    def failed(event: EventContext, error: BaseException) -> None:
        event.on_end(payload={EventPayload.EXCEPTION: error})


class SIEEmbeddings(LlamaIndexConnection, ModelOptions, Concurrent, BaseEmbedding):
    """Dense embeddings from an SIE model, for indexes, retrievers and ingestion pipelines.

    Texts are sent in batches of similar length, ``embed_batch_size`` at most each, up to ``max_concurrency`` in
    flight (sync and async), with LlamaIndex's events for each batch; results in input order.
    """

    model_name: str
    """The model id (also accepted as ``model``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""
    output_dtype: str | None = None
    """The number type of the vectors, when the model supports it: ``"float32"`` (the server's default),
    ``"float16"``, ``"int8"``, ``"uint8"``, ``"binary"``."""
    embed_batch_size: BatchSize = 256
    """Texts per request (default 256); fewer when their text passes 400,000 characters or their images 8 MiB."""
    _gates: LoopGates = PrivateAttr(default_factory=LoopGates)
    _size_field: ClassVar[str] = "embed_batch_size"

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEEmbeddings"``."""
        return "SIEEmbeddings"

    def _args(self, is_query: bool) -> dict[str, Any]:
        dense = {"is_query": is_query, "instruction": self.instruction, "output_dtype": self.output_dtype}
        return {**dense, **self._options()}

    def _send(self, batch: Batch[ItemLike]) -> Vectors:
        rows: Vectors = self.client.encode_dense(self.model_name, batch.items, **self._args(False)).tolist()
        return rows

    async def _asend(self, batch: Batch[ItemLike], is_query: bool = False) -> Vectors:
        matrix = await self.async_client.encode_dense(self.model_name, batch.items, **self._args(is_query))
        rows: Vectors = matrix.tolist()
        return rows

    def _embed(self, items: Sequence[ItemLike], is_query: bool = False) -> Vectors:
        return embed_rows(self.client, self.model_name, items, self._batching(), **self._args(is_query))

    async def _aembed(self, items: Sequence[ItemLike], is_query: bool = False) -> Vectors:
        """Through this event loop's gate, so calls LlamaIndex starts at once stay under ``max_concurrency``."""
        planned = batches(items, self.embed_batch_size)
        gate = self._gates.get(self._limit())
        return restore(planned, await gate.run_all(lambda batch: self._asend(batch, is_query), planned))

    def _with_events(self, labels: Sequence[str], items: Sequence[ItemLike], show_progress: bool) -> Vectors:
        """The batches of ``items`` sent with LlamaIndex's events, which name each item by its ``labels`` entry."""
        planned, events = batches(items, self.embed_batch_size), _Events(self)
        opened: list[EventContext] = []

        def started() -> Iterator[Batch[ItemLike]]:  # pulled on this thread, just before each batch is sent
            for batch in get_tqdm_iterable(planned, show_progress, "Generating embeddings"):
                opened.append(events.start())
                yield batch

        sent = run_batches(self._send, started(), self._limit())
        results: list[Vectors] = []
        try:
            for batch, vectors in zip(planned, sent, strict=True):
                events.end(opened[len(results)], [labels[p] for p in batch.positions], vectors)
                results.append(vectors)
        except BaseException as exc:
            for event in opened[len(results) :]:
                events.failed(event, exc)
            raise
        finally:
            sent.close()
        return restore(planned, results)

    async def _awith_events(self, labels: Sequence[str], items: Sequence[ItemLike]) -> Vectors:
        """Async ``_with_events``: each batch's start event once the gate lets it through."""
        planned, events = batches(items, self.embed_batch_size), _Events(self)
        failures: list[BaseException] = []  # the batch that failed first, whose error the others end with

        async def send(batch: Batch[ItemLike]) -> Vectors:
            event = events.start()
            try:
                vectors = await self._asend(batch)
            except asyncio.CancelledError as exc:
                events.failed(event, failures[0] if failures else exc)
                raise
            except BaseException as exc:
                failures.append(exc)
                events.failed(event, exc)
                raise
            events.end(event, [labels[p] for p in batch.positions], vectors)
            return vectors

        return restore(planned, await self._gates.get(self._limit()).run_all(send, planned))

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
    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False, **kwargs: Any) -> Vectors:
        """Embed texts in batches of similar length, up to ``max_concurrency`` in flight; results in input order.

        Each batch has LlamaIndex's events, naming its texts. With an ``embeddings_cache`` or a ``rate_limiter``,
        LlamaIndex cuts the batches itself and sends them one after another.

        Args:
            texts: The texts.
            show_progress: Show LlamaIndex's progress bar.
            **kwargs: Passed on to LlamaIndex's ``get_text_embedding_batch``.
        """
        if self.embeddings_cache is not None or self.rate_limiter is not None:
            return super().get_text_embedding_batch(texts, show_progress, **kwargs)
        return self._with_events(texts, texts, show_progress)

    @dispatcher.span
    async def aget_text_embedding_batch(self, texts: list[str], show_progress: bool = False, **kwargs: Any) -> Vectors:
        """Async ``get_text_embedding_batch``.

        Args:
            texts: The texts.
            show_progress: Show LlamaIndex's progress bar (with an ``embeddings_cache`` or a ``rate_limiter``).
            **kwargs: Passed on to LlamaIndex's ``aget_text_embedding_batch``.
        """
        if self.embeddings_cache is not None or self.rate_limiter is not None:
            return await super().aget_text_embedding_batch(texts, show_progress, **kwargs)
        return await self._awith_events(texts, texts)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query], is_query=True)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._aembed([query], is_query=True))[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> Vectors:
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

    def get_image_embedding_batch(self, img_file_paths: list[ImageType], show_progress: bool = False) -> Vectors:
        """Embed images in batches, up to ``max_concurrency`` in flight, with LlamaIndex's events; in input order.

        Args:
            img_file_paths: Paths, bytes, ``BytesIO`` or PIL images.
            show_progress: Show LlamaIndex's progress bar.
        """
        items = image_items(img_file_paths)
        return self._with_events([image_label(image) for image in img_file_paths], items, show_progress)

    async def aget_image_embedding_batch(self, img_file_paths: list[ImageType], show_progress: bool = False) -> Vectors:
        """Async ``get_image_embedding_batch``, with the same events.

        Args:
            img_file_paths: Paths, bytes, ``BytesIO`` or PIL images.
            show_progress: Not used.
        """
        items = image_items(img_file_paths)
        return await self._awith_events([image_label(image) for image in img_file_paths], items)
