"""httpx transport errors told to the protocol core as ``Broken``."""

from __future__ import annotations

import httpx

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
