"""SIE embeddings for LangChain: dense (``Embeddings``), sparse (hybrid search) and multivector (late interaction)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import Field, PrivateAttr

from .._adapters.batching import (
    Batching,
    Progress,
    aembed_matrix,
    aembed_rows,
    aencode_batched,
    embed_matrix,
    embed_rows,
    encode_batched,
    in_flight,
)
from .._adapters.connection import SIEConnection
from .._adapters.multivector import MULTIVECTOR, multivectors
from .._adapters.sparse import SPARSE, sparse_vectors
from .._core.concurrency import Limit
from .._core.images import ImageSource, image_items
from ..types import EncodeResult


@contextmanager
def _progress_bar(enabled: bool, texts: Sequence[Any]) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError("show_progress=True needs tqdm: pip install tqdm") from exc
    with tqdm(total=len(texts) if isinstance(texts, Sequence) else None, unit="text") as bar:
        yield bar.update


class _Encoder(SIEConnection):
    model: str = Field(alias="model_name")
    """The model id (also accepted as ``model_name``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""
    batch_size: int = Field(default=256, ge=1)
    """Texts per request (default 256)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Requests in flight at once. None (the default) adapts it to the server: it grows while the server answers
    without queueing and backs off when requests queue or are refused, between 1 and 32; a number pins it."""
    _adaptive: Limit = PrivateAttr(default_factory=Limit)
    show_progress: bool = False
    """Show a tqdm progress bar (needs ``pip install tqdm``)."""

    def _batching(self, progress: Progress | None = None) -> Batching:
        return Batching(self.batch_size, in_flight(self.max_concurrency, self._adaptive), progress)

    def _encode(self, texts: list[str], **args: Any) -> list[EncodeResult]:
        with _progress_bar(self.show_progress, texts) as progress:
            batching = self._batching(progress)
            return encode_batched(self.client, self.model, texts, batching, instruction=self.instruction, **args)

    async def _aencode(self, texts: list[str], **args: Any) -> list[EncodeResult]:
        with _progress_bar(self.show_progress, texts) as progress:
            batching = self._batching(progress)
            return await aencode_batched(
                self.async_client, self.model, texts, batching, instruction=self.instruction, **args
            )


class SIEEmbeddings(_Encoder, Embeddings):
    """Dense embeddings from an SIE model.

    Example:
        ```python
        from sie_integrations.langchain import SIEEmbeddings

        embeddings = SIEEmbeddings(model="sentence-transformers/all-MiniLM-L6-v2")
        vectors = embeddings.embed_documents(["hello", "world"])
        ```
    """

    output_dtype: str | None = None
    """The number type of the vectors, when the model supports it: ``"float32"`` (the server's default),
    ``"float16"``, ``"int8"``, ``"uint8"``, ``"binary"``."""

    def _dense(self, is_query: bool) -> dict[str, Any]:
        return {"instruction": self.instruction, "is_query": is_query, "output_dtype": self.output_dtype}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents, in batches of ``batch_size``, in input order.

        Args:
            texts: The documents' texts.
        """
        with _progress_bar(self.show_progress, texts) as progress:
            return embed_rows(self.client, self.model, texts, self._batching(progress), **self._dense(False))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (sent with ``is_query``, for models that embed queries differently).

        Args:
            text: The query.
        """
        return embed_rows(self.client, self.model, [text], self._batching(), **self._dense(True))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async ``embed_documents``.

        Args:
            texts: The documents' texts.
        """
        with _progress_bar(self.show_progress, texts) as progress:
            return await aembed_rows(
                self.async_client, self.model, texts, self._batching(progress), **self._dense(False)
            )

    async def aembed_query(self, text: str) -> list[float]:
        """Async ``embed_query``.

        Args:
            text: The query.
        """
        return (await aembed_rows(self.async_client, self.model, [text], self._batching(), **self._dense(True)))[0]

    def embed_image(self, uris: list[ImageSource]) -> list[list[float]]:
        """Embed images into the model's vector space, for a model that takes images (CLIP, SigLIP, ...).

        Every image is read and checked first (its format told by its bytes; at most 16 MiB), then sent in
        batches. A model without image input answers with its error, raised typed.

        Args:
            uris: Paths (or ``file://`` and ``data:`` URIs), the files' bytes, or PIL images.
        """
        items = image_items(uris)
        with _progress_bar(self.show_progress, items) as progress:
            return embed_rows(self.client, self.model, items, self._batching(progress), **self._dense(False))

    async def aembed_image(self, uris: list[ImageSource]) -> list[list[float]]:
        """Async ``embed_image``.

        Args:
            uris: Paths (or ``file://`` and ``data:`` URIs), the files' bytes, or PIL images.
        """
        items = image_items(uris)
        with _progress_bar(self.show_progress, items) as progress:
            return await aembed_rows(
                self.async_client, self.model, items, self._batching(progress), **self._dense(False)
            )

    def embed_documents_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Embed documents (or queries) into one ``(len(texts), dims)`` numpy matrix, no Python floats.

        Args:
            texts: The texts, sent in batches of ``batch_size``.
            is_query: Embed them as search queries (as ``embed_query`` does).
        """
        with _progress_bar(self.show_progress, texts) as progress:
            return embed_matrix(self.client, self.model, texts, self._batching(progress), **self._dense(is_query))

    async def aembed_documents_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Async ``embed_documents_array``.

        Args:
            texts: The texts, sent in batches of ``batch_size``.
            is_query: Embed them as search queries (as ``aembed_query`` does).
        """
        with _progress_bar(self.show_progress, texts) as progress:
            return await aembed_matrix(
                self.async_client, self.model, texts, self._batching(progress), **self._dense(is_query)
            )


def _sparse_dicts(results: list[EncodeResult]) -> list[dict[str, list[Any]]]:
    return [vector.to_dict() for vector in sparse_vectors(results)]


class SIESparseEncoder(_Encoder):
    """Sparse vectors from an SIE model, as ``{"indices": [...], "values": [...]}``.

    The shape ``PineconeHybridSearchRetriever(sparse_encoder=...)`` expects.
    """

    def _sparse(self, texts: str | list[str], is_query: bool) -> Any:
        """One dict for a single string, else a list."""
        batch = [texts] if isinstance(texts, str) else texts
        out = _sparse_dicts(self._encode(batch, output_types=SPARSE, is_query=is_query))
        return out[0] if isinstance(texts, str) else out

    def encode_documents(self, texts: str | list[str]) -> Any:
        """Sparse vectors of documents; one dict for a single string, else a list.

        Args:
            texts: A document's text, or a list of them (sent in batches of ``batch_size``).
        """
        return self._sparse(texts, is_query=False)

    def encode_queries(self, texts: str | list[str]) -> Any:
        """Sparse vectors of queries (sent with ``is_query``); one dict for a single string, else a list.

        Args:
            texts: A query, or a list of them.
        """
        return self._sparse(texts, is_query=True)

    async def aencode_documents(self, texts: list[str]) -> list[dict[str, list[Any]]]:
        """Async ``encode_documents``, for a list of texts.

        Args:
            texts: The documents' texts.
        """
        return _sparse_dicts(await self._aencode(texts, output_types=SPARSE))

    async def aencode_queries(self, texts: list[str]) -> list[dict[str, list[Any]]]:
        """Async ``encode_queries``, for a list of texts.

        Args:
            texts: The queries.
        """
        return _sparse_dicts(await self._aencode(texts, output_types=SPARSE, is_query=True))


class SIEMultiVectorEmbeddings(_Encoder):
    """Late-interaction (ColBERT-style) embeddings: one ``(tokens, dims)`` numpy matrix per text.

    For ``SIEMaxSimReranker``, or a vector store with multivector support (Qdrant's ``MultiVectorConfig``).
    """

    def embed_documents(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """The token vectors of each document, in batches of ``batch_size``, in input order.

        Args:
            texts: The documents' texts.
        """
        return multivectors(self._encode(texts, output_types=MULTIVECTOR))

    def embed_query(self, text: str) -> np.ndarray[Any, Any]:
        """The token vectors of a search query (sent with ``is_query``).

        Args:
            text: The query.
        """
        return multivectors(self._encode([text], output_types=MULTIVECTOR, is_query=True))[0]

    async def aembed_documents(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """Async ``embed_documents``.

        Args:
            texts: The documents' texts.
        """
        return multivectors(await self._aencode(texts, output_types=MULTIVECTOR))

    async def aembed_query(self, text: str) -> np.ndarray[Any, Any]:
        """Async ``embed_query``.

        Args:
            text: The query.
        """
        return multivectors(await self._aencode([text], output_types=MULTIVECTOR, is_query=True))[0]
