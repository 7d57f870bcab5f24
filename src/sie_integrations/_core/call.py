"""One HTTP exchange described as data, and the checks every request builder shares."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from ..types import ServerReport
from .codec import JSON, MSGPACK, dumps_json, pack_msgpack
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
    local: bool = False  # answered without the server: ``parse(b"", None)`` is the answer
    report: ServerReport | None = None  # filled with the answer's timing headers, once it is parsed

    @classmethod
    def answered(cls, value: T) -> Call[T]:
        """A call whose answer is known without asking the server (an empty list of items)."""
        return cls("", "", lambda content, content_type: value, local=True)

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


def native_post(
    path: str,
    body: Any,
    wire: WireFormat,
    parse: Callable[[bytes, str | None], T],
    report: ServerReport | None = None,
) -> Call[T]:
    """A POST to a native route (encode, score, extract): ``wire`` both ways; safe to re-send. ``report``: the one
    ``parse`` gives its results, which the answer's timing headers fill too."""
    content, content_type = wire_body(body, wire)
    return Call("POST", path, parse, body=content, content_type=content_type, accept=content_type, report=report)


def generation_post(path: str, body: Any, parse: Callable[[bytes, str | None], T], *, stream: bool) -> Call[T]:
    """A POST that starts a generation: JSON in, JSON or events out; never re-sent once it may have started."""
    accept = "text/event-stream" if stream else JSON
    return Call("POST", path, parse, body=dumps_json(body), content_type=JSON, accept=accept, idempotent=False)
