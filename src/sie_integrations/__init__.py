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
    AccountInactiveError,
    AccountStateUnavailableError,
    InputTooLongError,
    InsufficientCreditsError,
    LoraLoadingError,
    ModelLoadFailedError,
    ModelLoadingError,
    ModelNotFoundError,
    PoolError,
    ProvisioningError,
    RateLimitError,
    RelayUnavailableError,
    RequestError,
    ResourceExhaustedError,
    ServerError,
    SIEConnectionError,
    SIEError,
    SIEStreamError,
    SIETimeoutError,
    SpendLimitError,
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
    "AccountInactiveError",
    "AccountStateUnavailableError",
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
    "InsufficientCreditsError",
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
    "RelayUnavailableError",
    "RequestError",
    "ResourceExhaustedError",
    "SIEClient",
    "SIEConnectionError",
    "SIEError",
    "SIEStreamError",
    "SIETimeoutError",
    "ScoreEntry",
    "ServerError",
    "SparseVector",
    "SpendLimitError",
    "Stream",
    "__version__",
    "read_document",
]
