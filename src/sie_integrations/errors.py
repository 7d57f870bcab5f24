"""Typed errors raised by the SIE client, named after the official SIE SDKs."""

from __future__ import annotations

from typing import Any

__all__ = [
    "InputTooLongError",
    "LoraLoadingError",
    "ModelLoadFailedError",
    "ModelLoadingError",
    "ModelNotFoundError",
    "PoolError",
    "ProvisioningError",
    "RateLimitError",
    "RequestError",
    "SIEConnectionError",
    "SIEError",
    "SIEStreamError",
    "SIETimeoutError",
    "ServerError",
]


class SIEError(Exception):
    """Base class of every error this library raises."""

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
        self.status_code = status_code
        self.code = code
        self.param = param
        self.retry_after = retry_after
        self.request_id = request_id
        self.details: dict[str, Any] = details or {}

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
    """The server could not be reached, or the connection broke."""


class SIETimeoutError(SIEConnectionError):
    """A connect, read or write timeout expired."""


class RequestError(SIEError):
    """The server refused the request (4xx), or sent a response that cannot be parsed."""


class ModelNotFoundError(RequestError):
    """The model is not known to the server."""


class InputTooLongError(RequestError):
    """An input exceeds the model's capacity."""


class RateLimitError(RequestError):
    """HTTP 429: too many requests, still refused after the allowed retries."""


class ServerError(SIEError):
    """The server failed (5xx)."""


class ModelLoadFailedError(ServerError):
    """The model failed to load on the server; retrying does not help until it is fixed."""

    @property
    def error_class(self) -> str | None:
        value = self.details.get("error_class")
        return value if isinstance(value, str) else None

    @property
    def permanent(self) -> bool:
        return self.details.get("permanent", True) is not False


class SIEStreamError(ServerError):
    """An error event arrived inside a stream, or the stream broke off."""

    @property
    def error_type(self) -> str | None:
        value = self.details.get("type")
        return value if isinstance(value, str) else None


class ProvisioningError(SIEError):
    """The server is still provisioning capacity and the wait budget ran out (or waiting is off)."""


class ModelLoadingError(SIEError):
    """The model is still loading and the wait budget ran out (or waiting is off)."""


class LoraLoadingError(SIEError):
    """A LoRA adapter is still loading after the allowed retries."""


class PoolError(SIEError):
    """A pool could not be created, read or deleted."""

    pool_name: str | None = None
