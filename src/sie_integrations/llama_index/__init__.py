"""LlamaIndex adapters for SIE: embeddings, sparse embeddings, reranker, function-calling LLM, extractor, reader."""

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError(
        "sie_integrations.llama_index needs LlamaIndex: pip install 'sie-integrations[llamaindex]'"
    ) from exc

from .chat_models import SIEChatModel
from .documents import SIEDocumentReader
from .embeddings import SIEEmbeddings, SIEMultiModalEmbedding
from .extractors import SIEExtractor
from .llms import SIELLM
from .multivector import SIEMultiVectorEmbeddings
from .rerankers import SIEMaxSimReranker, SIEReranker
from .sparse import SIESparseEmbeddings

__all__ = [
    "SIELLM",
    "SIEChatModel",
    "SIEDocumentReader",
    "SIEEmbeddings",
    "SIEExtractor",
    "SIEMaxSimReranker",
    "SIEMultiModalEmbedding",
    "SIEMultiVectorEmbeddings",
    "SIEReranker",
    "SIESparseEmbeddings",
]
