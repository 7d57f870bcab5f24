"""SIE sparse vectors for LangChain: langchain-qdrant ``SparseVector``s, and ``{"indices", "values"}`` dicts.

langchain-qdrant (the ``qdrant`` extra) is imported only by the methods that return its vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._adapters.sparse import SPARSE, sparse_vectors
from ..types import EncodeResult
from ._base import Encoder

if TYPE_CHECKING:
    from langchain_qdrant import SparseVector


def _sparse_dicts(results: list[EncodeResult]) -> list[dict[str, list[Any]]]:
    return [vector.to_dict() for vector in sparse_vectors(results)]


def qdrant_vector_type() -> type[SparseVector]:
    """langchain-qdrant's ``SparseVector``; ``ImportError`` naming the extra when it is not installed."""
    try:
        from langchain_qdrant import SparseVector
    except ImportError as exc:
        raise ImportError(
            "SIEQdrantSparseEmbeddings and the embed_* methods of SIESparseEncoder need langchain-qdrant: "
            "pip install 'sie-integrations[qdrant]'"
        ) from exc
    return SparseVector


def _qdrant_vectors(vector_type: type[SparseVector], results: list[EncodeResult]) -> list[SparseVector]:
    return [vector_type(indices=v.indices.tolist(), values=v.values.tolist()) for v in sparse_vectors(results)]


class SIESparseEncoder(Encoder):
    """Sparse vectors from an SIE model, for hybrid search.

    ``embed_documents`` / ``embed_query`` (and their async twins) return langchain-qdrant ``SparseVector``s,
    the interface of ``QdrantVectorStore(sparse_embedding=...)`` (they need ``sie-integrations[qdrant]``;
    ``SIEQdrantSparseEmbeddings`` is this class as a ``langchain_qdrant.SparseEmbeddings``).
    ``encode_documents`` / ``encode_queries`` return ``{"indices": [...], "values": [...]}`` dicts, the shape
    ``PineconeHybridSearchRetriever(sparse_encoder=...)`` expects.
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

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """Sparse vectors of documents, as langchain-qdrant ``SparseVector``s (needs ``[qdrant]``).

        Args:
            texts: The documents' texts (sent in batches of ``batch_size``, up to ``max_concurrency`` at once).
        """
        vector_type = qdrant_vector_type()  # before anything is sent
        return _qdrant_vectors(vector_type, self._encode(texts, output_types=SPARSE))

    def embed_query(self, text: str) -> SparseVector:
        """The sparse vector of a query (sent with ``is_query``), as a langchain-qdrant ``SparseVector``.

        Args:
            text: The query.
        """
        vector_type = qdrant_vector_type()
        return _qdrant_vectors(vector_type, self._encode([text], output_types=SPARSE, is_query=True))[0]

    async def aembed_documents(self, texts: list[str]) -> list[SparseVector]:
        """Async ``embed_documents``, on the event loop (no thread).

        Args:
            texts: The documents' texts.
        """
        vector_type = qdrant_vector_type()
        return _qdrant_vectors(vector_type, await self._aencode(texts, output_types=SPARSE))

    async def aembed_query(self, text: str) -> SparseVector:
        """Async ``embed_query``, on the event loop (no thread).

        Args:
            text: The query.
        """
        vector_type = qdrant_vector_type()
        return _qdrant_vectors(vector_type, await self._aencode([text], output_types=SPARSE, is_query=True))[0]
