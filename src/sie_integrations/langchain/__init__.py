"""LangChain adapters for SIE: embeddings, sparse encoder and reranker."""

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError("sie_integrations.langchain needs LangChain: pip install 'sie-integrations[langchain]'") from exc

from .embeddings import SIEEmbeddings, SIESparseEncoder
from .rerankers import SIEReranker

__all__ = ["SIEEmbeddings", "SIEReranker", "SIESparseEncoder"]
