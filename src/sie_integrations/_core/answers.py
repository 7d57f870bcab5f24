"""Reading answers: the checks every response parser shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RequestError
from .codec import WireFormatError, decode_body


def decode_object(content: bytes, content_type: str | None, what: str, *, arrays: bool = True) -> Mapping[str, Any]:
    """The JSON or msgpack object of an answer; ``RequestError`` when it is malformed or carries an error."""
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
    """The error of a malformed answer."""
    return RequestError(f"malformed {what} response: {detail}", code="MALFORMED_RESPONSE")


def count_check(what: str, got: Any, expected: int) -> list[Any]:
    """``got`` when it is a list of one result per input."""
    if not isinstance(got, list):
        raise malformed(what, "no item list")
    if len(got) != expected:
        raise RequestError(
            f"the server returned {len(got)} {what} results for {expected} inputs",
            code=f"{what.upper()}_RESULT_COUNT_MISMATCH",
        )
    return got
