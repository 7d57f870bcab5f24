"""One HTTP exchange described as data, and the checks and decoding every endpoint shares."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from ..errors import RequestError
from .codec import JSON, MSGPACK, WireFormatError, decode_body, dumps_json, pack_msgpack
from .error_mapping import ErrorInfo

T = TypeVar("T")
WireFormat = Literal["msgpack", "json"]
_SEGMENT = re.compile(r"[^\x00-\x1f\x7f]+")  # used with fullmatch: "$" would let a trailing "\n" through


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange: what to send, whether re-sending is safe, and how to read the answer."""

    method: str
    path: str
    parse: Callable[[bytes, str | None], T]
    body: bytes | None = None
    content_type: str | None = None
    accept: str = JSON
    idempotent: bool = True
    on_error: Callable[[ErrorInfo], T] | None = None
    timeout: float | None = None  # seconds per attempt, instead of the client's

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Accept": self.accept}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        return headers


def model_path(model: str) -> str:
    """A model id for the native routes: slashes kept, each segment percent-encoded."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string")
    segments = model.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise ValueError(f"invalid model id {model!r}")
    return "/".join(quote(s, safe=":@+-_.~") for s in segments)


def generate_path(model: str) -> str:
    """A model id for ``/v1/generate``: every ``/`` becomes ``__``."""
    model_path(model)  # same validation
    return quote(model.replace("/", "__"), safe=":@+-_.~")


def check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} contains a non-finite number ({value!r})")
    if isinstance(value, Mapping):
        for key, inner in value.items():
            check_finite(inner, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            check_finite(inner, f"{where}[{i}]")


def check_opt_str(value: Any, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")


def wire_body(obj: Any, wire: WireFormat) -> tuple[bytes, str]:
    return (pack_msgpack(obj), MSGPACK) if wire == "msgpack" else (dumps_json(obj), JSON)


def decode_object(content: bytes, content_type: str | None, what: str, *, arrays: bool = True) -> Mapping[str, Any]:
    try:
        body = decode_body(content, content_type, arrays=arrays)
    except WireFormatError as exc:
        raise RequestError(f"malformed {what} response: {exc}", code="MALFORMED_RESPONSE") from exc
    if not isinstance(body, Mapping):
        raise RequestError(f"malformed {what} response: not an object", code="MALFORMED_RESPONSE")
    error = body.get("error")
    if isinstance(error, (Mapping, str)) and error:  # an error envelope sent with HTTP 200: never a result
        fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": error}
        code, message = fields.get("code"), fields.get("message")
        raise RequestError(
            f"malformed {what} response: HTTP 200 carrying an error (code {code!r}): {message}",
            code="MALFORMED_RESPONSE",
            details={"error": dict(fields)},
        )
    return body


def malformed(what: str, detail: str) -> RequestError:
    return RequestError(f"malformed {what} response: {detail}", code="MALFORMED_RESPONSE")


def count_check(what: str, got: Any, expected: int) -> list[Any]:
    if not isinstance(got, list):
        raise malformed(what, "no item list")
    if len(got) != expected:
        raise RequestError(
            f"the server returned {len(got)} {what} results for {expected} inputs",
            code=f"{what.upper()}_RESULT_COUNT_MISMATCH",
        )
    return got
