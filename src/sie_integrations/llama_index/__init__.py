"""LlamaIndex adapters for SIE: embeddings, sparse embeddings, reranker, function-calling LLM, extractor."""

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError(
        "sie_integrations.llama_index needs LlamaIndex: pip install 'sie-integrations[llamaindex]'"
    ) from exc

from .embeddings import SIEEmbeddings, SIEMultiModalEmbedding, SIEMultiVectorEmbeddings, SIESparseEmbeddings
from .extractors import SIEExtractor
from .generation import SIELLM
from .llms import SIEChatModel
from .postprocessor import SIEMaxSimReranker, SIEReranker

__all__ = [
    "SIELLM",
    "SIEChatModel",
    "SIEEmbeddings",
    "SIEExtractor",
    "SIEMaxSimReranker",
    "SIEMultiModalEmbedding",
    "SIEMultiVectorEmbeddings",
    "SIEReranker",
    "SIESparseEmbeddings",
]
