"""Every endpoint the clients offer, written once: a method that builds the endpoint's call.

``SIEClient`` and ``AsyncSIEClient`` make each of these a method of theirs that sends the call; the signatures
and docstrings users see are these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ..types import (
    EncodeResult,
    ExtractResult,
    GenerateChunk,
    GenerateResult,
    ItemLike,
    ModelInfo,
    PoolInfo,
    ScoreEntry,
)
from .call import Call, WireFormat
from .chat_completions import chat_call
from .encode import encode_call, encode_dense_call
from .extract import extract_call
from .generate import generate_call
from .items import no_items
from .models import get_model_call, list_models_call
from .pools import create_pool_call, delete_pool_call, get_pool_call
from .score import score_call
from .streams import ChatStream, GenerateStream, Streamed


class Endpoints:
    """The call of each endpoint, for a client that sends ``wire`` bodies."""

    def __init__(self, wire: WireFormat) -> None:
        self.wire = wire

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
    ) -> Call[list[EncodeResult]]:
        """Encode items into dense, sparse and/or multivector embeddings, in input order."""
        if no_items(items):
            return Call.answered([])
        return encode_call(
            model,
            items,
            output_types=output_types,
            is_query=is_query,
            instruction=instruction,
            output_dtype=output_dtype,
            options=options,
            wire=self.wire,
        )

    def encode_dense(
        self,
        model: str,
        items: Sequence[ItemLike],
        *,
        is_query: bool = False,
        instruction: str | None = None,
        output_dtype: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Call[np.ndarray[Any, Any]]:
        """Dense embeddings as one ``(len(items), dims)`` numpy matrix, in input order (read-only)."""
        if no_items(items):
            return Call.answered(np.empty((0, 0), dtype=np.float32))
        return encode_dense_call(
            model,
            items,
            is_query=is_query,
            instruction=instruction,
            output_dtype=output_dtype,
            options=options,
            wire=self.wire,
        )

    def score(
        self,
        model: str,
        query: ItemLike,
        items: Sequence[ItemLike],
        *,
        instruction: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Call[list[ScoreEntry]]:
        """Score items against a query; best first, each entry naming its input position."""
        if no_items(items):
            return Call.answered([])
        return score_call(model, query, items, instruction=instruction, options=options, wire=self.wire)

    def extract(
        self,
        model: str,
        items: Sequence[ItemLike],
        *,
        labels: Sequence[str] | None = None,
        output_schema: Mapping[str, Any] | None = None,
        instruction: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Call[list[ExtractResult]]:
        """Extract entities, relations, classifications and objects from each item, in input order."""
        if no_items(items):
            return Call.answered([])
        return extract_call(
            model,
            items,
            labels=labels,
            output_schema=output_schema,
            instruction=instruction,
            options=options,
            wire=self.wire,
        )

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
    ) -> Call[GenerateResult]:
        """Continue a raw prompt (no chat template) with ``/v1/generate``."""
        return generate_call(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, stream=False
        )

    def stream_generate(
        self,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
    ) -> Streamed[GenerateChunk]:
        """Stream ``/v1/generate``; the last chunk has ``done=True`` and the usage."""
        call = generate_call(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=stop, stream=True
        )
        return Streamed(call, GenerateStream())

    # --- chat -----------------------------------------------------------------------------

    def chat_completions(self, request: ChatCompletionRequest | Mapping[str, Any]) -> Call[ChatCompletion]:
        """Send a chat completion request (validated first; unknown fields are refused)."""
        return chat_call(request, stream=False)

    def stream_chat_completions(
        self, request: ChatCompletionRequest | Mapping[str, Any]
    ) -> Streamed[ChatCompletionChunk]:
        """Stream a chat completion; ends after ``[DONE]``, raises if the stream breaks off."""
        return Streamed(chat_call(request, stream=True), ChatStream())

    # --- models, health, pools ------------------------------------------------------------

    def list_models(self) -> Call[list[ModelInfo]]:
        """The models the server serves."""
        return list_models_call()

    def get_model(self, name: str, *, timeout: float | None = None) -> Call[ModelInfo]:
        """One model; ``ModelNotFoundError`` when the server does not know it. ``timeout``: seconds per attempt."""
        return get_model_call(name, timeout)

    def create_pool(
        self, name: str, gpus: Mapping[str, int] | None = None, gpu_caps: Mapping[str, int] | None = None
    ) -> Call[PoolInfo]:
        """Create (or renew) a pool on a gateway."""
        return create_pool_call(name, gpus, gpu_caps)

    def get_pool(self, name: str) -> Call[PoolInfo | None]:
        """A pool, or None when the gateway has no such pool."""
        return get_pool_call(name)

    def delete_pool(self, name: str) -> Call[bool]:
        """Delete a pool; False when it did not exist."""
        return delete_pool_call(name)
