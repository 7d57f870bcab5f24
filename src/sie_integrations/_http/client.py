"""The synchronous SIE client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import httpx

from .._core import load
from .._core.call import Call
from .._core.endpoints import Endpoints
from .._core.exchange import READ, Done, Reply, Wait, advance, stream_broken
from .._core.models import gateway_health_call, server_health_call
from .._core.retry import Broken
from .._core.streams import EventReader, Streamed, StreamState
from ..types import (
    Health,
)
from .base import BaseClient, like
from .failures import broken, release, reply
from .streams import Stream

T = TypeVar("T")
C = TypeVar("C")


P = ParamSpec("P")


def _sends(build: Callable[Concatenate[Endpoints, P], Call[T]]) -> Callable[Concatenate[SIEClient, P], T]:
    """The client method of an endpoint: sends the call ``build`` makes."""

    def method(self: SIEClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._request(build(self._endpoints, *args, **kwargs))

    return like(method, build, "SIEClient")


def _streams(build: Callable[Concatenate[Endpoints, P], Streamed[C]]) -> Callable[Concatenate[SIEClient, P], Stream[C]]:
    """The client method of a streaming endpoint: opens the stream of the call ``build`` makes."""

    def method(self: SIEClient, /, *args: P.args, **kwargs: P.kwargs) -> Stream[C]:
        streamed = build(self._endpoints, *args, **kwargs)
        return Stream(self._events(streamed.call, streamed.state))

    return like(method, build, "SIEClient", "Stream")


class SIEClient(BaseClient[httpx.Client]):
    """A synchronous client for an SIE server or gateway.

    Use one client for many calls (it keeps a pool of keep-alive connections), and close it with ``close()`` or
    a ``with`` block. Failures raise the typed errors of ``sie_integrations.errors``; mistakes found before
    anything is sent raise ``ValueError`` or ``TypeError``.
    """

    def _open(self) -> None:
        self._owns_http = self._injected is None
        self._http = self._injected or httpx.Client(**self._config.client_kwargs())

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (an injected ``http_client`` is left open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SIEClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- I/O ------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _exchange(self, call: Call[T], *, stream: bool = False) -> tuple[T | None, httpx.Response | None]:
        """Drive ``exchange()``: the result, or for a stream the opened response."""
        flow, response = self._flow(call, stream), None
        outcome: Reply | Broken | bytes | None = None
        while not isinstance(step := advance(flow, outcome), Done):
            if isinstance(step, Wait):
                seat = load.away(step.refused)
                self._sleep(step.seconds)
                if seat is not None:
                    seat.back()
                outcome = None
            elif step is READ and response is not None:
                outcome = self._read(response)
            else:
                response, outcome = self._send(call, stream)
        return step.value, response

    def _send(self, call: Call[Any], stream: bool) -> tuple[httpx.Response | None, Reply | Broken]:
        try:
            request = self._config.request(self._http, call, stream=stream)
            response = self._http.send(request, stream=stream, follow_redirects=False)  # never re-POST a generation
        except httpx.TransportError as exc:
            return None, broken(exc)
        return response, reply(response, stream)

    @staticmethod
    def _read(response: httpx.Response) -> bytes | Broken:
        try:
            return response.read()
        except httpx.TransportError as exc:
            return broken(exc)
        finally:
            response.close()
            release(response)

    def _request(self, call: Call[T]) -> T:
        return cast(T, self._exchange(call)[0])

    def _events(self, call: Call[Any], state: StreamState[C]) -> Iterator[C]:
        response = cast(httpx.Response, self._exchange(call, stream=True)[1])
        reader = EventReader(state)
        try:
            for raw in response.iter_bytes():
                yield from reader.feed(raw)
                if reader.done:
                    break
            yield from reader.finish()
        except httpx.TransportError as exc:
            raise stream_broken(broken(exc), self._config.url(call), self._config.stream_chunk_timeout) from exc
        finally:
            response.close()
            release(response)

    # --- endpoints ----------------------------------------------------------------------
    # Each client declares the same endpoints with its own _sends / _streams: the list is its API.
    # pylint: disable=duplicate-code
    encode = _sends(Endpoints.encode)
    encode_dense = _sends(Endpoints.encode_dense)
    score = _sends(Endpoints.score)
    extract = _sends(Endpoints.extract)
    parse = _sends(Endpoints.parse)
    generate = _sends(Endpoints.generate)
    stream_generate = _streams(Endpoints.stream_generate)
    chat_completions = _sends(Endpoints.chat_completions)
    stream_chat_completions = _streams(Endpoints.stream_chat_completions)
    list_models = _sends(Endpoints.list_models)
    get_model = _sends(Endpoints.get_model)
    create_pool = _sends(Endpoints.create_pool)
    get_pool = _sends(Endpoints.get_pool)
    delete_pool = _sends(Endpoints.delete_pool)
    # pylint: enable=duplicate-code

    def health(self) -> Health:
        """Readiness: the gateway's ``/health``, or a standalone server's ``/readyz``."""
        gateway = self._request(gateway_health_call())
        return gateway if gateway is not None else self._request(server_health_call())
