"""httpx responses and transport errors told to the protocol core, as a ``Reply`` or a ``Broken``."""

from __future__ import annotations

import httpx

from .._core.exchange import Reply
from .._core.retry import Broken, Kind, Sent

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAYBE_SENT = (httpx.WriteTimeout, httpx.WriteError, httpx.ReadError, httpx.RemoteProtocolError)


def broken(exc: httpx.TransportError) -> Broken:
    """What failed, and whether the request may have reached the server."""
    sent: Sent = "no" if isinstance(exc, _NOT_SENT) else "maybe" if isinstance(exc, _MAYBE_SENT) else "unknown"
    kind: Kind
    if isinstance(exc, httpx.ReadTimeout):
        kind = "read_timeout"
    elif isinstance(exc, httpx.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, httpx.ConnectError):
        kind = "connect"
    else:
        kind = "other"
    return Broken(type(exc).__name__, str(exc), sent, kind, exc)


def reply(response: httpx.Response, stream: bool) -> Reply:
    """The status and headers of a response, and its body unless it is a stream (read later, then ``release``d
    once closed)."""
    if stream:
        return Reply(response.status_code, response.headers, None)
    content = response.content
    release(response)
    return Reply(response.status_code, response.headers, content)


def release(response: httpx.Response) -> None:
    """Let a read response go with its request as soon as nothing holds them: httpx keeps a response and its
    stream in a reference cycle, which would keep the request's body (a document, images) until the next garbage
    collection, tens of requests later."""
    response.stream = httpx.ByteStream(b"")
