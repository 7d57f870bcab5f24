"""LangChain adapters for SIE: chat model, embeddings, sparse encoder, reranker and extractor."""

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError("sie_integrations.langchain needs LangChain: pip install 'sie-integrations[langchain]'") from exc

from .chat_models import SIEChatModel
from .embeddings import SIEEmbeddings, SIESparseEncoder
from .extractors import SIEExtractionTransformer, SIEExtractor
from .rerankers import SIEReranker

__all__ = [
    "SIEChatModel",
    "SIEEmbeddings",
    "SIEExtractionTransformer",
    "SIEExtractor",
    "SIEReranker",
    "SIESparseEncoder",
]
