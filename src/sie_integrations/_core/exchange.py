"""One exchange with the server as an I/O-free flow: send, wait, read, retry or give up.

``exchange()`` is a generator the sync and async clients both drive (the way httpx drives its ``auth_flow``):
it yields a step, the client does that I/O and sends back what happened.

- ``SEND``: send the request; send back a ``Reply`` (with the body, unless the call is a stream) or a ``Broken``.
- ``READ``: read and close the body of the reply just sent back; send back the ``bytes`` or a ``Broken``.
- ``Wait(seconds, refused)``: sleep (after a refusal, without the batch's place: ``load.seat``); send back ``None``.

It returns the parsed result, or ``None`` once a stream has opened (the client then reads the stream itself),
and raises the typed error when the call fails.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from ..errors import SIEConnectionError, SIETimeoutError
from . import load
from .call import Call
from .error_mapping import error_info
from .reports import with_headers
from .retry import Attempts, Broken, RetryPolicy, connection_error, is_backpressure

T = TypeVar("T")
logger = logging.getLogger("sie_integrations")


@dataclass(frozen=True)
class Send:
    """Send the call's request (again)."""


@dataclass(frozen=True)
class Read:
    """Read the body of the reply just received, then close it."""


@dataclass(frozen=True)
class Wait:
    """Sleep this many seconds."""

    seconds: float
    refused: bool = False
    """After a refusal before any work: the batch's place (``load.seat``) may go to another meanwhile."""


SEND, READ = Send(), Read()
Step = Send | Read | Wait


@dataclass(frozen=True)
class Reply:
    """A response: its status and headers, and its body when it was read with them."""

    status: int
    headers: Mapping[str, str]
    content: bytes | None = None


@dataclass(frozen=True)
class Retry:
    """Wait this many seconds, then send the call again; ``refused``: the server refused it before any work."""

    delay: float
    refused: bool = False


@dataclass(frozen=True)
class Done(Generic[T]):
    """The flow ended: ``value`` is the parsed result, or None once a stream has opened."""

    value: T | None


def advance(flow: Generator[Step, Reply | Broken | bytes | None, T | None], outcome: Any) -> Step | Done[T]:
    """The flow's next step after ``outcome``, or ``Done`` at its end.

    Only the flow's own end is caught, not a ``StopIteration`` raised by the I/O that produced ``outcome``.
    """
    try:
        return flow.send(outcome)
    except StopIteration as stop:
        return Done(stop.value)


def opened(status: int) -> bool:
    """Whether a response with this status carries the answer (for a stream: the events)."""
    return 200 <= status < 300 and status != 202


def settle(call: Call[T], attempts: Attempts, status: int, headers: Mapping[str, str], content: bytes) -> T | Retry:
    """The parsed result of a response, a ``Retry``, or a raised typed error."""
    if opened(status):
        load.answered(headers)
        result = call.parse(content, headers.get("content-type"))
        if call.report is not None:
            with_headers(call.report, headers)
        return result
    info = error_info(status, headers, content)
    delay = attempts.retry_delay(info)
    if delay is not None:
        return Retry(delay, refused=is_backpressure(info))
    if call.on_error is not None:
        return call.on_error(info)
    raise attempts.final_error(info)


def stream_broken(failure: Broken, url: str, chunk_timeout: float | None) -> SIEConnectionError:
    """The error of a stream whose connection broke or went quiet once sent; a stream is never re-sent."""
    if failure.kind == "read_timeout" and chunk_timeout is not None:
        return SIETimeoutError(
            f"the stream from {url} sent nothing for {chunk_timeout:g}s (stream_chunk_timeout); "
            "closed it, not retried, since the request may have reached the server"
        )
    return connection_error(failure, url, not_retried=True)


def exchange(
    call: Call[T],
    policy: RetryPolicy,
    url: str,
    *,
    stream: bool = False,
    chunk_timeout: float | None = None,
    connect_hint: str | None = None,
) -> Generator[Step, Reply | Broken | bytes | None, T | None]:
    """The steps of one call, retries and capacity waits included; see the module docstring. ``connect_hint``
    ends the message of a connection that could not be made."""
    if call.local:
        return call.parse(b"", None)
    attempts = Attempts(policy, idempotent=call.idempotent)
    while True:
        outcome = yield SEND
        if isinstance(outcome, Broken):
            if stream and outcome.kind == "read_timeout":  # no answer within the (stream) read timeout
                raise stream_broken(outcome, url, chunk_timeout) from outcome.cause
            delay, after, refused = attempts.transport_delay(outcome, url, connect_hint), outcome.name, False
        else:
            outcome = cast(Reply, outcome)
            if stream and opened(outcome.status):
                return None
            content = outcome.content
            if content is None:
                body = yield READ
                if isinstance(body, Broken):
                    raise connection_error(body, url) from body.cause
                content = cast(bytes, body)
            settled = settle(call, attempts, outcome.status, outcome.headers, content)
            if not isinstance(settled, Retry):
                return settled
            if settled.refused:
                load.refused(settled.delay)
            delay, after, refused = settled.delay, f"HTTP {outcome.status}", settled.refused
        logger.info("retrying %s %s in %.2fs after %s", call.method, call.path, delay, after)
        yield Wait(delay, refused)
