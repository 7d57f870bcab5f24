"""``SIESparseEncoder`` as langchain-qdrant's ``SparseEmbeddings``; imported only when used (the ``qdrant`` extra)."""

from __future__ import annotations

from .sparse import SIESparseEncoder, qdrant_vector_type

qdrant_vector_type()  # the ImportError that names the extra
from langchain_qdrant import SparseEmbeddings  # noqa: E402


class SIEQdrantSparseEmbeddings(SIESparseEncoder, SparseEmbeddings):
    """``SIESparseEncoder`` as a ``langchain_qdrant.SparseEmbeddings``: the ``sparse_embedding`` of
    ``QdrantVectorStore`` (``retrieval_mode=RetrievalMode.SPARSE`` or ``HYBRID``), sync and native async.

    Needs ``pip install 'sie-integrations[qdrant]'``.
    """
