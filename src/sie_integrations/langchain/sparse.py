"""SIE sparse vectors for LangChain: ``{"indices", "values"}`` dicts, for hybrid search."""

from __future__ import annotations

from typing import Any

from .._adapters.sparse import SPARSE, sparse_vectors
from ..types import EncodeResult
from ._base import Encoder


def _sparse_dicts(results: list[EncodeResult]) -> list[dict[str, list[Any]]]:
    return [vector.to_dict() for vector in sparse_vectors(results)]


class SIESparseEncoder(Encoder):
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
