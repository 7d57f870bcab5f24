"""The asynchronous SIE client."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx
import numpy as np

from .._core.call import Call
from .._core.chat_completions import chat_call
from .._core.encode import encode_call, encode_dense_call
from .._core.exchange import READ, Reply, Wait, exchange, stream_broken
from .._core.extract import extract_call
from .._core.generate import generate_call
from .._core.items import no_items
from .._core.models import gateway_health_call, get_model_call, list_models_call, server_health_call
from .._core.pools import create_pool_call, delete_pool_call, get_pool_call
from .._core.retry import Broken
from .._core.score import score_call
from .._core.streams import ChatStream, EventReader, GenerateStream
from ..chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ..types import (
    EncodeResult,
    ExtractResult,
    GenerateChunk,
    GenerateResult,
    Health,
    ItemLike,
    ModelInfo,
    PoolInfo,
    ScoreEntry,
)
from .base import BaseClient
from .failures import broken
from .streams import AsyncStream

T = TypeVar("T")
C = TypeVar("C")


class AsyncSIEClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client for an SIE server or gateway; its options are ``BaseClient``'s.

    Owned connection pools are made per event loop, so the client works across ``asyncio.run`` calls.
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
        flow = exchange(call, self._config.policy, self._config.url(call), stream=stream, **self._config.flow_kwargs)
        response: httpx.Response | None = None
        outcome: Reply | Broken | bytes | None = None
        try:
            while True:
                step = flow.send(outcome)
                outcome = None
                if isinstance(step, Wait):
                    await self._sleep(step.seconds)
                elif step is READ and response is not None:
                    try:
                        outcome = await response.aread()
                    except httpx.TransportError as exc:
                        outcome = broken(exc)
                    finally:
                        await response.aclose()
                else:
                    http = self._http()
                    request = self._config.request(http, call, stream=stream)
                    try:
                        response = await http.send(request, stream=stream, follow_redirects=False)
                    except httpx.TransportError as exc:
                        outcome = broken(exc)
                    else:
                        outcome = Reply(response.status_code, response.headers, None if stream else response.content)
        except StopIteration as stop:
            return stop.value, response

    async def _request(self, call: Call[T]) -> T:
        return cast(T, (await self._exchange(call))[0])

    async def _events(self, call: Call[Any], state: ChatStream | GenerateStream) -> AsyncIterator[Any]:
        response = cast(httpx.Response, (await self._exchange(call, stream=True))[1])
        reader: EventReader[Any] = EventReader(state)
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

    # --- native endpoints -----------------------------------------------------------------

    async def encode(
        self,
        model: str,
        items: Sequence[ItemLike],
        *,
        output_types: Sequence[str] = ("dense",),
        is_query: bool = False,
        instruction: str | None = None,
        output_dtype: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[EncodeResult]:
        """Encode items into dense, sparse and/or multivector embeddings, in input order."""
        if no_items(items):
            return []
        call = encode_call(
            model,
            items,
            output_types=output_types,
            is_query=is_query,
            instruction=instruction,
            output_dtype=output_dtype,
            options=options,
            wire=self._config.wire_format,
        )
        return await self._request(call)

    async def encode_dense(
        self,
        model: str,
        items: Sequence[ItemLike],
        *,
        is_query: bool = False,
        instruction: str | None = None,
        output_dtype: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> np.ndarray[Any, Any]:
        """Dense embeddings as one ``(len(items), dims)`` numpy matrix, in input order (read-only)."""
        if no_items(items):
            return np.empty((0, 0), dtype=np.float32)
        call = encode_dense_call(
            model,
            items,
            is_query=is_query,
            instruction=instruction,
            output_dtype=output_dtype,
            options=options,
            wire=self._config.wire_format,
        )
        return await self._request(call)

    async def score(
        self,
        model: str,
        query: ItemLike,
        items: Sequence[ItemLike],
        *,
        instruction: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ScoreEntry]:
        """Score items against a query; best first, each entry naming its input position."""
        if no_items(items):
            return []
        call = score_call(model, query, items, instruction=instruction, options=options, wire=self._config.wire_format)
        return await self._request(call)

    async def extract(
        self,
        model: str,
        items: Sequence[ItemLike],
        *,
        labels: Sequence[str] | None = None,
        output_schema: Mapping[str, Any] | None = None,
        instruction: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ExtractResult]:
        """Extract entities, relations, classifications and objects from each item, in input order."""
        if no_items(items):
            return []
        call = extract_call(
            model,
            items,
            labels=labels,
            output_schema=output_schema,
            instruction=instruction,
            options=options,
            wire=self._config.wire_format,
        )
        return await self._request(call)

    async def generate(
        self,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
    ) -> GenerateResult:
        """Continue a raw prompt (no chat template) with ``/v1/generate``."""
        call = generate_call(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, stream=False
        )
        return await self._request(call)

    def stream_generate(
        self,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
    ) -> AsyncStream[GenerateChunk]:
        """Stream ``/v1/generate``; the last chunk has ``done=True`` and the usage."""
        call = generate_call(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, stream=True
        )
        return AsyncStream(self._events(call, GenerateStream()))

    # --- chat -----------------------------------------------------------------------------

    async def chat_completions(self, request: ChatCompletionRequest | Mapping[str, Any]) -> ChatCompletion:
        """Send a chat completion request (validated first; unknown fields are refused)."""
        return await self._request(chat_call(request, stream=False))

    def stream_chat_completions(
        self, request: ChatCompletionRequest | Mapping[str, Any]
    ) -> AsyncStream[ChatCompletionChunk]:
        """Stream a chat completion; ends after ``[DONE]``, raises if the stream breaks off."""
        return AsyncStream(self._events(chat_call(request, stream=True), ChatStream()))

    # --- models, health, pools ------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        """The models the server serves."""
        return await self._request(list_models_call())

    async def get_model(self, name: str, *, timeout: float | None = None) -> ModelInfo:
        """One model; ``ModelNotFoundError`` when the server does not know it. ``timeout``: seconds per attempt."""
        return await self._request(get_model_call(name, timeout))

    async def health(self) -> Health:
        """Readiness: the gateway's ``/health``, or a standalone server's ``/readyz``."""
        gateway = await self._request(gateway_health_call())
        return gateway if gateway is not None else await self._request(server_health_call())

    async def create_pool(
        self, name: str, gpus: Mapping[str, int] | None = None, gpu_caps: Mapping[str, int] | None = None
    ) -> PoolInfo:
        """Create (or renew) a pool on a gateway."""
        return await self._request(create_pool_call(name, gpus, gpu_caps))

    async def get_pool(self, name: str) -> PoolInfo | None:
        """A pool, or None when the gateway has no such pool."""
        return await self._request(get_pool_call(name))

    async def delete_pool(self, name: str) -> bool:
        """Delete a pool; False when it did not exist."""
        return await self._request(delete_pool_call(name))
