"""SIE multivector (late interaction) embeddings for LlamaIndex: one ``(tokens, dims)`` matrix per text."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from .._adapters.batching import Batched
from .._adapters.model_options import ModelOptions
from .._adapters.multivector import aencode_multivectors, encode_multivectors
from ._base import LlamaIndexConnection


class SIEMultiVectorEmbeddings(LlamaIndexConnection, ModelOptions, Batched, BaseModel):
    """Late-interaction (ColBERT-style) embeddings: one ``(tokens, dims)`` numpy matrix per text.

    For ``SIEMaxSimReranker``, or a vector store with multivector support (Qdrant's ``MultiVectorConfig``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    """The id of a model with multivector output, such as a ColBERT model (also accepted as ``model``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""

    def _args(self, is_query: bool) -> dict[str, Any]:
        return {"is_query": is_query, "instruction": self.instruction, **self._options()}

    def get_text_embeddings(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """The token vectors of each text, in batches of ``batch_size``, in input order.

        Args:
            texts: The texts.
        """
        return encode_multivectors(self.client, self.model_name, texts, self._batching(), **self._args(False))

    def get_query_embedding(self, query: str) -> np.ndarray[Any, Any]:
        """The token vectors of a search query (sent with ``is_query``).

        Args:
            query: The query.
        """
        return encode_multivectors(self.client, self.model_name, [query], self._batching(), **self._args(True))[0]

    async def aget_text_embeddings(self, texts: list[str]) -> list[np.ndarray[Any, Any]]:
        """Async ``get_text_embeddings``.

        Args:
            texts: The texts.
        """
        return await aencode_multivectors(
            self.async_client, self.model_name, texts, self._batching(), **self._args(False)
        )

    async def aget_query_embedding(self, query: str) -> np.ndarray[Any, Any]:
        """Async ``get_query_embedding``.

        Args:
            query: The query.
        """
        vectors = await aencode_multivectors(
            self.async_client, self.model_name, [query], self._batching(), **self._args(True)
        )
        return vectors[0]
