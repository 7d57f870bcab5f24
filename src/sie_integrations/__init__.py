"""SIE (Superlinked Inference Engine) for LangChain and LlamaIndex.

The top-level package is framework-free: ``SIEClient`` / ``AsyncSIEClient`` talk to an SIE server.
The adapters live in ``sie_integrations.langchain`` and ``sie_integrations.llama_index``.
"""

from ._adapters.documents import read_document
from ._http.async_client import AsyncSIEClient
from ._http.client import SIEClient
from ._http.streams import AsyncStream, Stream
from ._version import __version__
from .chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from .errors import (
    InputTooLongError,
    LoraLoadingError,
    ModelLoadFailedError,
    ModelLoadingError,
    ModelNotFoundError,
    PoolError,
    ProvisioningError,
    RateLimitError,
    RequestError,
    ServerError,
    SIEConnectionError,
    SIEError,
    SIEStreamError,
    SIETimeoutError,
)
from .types import (
    Document,
    EncodeResult,
    ExtractResult,
    GenerateChunk,
    GenerateResult,
    Health,
    Image,
    Item,
    ModelInfo,
    ParsedDocument,
    PoolInfo,
    ScoreEntry,
    SparseVector,
)

__all__ = [
    "AsyncSIEClient",
    "AsyncStream",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "Document",
    "EncodeResult",
    "ExtractResult",
    "GenerateChunk",
    "GenerateResult",
    "Health",
    "Image",
    "InputTooLongError",
    "Item",
    "LoraLoadingError",
    "ModelInfo",
    "ModelLoadFailedError",
    "ModelLoadingError",
    "ModelNotFoundError",
    "ParsedDocument",
    "PoolError",
    "PoolInfo",
    "ProvisioningError",
    "RateLimitError",
    "RequestError",
    "SIEClient",
    "SIEConnectionError",
    "SIEError",
    "SIEStreamError",
    "SIETimeoutError",
    "ScoreEntry",
    "ServerError",
    "SparseVector",
    "Stream",
    "__version__",
    "read_document",
]
