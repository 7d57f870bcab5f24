"""SIE multivector (late interaction) embeddings for LangChain: one ``(tokens, dims)`` matrix per text."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._adapters.multivector import MULTIVECTOR, multivectors
from ._base import Encoder


class SIEMultiVectorEmbeddings(Encoder):
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
