"""SIE errors that are also LangChain's standard model errors, where the installed core has them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core import exceptions as lc_exceptions

from ..errors import (
    InputTooLongError,
    ModelNotFoundError,
    RateLimitError,
    RequestError,
    SIEConnectionError,
    SIEError,
    SIETimeoutError,
)

_CONTEXT_CODES = frozenset({"context_exceeded", "context_length_exceeded", "input_too_long"})


def _core_class(error: SIEError) -> str:
    code = (error.code or "").lower()
    if isinstance(error, InputTooLongError) or code in _CONTEXT_CODES:
        return "ContextOverflowError"
    if isinstance(error, RateLimitError):
        return "ModelRateLimitError"
    if isinstance(error, ModelNotFoundError):
        return "ModelNotFoundError"
    if isinstance(error, SIETimeoutError):
        return "ModelTimeoutError"
    if isinstance(error, SIEConnectionError):
        return "ModelConnectionError"
    if isinstance(error, RequestError):
        if error.status_code == 401:
            return "ModelAuthenticationError"
        if error.status_code == 403:
            return "ModelPermissionDeniedError"
        return "ModelInvalidRequestError"
    return "ModelAPIError"


_DUALS: dict[tuple[type[SIEError], str], type[SIEError]] = {}


def _dual(sie_class: type[SIEError], core_name: str) -> type[SIEError]:
    key = (sie_class, core_name)
    if key not in _DUALS:
        core = getattr(lc_exceptions, core_name, None)
        _DUALS[key] = (  # langchain-core before 1.6 has no model errors: keep the SIE class
            sie_class
            if core is None
            else type(sie_class.__name__, (sie_class, core), {"__module__": sie_class.__module__})
        )
    return _DUALS[key]


def as_langchain_error(error: SIEError) -> SIEError:
    """The same error, as an instance of both its SIE class and the matching core model error."""
    cls = _dual(type(error), _core_class(error))
    if cls is type(error):
        return error
    dual = cls.__new__(cls)
    dual.__dict__.update(error.__dict__)
    dual.args = error.args
    return dual


@contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise SIE errors as their LangChain-compatible twins."""
    try:
        yield
    except SIEError as error:
        raise as_langchain_error(error) from error
