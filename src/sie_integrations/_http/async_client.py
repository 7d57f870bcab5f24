"""The asynchronous SIE client."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
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
from .streams import AsyncStream

T = TypeVar("T")
C = TypeVar("C")


P = ParamSpec("P")


def _sends(
    build: Callable[Concatenate[Endpoints, P], Call[T]],
) -> Callable[Concatenate[AsyncSIEClient, P], Coroutine[Any, Any, T]]:
    """The client method of an endpoint: sends the call ``build`` makes."""

    async def method(self: AsyncSIEClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._request(build(self._endpoints, *args, **kwargs))

    return like(method, build, "AsyncSIEClient")


def _streams(
    build: Callable[Concatenate[Endpoints, P], Streamed[C]],
) -> Callable[Concatenate[AsyncSIEClient, P], AsyncStream[C]]:
    """The client method of a streaming endpoint: opens the stream of the call ``build`` makes."""

    def method(self: AsyncSIEClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncStream[C]:
        streamed = build(self._endpoints, *args, **kwargs)
        return AsyncStream(self._events(streamed.call, streamed.state))

    return like(method, build, "AsyncSIEClient", "AsyncStream")


class AsyncSIEClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client for an SIE server or gateway.

    Owned connection pools are made per event loop, so the client works across ``asyncio.run`` calls; close it
    with ``aclose()`` or an ``async with`` block. Failures raise the typed errors of ``sie_integrations.errors``;
    mistakes found before anything is sent raise ``ValueError`` or ``TypeError``.
    """

    def _open(self) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    # --- lifecycle ------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        http = self._pools.get(loop)
        if http is None or http.is_closed:
            http = self._pools[loop] = httpx.AsyncClient(**self._config.client_kwargs())
        return http

    async def aclose(self) -> None:
        """Close this event loop's connection pool and drop the others (an injected client stays open)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        pools, self._pools = dict(self._pools), weakref.WeakKeyDictionary()
        current = pools.get(loop) if loop is not None else None
        if current is not None:
            await current.aclose()

    async def __aenter__(self) -> AsyncSIEClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- I/O ------------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def _exchange(self, call: Call[T], *, stream: bool = False) -> tuple[T | None, httpx.Response | None]:
        """Drive ``exchange()``: the result, or for a stream the opened response."""
        flow, response = self._flow(call, stream), None
        outcome: Reply | Broken | bytes | None = None
        while not isinstance(step := advance(flow, outcome), Done):
            if isinstance(step, Wait):
                seat = load.away(step.refused)
                await self._sleep(step.seconds)
                if seat is not None and (back := seat.back()) is not None:
                    await back
                outcome = None
            elif step is READ and response is not None:
                outcome = await self._read(response)
            else:
                response, outcome = await self._send(call, stream)
        return step.value, response

    async def _send(self, call: Call[Any], stream: bool) -> tuple[httpx.Response | None, Reply | Broken]:
        http = self._http()
        try:
            request = self._config.request(http, call, stream=stream)
            response = await http.send(request, stream=stream, follow_redirects=False)  # never re-POST a generation
        except httpx.TransportError as exc:
            return None, broken(exc)
        return response, reply(response, stream)

    @staticmethod
    async def _read(response: httpx.Response) -> bytes | Broken:
        try:
            return await response.aread()
        except httpx.TransportError as exc:
            return broken(exc)
        finally:
            await response.aclose()
            release(response)

    async def _request(self, call: Call[T]) -> T:
        return cast(T, (await self._exchange(call))[0])

    async def _events(self, call: Call[Any], state: StreamState[C]) -> AsyncIterator[C]:
        response = cast(httpx.Response, (await self._exchange(call, stream=True))[1])
        reader = EventReader(state)
        try:
            async for raw in response.aiter_bytes():
                for chunk in reader.feed(raw):
                    yield chunk
                if reader.done:
                    break
            for chunk in reader.finish():
                yield chunk
        except httpx.TransportError as exc:
            raise stream_broken(broken(exc), self._config.url(call), self._config.stream_chunk_timeout) from exc
        finally:
            await response.aclose()
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

    async def health(self) -> Health:
        """Readiness: the gateway's ``/health``, or a standalone server's ``/readyz``."""
        gateway = await self._request(gateway_health_call())
        return gateway if gateway is not None else await self._request(server_health_call())
