"""LangChain adapters for SIE: chat model, text completion, embeddings, sparse encoder, rerankers, extractor and
document loader."""

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the install matrix
    raise ImportError("sie_integrations.langchain needs LangChain: pip install 'sie-integrations[langchain]'") from exc

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._qdrant import SIEQdrantSparseEmbeddings as SIEQdrantSparseEmbeddings
    from .chat_models import SIEChatModel
    from .documents import SIEDocumentLoader
    from .embeddings import SIEEmbeddings
    from .extractors import SIEExtractionTransformer, SIEExtractor
    from .llms import SIELLM
    from .multivector import SIEMultiVectorEmbeddings
    from .rerankers import SIEMaxSimReranker, SIEReranker
    from .sparse import SIESparseEncoder

_MODULES = {
    "SIEChatModel": ".chat_models",
    "SIEDocumentLoader": ".documents",
    "SIEEmbeddings": ".embeddings",
    "SIEMultiVectorEmbeddings": ".multivector",
    "SIESparseEncoder": ".sparse",
    "SIEQdrantSparseEmbeddings": "._qdrant",  # needs the qdrant extra: not in __all__, so * imports need none
    "SIEExtractionTransformer": ".extractors",
    "SIEExtractor": ".extractors",
    "SIELLM": ".llms",
    "SIEMaxSimReranker": ".rerankers",
    "SIEReranker": ".rerankers",
}
__all__ = [
    "SIELLM",
    "SIEChatModel",
    "SIEDocumentLoader",
    "SIEEmbeddings",
    "SIEExtractionTransformer",
    "SIEExtractor",
    "SIEMaxSimReranker",
    "SIEMultiVectorEmbeddings",
    "SIEReranker",
    "SIESparseEncoder",
]


def __getattr__(name: str) -> Any:
    """Import each adapter on first use: ``SIEEmbeddings`` alone does not load the chat-model machinery."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
