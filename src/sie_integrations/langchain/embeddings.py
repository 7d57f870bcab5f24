"""SIE dense embeddings for LangChain (``Embeddings``), of texts and of images."""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .._adapters.batching import aembed_matrix, aembed_rows, embed_matrix, embed_rows
from .._adapters.images import ImageSource, image_items
from ._base import Encoder, progress_bar


class SIEEmbeddings(Encoder, Embeddings):
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
        dense = {"instruction": self.instruction, "is_query": is_query, "output_dtype": self.output_dtype}
        return {**dense, **self._options()}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents, in batches of ``batch_size``, in input order.

        Args:
            texts: The documents' texts.
        """
        with progress_bar(self.show_progress, texts) as progress:
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
        with progress_bar(self.show_progress, texts) as progress:
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
        with progress_bar(self.show_progress, items) as progress:
            return embed_rows(self.client, self.model, items, self._batching(progress), **self._dense(False))

    async def aembed_image(self, uris: list[ImageSource]) -> list[list[float]]:
        """Async ``embed_image``.

        Args:
            uris: Paths (or ``file://`` and ``data:`` URIs), the files' bytes, or PIL images.
        """
        items = image_items(uris)
        with progress_bar(self.show_progress, items) as progress:
            return await aembed_rows(
                self.async_client, self.model, items, self._batching(progress), **self._dense(False)
            )

    def embed_documents_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Embed documents (or queries) into one ``(len(texts), dims)`` numpy matrix, no Python floats.

        Args:
            texts: The texts, sent in batches of ``batch_size``.
            is_query: Embed them as search queries (as ``embed_query`` does).
        """
        with progress_bar(self.show_progress, texts) as progress:
            return embed_matrix(self.client, self.model, texts, self._batching(progress), **self._dense(is_query))

    async def aembed_documents_array(self, texts: list[str], *, is_query: bool = False) -> np.ndarray[Any, Any]:
        """Async ``embed_documents_array``.

        Args:
            texts: The texts, sent in batches of ``batch_size``.
            is_query: Embed them as search queries (as ``aembed_query`` does).
        """
        with progress_bar(self.show_progress, texts) as progress:
            return await aembed_matrix(
                self.async_client, self.model, texts, self._batching(progress), **self._dense(is_query)
            )
