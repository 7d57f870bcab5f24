"""LlamaIndex adapters for SIE: embeddings, sparse embeddings, reranker, function-calling LLM, extractor."""

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError(
        "sie_integrations.llama_index needs LlamaIndex: pip install 'sie-integrations[llamaindex]'"
    ) from exc

from .embeddings import SIEEmbeddings, SIESparseEmbeddings
from .extractors import SIEExtractor
from .llms import SIEChatModel
from .postprocessor import SIEReranker

__all__ = ["SIEChatModel", "SIEEmbeddings", "SIEExtractor", "SIEReranker", "SIESparseEmbeddings"]
