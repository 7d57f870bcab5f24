"""SIE errors that are also LangChain's standard model errors, where the installed core has them.

Each twin is a class of this module (so it pickles) that derives from its SIE class and from one core
model error. The module-level twins carry the usual core error of their SIE class; the namespaces
``ContextOverflow``, ``Authentication`` and ``PermissionDenied`` hold the twins that a code or status
turns into another core error, for the classes such a code or status arrives in. Every twin has the name
of its SIE class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from langchain_core import exceptions as lc

from .. import errors as sie


class _Absent(Exception):
    """Stands in for a core model error that the installed langchain-core lacks (before 1.6)."""


if TYPE_CHECKING:
    from langchain_core import exceptions as core
else:

    class _Core:
        """langchain-core's exceptions, with `_Absent` for each model error an older core lacks."""

        def __getattr__(self, name: str) -> type[Exception]:
            return getattr(lc, name, _Absent)

    core = _Core()

_E = TypeVar("_E", bound=sie.SIEError)
_TWINS: dict[tuple[type[sie.SIEError], type[Exception]], type[sie.SIEError]] = {}
_CONTEXT_CODES = frozenset({"context_exceeded", "context_length_exceeded", "input_too_long"})


def _twin(cls: type[_E]) -> type[_E]:
    """Register a twin under its SIE class and its core error (unless the installed core lacks it)."""
    sie_class, core_class = cls.__bases__
    if core_class is not _Absent:
        _TWINS[sie_class, core_class] = cls
    return cls


@_twin
class SIEError(sie.SIEError, core.ModelAPIError):
    """An `SIEError` that is also a `ModelAPIError`."""


@_twin
class SIEConnectionError(sie.SIEConnectionError, core.ModelConnectionError):
    """An `SIEConnectionError` that is also a `ModelConnectionError`."""


@_twin
class SIETimeoutError(sie.SIETimeoutError, core.ModelTimeoutError):
    """An `SIETimeoutError` that is also a `ModelTimeoutError`."""


@_twin
class RequestError(sie.RequestError, core.ModelInvalidRequestError):
    """A `RequestError` that is also a `ModelInvalidRequestError`."""


@_twin
class ModelNotFoundError(sie.ModelNotFoundError, core.ModelNotFoundError):
    """A `ModelNotFoundError` that is also LangChain's `ModelNotFoundError`."""


@_twin
class InputTooLongError(sie.InputTooLongError, core.ContextOverflowError):
    """An `InputTooLongError` that is also a `ContextOverflowError`."""


@_twin
class RateLimitError(sie.RateLimitError, core.ModelRateLimitError):
    """A `RateLimitError` that is also a `ModelRateLimitError`."""


@_twin
class ServerError(sie.ServerError, core.ModelAPIError):
    """A `ServerError` that is also a `ModelAPIError`."""


@_twin
class ModelLoadFailedError(sie.ModelLoadFailedError, core.ModelAPIError):
    """A `ModelLoadFailedError` that is also a `ModelAPIError`."""


@_twin
class SIEStreamError(sie.SIEStreamError, core.ModelAPIError):
    """An `SIEStreamError` that is also a `ModelAPIError`."""


@_twin
class ProvisioningError(sie.ProvisioningError, core.ModelAPIError):
    """A `ProvisioningError` that is also a `ModelAPIError`."""


@_twin
class ModelLoadingError(sie.ModelLoadingError, core.ModelAPIError):
    """A `ModelLoadingError` that is also a `ModelAPIError`."""


@_twin
class LoraLoadingError(sie.LoraLoadingError, core.ModelAPIError):
    """A `LoraLoadingError` that is also a `ModelAPIError`."""


@_twin
class PoolError(sie.PoolError, core.ModelAPIError):
    """A `PoolError` that is also a `ModelAPIError`."""


@_twin
class InsufficientCreditsError(sie.InsufficientCreditsError, core.ModelInvalidRequestError):
    """An `InsufficientCreditsError` that is also a `ModelInvalidRequestError`."""


@_twin
class SpendLimitError(sie.SpendLimitError, core.ModelInvalidRequestError):
    """A `SpendLimitError` that is also a `ModelInvalidRequestError`."""


@_twin
class AccountInactiveError(sie.AccountInactiveError, core.ModelPermissionDeniedError):
    """An `AccountInactiveError` that is also a `ModelPermissionDeniedError`."""


@_twin
class RelayUnavailableError(sie.RelayUnavailableError, core.ModelPermissionDeniedError):
    """A `RelayUnavailableError` that is also a `ModelPermissionDeniedError`."""


@_twin
class AccountStateUnavailableError(sie.AccountStateUnavailableError, core.ModelAPIError):
    """An `AccountStateUnavailableError` that is also a `ModelAPIError`."""


@_twin
class ResourceExhaustedError(sie.ResourceExhaustedError, core.ModelAPIError):
    """A `ResourceExhaustedError` that is also a `ModelAPIError`."""


class ContextOverflow:
    """Twins that are also a `ContextOverflowError`: the error's code says the input is too long.

    Only the classes a server's context code arrives in: a 400 or 413 refusal, a 5xx, an error event in a stream.
    """

    @_twin
    class RequestError(sie.RequestError, core.ContextOverflowError):
        """A `RequestError` that is also a `ContextOverflowError`."""

    @_twin
    class ServerError(sie.ServerError, core.ContextOverflowError):
        """A `ServerError` that is also a `ContextOverflowError`."""

    @_twin
    class SIEStreamError(sie.SIEStreamError, core.ContextOverflowError):
        """An `SIEStreamError` that is also a `ContextOverflowError`."""


class Authentication:
    """The twin for HTTP 401."""

    @_twin
    class RequestError(sie.RequestError, core.ModelAuthenticationError):
        """A `RequestError` that is also a `ModelAuthenticationError`."""


class PermissionDenied:
    """The twin for HTTP 403."""

    @_twin
    class RequestError(sie.RequestError, core.ModelPermissionDeniedError):
        """A `RequestError` that is also a `ModelPermissionDeniedError`."""


def _core_classes(error: sie.SIEError) -> list[type[Exception]]:
    """The core model errors ``error`` may become, the one its code or status says first."""
    code = (error.code or "").lower()
    classes: list[type[Exception]] = [core.ContextOverflowError] if code in _CONTEXT_CODES else []
    if isinstance(error, sie.InputTooLongError):
        return [core.ContextOverflowError]
    if isinstance(error, sie.RateLimitError):
        return [*classes, core.ModelRateLimitError]
    if isinstance(error, sie.ModelNotFoundError):
        return [*classes, core.ModelNotFoundError]
    if isinstance(error, sie.SIETimeoutError):
        return [*classes, core.ModelTimeoutError]
    if isinstance(error, sie.SIEConnectionError):
        return [*classes, core.ModelConnectionError]
    if isinstance(error, sie.AccountInactiveError | sie.RelayUnavailableError):
        return [*classes, core.ModelPermissionDeniedError]
    if isinstance(error, sie.RequestError):
        if error.status_code == 401:
            return [*classes, core.ModelAuthenticationError]
        if error.status_code == 403:
            return [*classes, core.ModelPermissionDeniedError]
        return [*classes, core.ModelInvalidRequestError]
    return [*classes, core.ModelAPIError]


def as_langchain_error(error: sie.SIEError) -> sie.SIEError:
    """The same error, as an instance of both its SIE class and the matching core model error."""
    cls = next((c for core_class in _core_classes(error) if (c := _TWINS.get((type(error), core_class)))), None)
    if cls is None:  # already a twin, a class of another library, or a core model error langchain-core lacks
        return error
    twin = cls.__new__(cls)
    twin.__dict__.update(error.__dict__)
    twin.args = error.args
    return twin


@contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise SIE errors as their LangChain-compatible twins."""
    try:
        yield
    except sie.SIEError as error:
        twin = as_langchain_error(error)
        if twin is error:
            raise
        raise twin from error
