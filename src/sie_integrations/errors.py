"""Typed errors raised by the SIE client, named after the official SIE SDKs.

Each class says when you get it and what to do about it. Mistakes found before anything is sent (an unknown
chat field, an item that is neither text nor image, an invalid pool name) raise ``ValueError`` or ``TypeError``
instead.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountInactiveError",
    "AccountStateUnavailableError",
    "InputTooLongError",
    "InsufficientCreditsError",
    "LoraLoadingError",
    "ModelLoadFailedError",
    "ModelLoadingError",
    "ModelNotFoundError",
    "PoolError",
    "ProvisioningError",
    "RateLimitError",
    "RelayUnavailableError",
    "RequestError",
    "ResourceExhaustedError",
    "SIEConnectionError",
    "SIEError",
    "SIEStreamError",
    "SIETimeoutError",
    "ServerError",
    "SpendLimitError",
]


class SIEError(Exception):
    """Base class of every error this library raises for a server or connection problem.

    Catch it to handle them all. ``str(error)`` is the message with the HTTP status, ``code``, ``param`` and
    ``request_id`` appended; quote the request id when reporting a problem with a gateway.
    """

    item_index: int | None = None
    """For a per-item failure (extract): the position of the failed item."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        """What went wrong: the server's message, or this library's."""
        self.status_code = status_code
        """The HTTP status; None for connection errors and for errors inside a stream."""
        self.code = code
        """The server's error code as sent (``MODEL_NOT_FOUND``, ``unsupported_field``, ...), if any."""
        self.param = param
        """The request field at fault, when the server names one."""
        self.retry_after = retry_after
        """The server's ``Retry-After``, in seconds, if it sent one."""
        self.request_id = request_id
        """The gateway's ``X-SIE-Request-ID``; quote it in bug reports."""
        self.details: dict[str, Any] = details or {}
        """Further fields of the error (``error_class``, ``permanent``, ``attempts``, ...); empty when none."""

    def __str__(self) -> str:
        parts = [self.message]
        tags = [f"HTTP {self.status_code}"] if self.status_code is not None else []
        if self.code:
            tags.append(f"code={self.code}")
        if self.param:
            tags.append(f"param={self.param}")
        if self.request_id:
            tags.append(f"request_id={self.request_id}")
        if tags:
            parts.append(f"({', '.join(tags)})")
        return " ".join(parts)


class SIEConnectionError(SIEError):
    """The server could not be reached, or the connection broke.

    Raised after ``max_retries`` retries where re-sending is safe. Check ``base_url`` (or ``SIE_BASE_URL``) and
    that the server is up: ``sie-integrations doctor`` probes it. A generation (chat, generate) is never re-sent
    once the request may have reached the server, and the message says so; retry it yourself if a second
    answer is acceptable. A stream that ended without its final chunk raises this too: the answer is incomplete.
    """


class SIETimeoutError(SIEConnectionError):
    """A connect, read or write timeout expired, or a stream sent nothing for ``stream_chunk_timeout`` seconds.

    Increase ``timeout`` (seconds per attempt) for large batches or slow models, or ``stream_chunk_timeout``
    for streams that think for long before answering. Read timeouts are not retried.
    """


class RequestError(SIEError):
    """The server refused the request (4xx), or sent a response that cannot be parsed.

    Not retried: fix the request. ``code`` and ``param`` name what the server objected to (for example
    ``unsupported_field`` for ``response_format``). HTTP 401 or 403: check ``api_key`` (or ``SIE_API_KEY``).
    HTTP 413: the body is too large; send fewer or smaller items per call. Code ``MALFORMED_RESPONSE``: the
    answer was not what SIE sends; check that ``base_url`` points at an SIE server or gateway.
    """


class ModelNotFoundError(RequestError):
    """The model id is not on this server (HTTP 404, code ``MODEL_NOT_FOUND``).

    Check the spelling against the names the server serves: ``client.list_models()`` (``GET /v1/models``) or
    ``sie-integrations doctor`` list them.
    """


class InputTooLongError(RequestError):
    """An input is longer than the model accepts (HTTP 400, code ``INPUT_TOO_LONG``).

    Shorten or split the input; ``ModelInfo.max_sequence_length`` (from ``client.get_model()``) gives the
    limit in tokens.
    """


class RateLimitError(RequestError):
    """HTTP 429: too many requests, still refused after the capacity wait or the allowed retries.

    With ``wait_for_capacity`` on (the default), increase ``provision_timeout`` to wait longer; with it off,
    increase ``max_retries``. Otherwise send fewer requests at once (pin an adapter's ``max_concurrency`` low).
    ``retry_after`` says how long the server asked to wait.
    """


class InsufficientCreditsError(RequestError):
    """HTTP 402, code ``INSUFFICIENT_CREDITS``: the account has no credits left for this call. Never retried; add
    credits to the account, then call again."""


class SpendLimitError(RequestError):
    """HTTP 402, code ``KEY_SPEND_LIMIT_EXCEEDED``: this API key has reached its spend limit. Never retried; raise
    the key's limit or use another key."""


class AccountInactiveError(RequestError):
    """HTTP 403, code ``ACCOUNT_SUSPENDED`` or ``ACCOUNT_PENDING_REVIEW`` (``code`` says which): the account may
    not run work now. Never retried; the account's owner must settle it with SIE."""


class RelayUnavailableError(RequestError):
    """HTTP 403, code ``THIRD_PARTY_SERVING_DISABLED``, ``THIRD_PARTY_RUNTIME_UNLISTED`` or
    ``THIRD_PARTY_REGION_UNAVAILABLE``: the model is served by a third party this key may not reach (``code``
    says why; ``key_region`` and ``deployment_region`` where the server says). Never retried."""

    @property
    def key_region(self) -> str | None:
        """The region of the key, if the server says."""
        value = self.details.get("key_region")
        return value if isinstance(value, str) else None

    @property
    def deployment_region(self) -> str | None:
        """The region the model is deployed in, if the server says."""
        value = self.details.get("deployment_region")
        return value if isinstance(value, str) else None


class ServerError(SIEError):
    """The server failed (5xx), after any retries that were safe.

    Often transient: call again later. If it persists, check the server's logs, quoting ``request_id``.
    """


class ModelLoadFailedError(ServerError):
    """The model failed to load on the server (HTTP 502, code ``MODEL_LOAD_FAILED``).

    Retrying soon does not help. ``error_class`` says why: ``GATED`` (the server has no access to a gated
    model), ``NOT_FOUND`` (no such model to download), ``OOM`` (it does not fit; try a larger ``gpu`` profile),
    ...; ``permanent`` says whether the server will try again after a cooldown.
    """

    @property
    def error_class(self) -> str | None:
        """The server's failure class, if sent: permanent ``GATED``, ``NOT_FOUND``, ``DEPENDENCY``, ``CONFIG``;
        transient ``OOM``, ``NETWORK``, ``STORAGE``, ``ENGINE``, ``TIMEOUT``, ``PLACEMENT``, ``UNKNOWN``."""
        value = self.details.get("error_class")
        return value if isinstance(value, str) else None

    @property
    def permanent(self) -> bool:
        """Whether the server says the failure is permanent (True unless it says otherwise)."""
        return self.details.get("permanent", True) is not False


class AccountStateUnavailableError(ServerError):
    """HTTP 503, code ``ACCOUNT_STATE_UNAVAILABLE``: the gateway could not read the account's state, so it ran
    nothing. Not retried (the server calls it terminal); call again later, after ``retry_after`` if given."""


class ResourceExhaustedError(ServerError):
    """HTTP 503, code ``RESOURCE_EXHAUSTED``: the accelerator ran out of memory, still after the waits the call
    allowed. Send fewer or shorter items per request (a lower ``batch_size``), or call again later."""


class SIEStreamError(ServerError):
    """The server sent an error event after the stream opened, or a stream that cannot be read.

    Never retried, since part of the answer may already have arrived; retry the whole call if a second answer
    is acceptable. ``code`` ``malformed_stream`` or ``event_too_large``: the stream was not one SIE sends.
    """

    @property
    def error_type(self) -> str | None:
        """The ``type`` the error event gave, if any."""
        value = self.details.get("type")
        return value if isinstance(value, str) else None


class ProvisioningError(SIEError):
    """Capacity is still being provisioned (HTTP 202, or 503 ``PROVISIONING``) and the wait ended.

    The wait budget ``provision_timeout`` (default 900 s) ran out, or ``wait_for_capacity`` is off; the message
    says which. Increase ``provision_timeout``, or call again later.
    """


class ModelLoadingError(SIEError):
    """The model is still loading (HTTP 503, code ``MODEL_LOADING``) and the wait ended.

    The wait budget ``provision_timeout`` ran out, or ``wait_for_capacity`` is off: increase the one or turn
    on the other, or call again once the model is loaded.
    """


class LoraLoadingError(SIEError):
    """A LoRA adapter is still loading (HTTP 503, code ``LORA_LOADING``) and the wait ended.

    As with ``ModelLoadingError``: increase ``provision_timeout``, turn on ``wait_for_capacity``, or call
    again later.
    """


class PoolError(SIEError):
    """A pool could not be created, read or deleted.

    Pools need an SIE gateway (a cluster or SIE Cloud); a standalone ``sie-server`` has none, and the message
    says so. Otherwise ``status_code`` and the message give the gateway's reason; ``pool_name`` names the pool.
    """

    pool_name: str | None = None
    """The pool the failed call named."""
