"""SIE sparse vectors for LlamaIndex: ``(indices, values)`` batches, for hybrid search."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .._adapters.batching import Batched, aencode_batched, encode_batched
from .._adapters.sparse import SPARSE, sparse_vectors
from ..types import EncodeResult
from ._base import LlamaIndexConnection

SparseBatch = tuple[list[list[int]], list[list[float]]]


def _split(results: list[EncodeResult]) -> SparseBatch:
    vectors = sparse_vectors(results)
    return [v.indices.tolist() for v in vectors], [v.values.tolist() for v in vectors]


class SIESparseEmbeddings(LlamaIndexConnection, Batched, BaseModel):
    """Sparse vectors from an SIE model as ``(indices, values)`` batches.

    ``encode_documents`` / ``encode_queries`` are the ``sparse_doc_fn`` / ``sparse_query_fn`` that
    ``QdrantVectorStore(enable_hybrid=True)`` takes.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    """The id of a model with sparse output, such as a SPLADE or BGE-M3 model (also accepted as ``model``)."""

    def _encode(self, texts: list[str], is_query: bool) -> SparseBatch:
        args = {"output_types": SPARSE, "is_query": is_query}
        return _split(encode_batched(self.client, self.model_name, texts, self._batching(), **args))

    async def _aencode(self, texts: list[str], is_query: bool) -> SparseBatch:
        args = {"output_types": SPARSE, "is_query": is_query}
        return _split(await aencode_batched(self.async_client, self.model_name, texts, self._batching(), **args))

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
