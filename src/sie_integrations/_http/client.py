"""The synchronous SIE client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
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
from .streams import Stream

T = TypeVar("T")
C = TypeVar("C")


class SIEClient(BaseClient[httpx.Client]):
    """A synchronous client for an SIE server or gateway; its options are ``BaseClient``'s."""

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
        flow = exchange(call, self._config.policy, self._config.url(call), stream=stream, **self._config.flow_kwargs)
        response: httpx.Response | None = None
        outcome: Reply | Broken | bytes | None = None
        try:
            while True:
                step = flow.send(outcome)
                outcome = None
                if isinstance(step, Wait):
                    self._sleep(step.seconds)
                elif step is READ and response is not None:
                    try:
                        outcome = response.read()
                    except httpx.TransportError as exc:
                        outcome = broken(exc)
                    finally:
                        response.close()
                else:
                    request = self._config.request(self._http, call, stream=stream)
                    try:
                        response = self._http.send(request, stream=stream, follow_redirects=False)
                    except httpx.TransportError as exc:
                        outcome = broken(exc)
                    else:
                        outcome = Reply(response.status_code, response.headers, None if stream else response.content)
        except StopIteration as stop:
            return stop.value, response

    def _request(self, call: Call[T]) -> T:
        return cast(T, self._exchange(call)[0])

    def _events(self, call: Call[Any], state: ChatStream | GenerateStream) -> Iterator[Any]:
        response = cast(httpx.Response, self._exchange(call, stream=True)[1])
        reader: EventReader[Any] = EventReader(state)
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

    # --- native endpoints -----------------------------------------------------------------

    def encode(
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
        return self._request(call)

    def encode_dense(
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
        return self._request(call)

    def score(
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
        return self._request(call)

    def extract(
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
        return self._request(call)

    def generate(
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
        return self._request(call)

    def stream_generate(
        self,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
    ) -> Stream[GenerateChunk]:
        """Stream ``/v1/generate``; the last chunk has ``done=True`` and the usage."""
        call = generate_call(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, stream=True
        )
        return Stream(self._events(call, GenerateStream()))

    # --- chat -----------------------------------------------------------------------------

    def chat_completions(self, request: ChatCompletionRequest | Mapping[str, Any]) -> ChatCompletion:
        """Send a chat completion request (validated first; unknown fields are refused)."""
        return self._request(chat_call(request, stream=False))

    def stream_chat_completions(
        self, request: ChatCompletionRequest | Mapping[str, Any]
    ) -> Stream[ChatCompletionChunk]:
        """Stream a chat completion; ends after ``[DONE]``, raises if the stream breaks off."""
        return Stream(self._events(chat_call(request, stream=True), ChatStream()))

    # --- models, health, pools ------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """The models the server serves."""
        return self._request(list_models_call())

    def get_model(self, name: str, *, timeout: float | None = None) -> ModelInfo:
        """One model; ``ModelNotFoundError`` when the server does not know it. ``timeout``: seconds per attempt."""
        return self._request(get_model_call(name, timeout))

    def health(self) -> Health:
        """Readiness: the gateway's ``/health``, or a standalone server's ``/readyz``."""
        gateway = self._request(gateway_health_call())
        return gateway if gateway is not None else self._request(server_health_call())

    def create_pool(
        self, name: str, gpus: Mapping[str, int] | None = None, gpu_caps: Mapping[str, int] | None = None
    ) -> PoolInfo:
        """Create (or renew) a pool on a gateway."""
        return self._request(create_pool_call(name, gpus, gpu_caps))

    def get_pool(self, name: str) -> PoolInfo | None:
        """A pool, or None when the gateway has no such pool."""
        return self._request(get_pool_call(name))

    def delete_pool(self, name: str) -> bool:
        """Delete a pool; False when it did not exist."""
        return self._request(delete_pool_call(name))
