"""Turn any SIE error response (every envelope of the protocol) into a typed error."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from ..errors import (
    AccountInactiveError,
    AccountStateUnavailableError,
    InputTooLongError,
    InsufficientCreditsError,
    LoraLoadingError,
    ModelLoadFailedError,
    ModelLoadingError,
    ModelNotFoundError,
    ProvisioningError,
    RateLimitError,
    RelayUnavailableError,
    RequestError,
    ResourceExhaustedError,
    ServerError,
    SIEError,
    SIEStreamError,
    SpendLimitError,
)
from .codec import WireFormatError, decode_body

_EXTRA_KEYS = ("error_class", "permanent", "attempts", "key_region", "deployment_region", "type")
_MAX_MESSAGE = 2000


@dataclass(frozen=True)
class ErrorInfo:
    """The parts of an error response that decide what happens next."""

    status: int
    code: str | None
    message: str
    param: str | None = None
    retry_after: float | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (seconds or an HTTP date); None when unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(seconds, 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _text(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    return text[:_MAX_MESSAGE] + ("..." if len(text) > _MAX_MESSAGE else "")


def error_info(status: int, headers: Mapping[str, str], content: bytes) -> ErrorInfo:
    """Parse an error response of any shape (native, OpenAI, FastAPI, plain text, msgpack)."""
    code: str | None = None
    message: str | None = None
    param: str | None = None
    details: dict[str, Any] = {}
    try:
        body = decode_body(content, headers.get("content-type")) if content else None
    except WireFormatError:
        body = None
        message = _text(content) or None
    fields: Mapping[str, Any] | None = None
    if isinstance(body, Mapping):
        error, detail = body.get("error"), body.get("detail")
        if isinstance(error, Mapping):
            fields = error
        elif isinstance(error, str):
            message = error if not isinstance(detail, str) else f"{error}: {detail}"
        elif isinstance(detail, Mapping):
            fields = detail
        elif isinstance(detail, list):
            message = "; ".join(_validation_message(e) for e in detail) or None
        elif detail is not None:
            message = str(detail)
    elif isinstance(body, str):
        message = body
    if fields is not None:
        raw_code = fields.get("code")
        code = str(raw_code) if raw_code is not None else None
        raw_message = fields.get("message")
        message = str(raw_message) if raw_message is not None else None
        raw_param = fields.get("param")
        param = raw_param if isinstance(raw_param, str) else None
        details = {k: fields[k] for k in _EXTRA_KEYS if k in fields}
    header_code = headers.get("x-sie-error-code", "").strip()
    if header_code:
        code = header_code
    elif code == "provisioning":
        code = "PROVISIONING"
    return ErrorInfo(
        status=status,
        code=code,
        message=message or f"HTTP {status}",
        param=param,
        retry_after=parse_retry_after(headers.get("retry-after")),
        request_id=headers.get("x-sie-request-id"),
        details=details,
    )


def _validation_message(entry: Any) -> str:
    if isinstance(entry, Mapping):
        loc = ".".join(str(p) for p in entry.get("loc", ()))
        return f"{loc}: {entry.get('msg', '')}".strip(": ")
    return str(entry)


def _code_is(code: str | None, *names: str) -> bool:
    return code is not None and code.upper() in names


def error_class(info: ErrorInfo) -> type[SIEError]:
    """The typed error for a parsed error response."""
    code, status = info.code, info.status
    if status == 202 or _code_is(code, "PROVISIONING"):
        return ProvisioningError
    if _code_is(code, "MODEL_LOADING"):
        return ModelLoadingError
    if _code_is(code, "LORA_LOADING"):
        return LoraLoadingError
    if _code_is(code, "MODEL_LOAD_FAILED"):
        return ModelLoadFailedError
    if status == 429 or _code_is(code, "RATE_LIMIT", "RATE_LIMITED"):
        return RateLimitError
    if _code_is(code, "MODEL_NOT_FOUND"):
        return ModelNotFoundError
    if _code_is(code, "INPUT_TOO_LONG") and status == 400:
        return InputTooLongError
    for wanted, names, cls in _REFUSALS:
        if status == wanted and _code_is(code, *names):
            return cls
    if status >= 500:
        return ServerError
    return RequestError


_REFUSALS: tuple[tuple[int, tuple[str, ...], type[SIEError]], ...] = (
    (402, ("INSUFFICIENT_CREDITS",), InsufficientCreditsError),
    (402, ("KEY_SPEND_LIMIT_EXCEEDED",), SpendLimitError),
    (403, ("ACCOUNT_SUSPENDED", "ACCOUNT_PENDING_REVIEW"), AccountInactiveError),
    (
        403,
        ("THIRD_PARTY_SERVING_DISABLED", "THIRD_PARTY_RUNTIME_UNLISTED", "THIRD_PARTY_REGION_UNAVAILABLE"),
        RelayUnavailableError,
    ),
    (503, ("ACCOUNT_STATE_UNAVAILABLE",), AccountStateUnavailableError),
    (503, ("RESOURCE_EXHAUSTED",), ResourceExhaustedError),
)
"""The billing, account and capacity refusals a gateway types by status and code (as the SDK does)."""


def to_error(info: ErrorInfo) -> SIEError:
    cls = error_class(info)
    message = info.message
    if 300 <= info.status < 400:
        message = f"unexpected redirect (HTTP {info.status}); redirects are not followed"
    return cls(
        message,
        status_code=info.status,
        code=info.code,
        param=info.param,
        retry_after=info.retry_after,
        request_id=info.request_id,
        details=info.details,
    )


def stream_error(payload: Mapping[str, Any], request_id: str | None = None) -> SIEStreamError:
    """The error of an SSE event whose ``error`` member is set."""
    error = payload.get("error")
    fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": str(error)}
    retry = fields.get("retry_after_s")
    details = {k: fields[k] for k in _EXTRA_KEYS if k in fields}
    code = fields.get("code")
    param = fields.get("param")
    return SIEStreamError(
        str(fields.get("message") or "the server reported an error in the stream"),
        code=str(code) if code is not None else None,
        param=param if isinstance(param, str) else None,
        retry_after=float(retry) if isinstance(retry, (int, float)) else None,
        request_id=request_id or _str_or_none(payload.get("request_id")),
        details=details,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
