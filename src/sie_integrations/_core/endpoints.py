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
    Document,
    EncodeResult,
    ExtractResult,
    GenerateChunk,
    GenerateResult,
    ItemLike,
    ModelInfo,
    ParsedDocument,
    PoolInfo,
    ScoreEntry,
)
from .call import Call, WireFormat
from .chat_completions import chat_call
from .documents import MAX_DOCUMENT_BYTES, parse_call
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
        """Encode items into dense, sparse and/or multivector embeddings, in input order.

        An empty ``items`` returns ``[]`` without a request.

        Args:
            model: The model id, as ``list_models()`` names it (``"sentence-transformers/all-MiniLM-L6-v2"``).
            items: The inputs: strings, or ``Item`` for images, ids and metadata.
            output_types: Which embeddings to return: any of ``"dense"``, ``"sparse"``, ``"multivector"``.
            is_query: Encode as search queries (models with a query prompt or a query encoder use it).
            instruction: A task instruction for instruction-tuned models.
            output_dtype: The number type of dense and multivector values: ``"float32"`` (default), ``"float16"``,
                ``"int8"``, ``"uint8"``, or ``"binary"`` / ``"ubinary"`` (bit-packed into uint8).
            options: Model options sent with the request, such as ``{"profile": "..."}``.

        Returns:
            One ``EncodeResult`` per item.
        """
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
        """Dense embeddings as one ``(len(items), dims)`` numpy matrix, in input order (read-only).

        The fastest way to many vectors: one buffer, no per-item objects. An empty ``items`` returns a
        ``(0, 0)`` matrix without a request.

        Args:
            model: The model id, as ``list_models()`` names it (``"sentence-transformers/all-MiniLM-L6-v2"``).
            items: The inputs: strings, or ``Item`` for images, ids and metadata.
            is_query: Encode as search queries (models with a query prompt or a query encoder use it).
            instruction: A task instruction for instruction-tuned models.
            output_dtype: The number type of the vectors, as in ``encode``.
            options: Model options sent with the request, as in ``encode``.
        """
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
        """Score items against a query (rerank); best first, each entry naming its input position.

        An empty ``items`` returns ``[]`` without a request.

        Args:
            model: The id of a scoring (cross-encoder or late-interaction) model.
            query: The query, a string or an ``Item``.
            items: The candidates: strings, or ``Item``; ids must be unique.
            instruction: A task instruction for instruction-tuned rerankers.
            options: Model options sent with the request.

        Returns:
            One ``ScoreEntry`` per item, best first.
        """
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
        """Extract entities, relations, classifications and objects from each item, in input order.

        An empty ``items`` returns ``[]`` without a request. When the server reports a failure for one item,
        the call raises a typed error whose ``item_index`` is that item's position.

        Args:
            model: The id of an extraction model (GLiNER-style, or one that fills an ``output_schema``).
            items: The inputs: strings, or ``Item`` for images.
            labels: The entity (or class) labels to look for, such as ``["person", "city"]``; None: the model's
                own.
            output_schema: A JSON schema for structured output (comes back as ``ExtractResult.data``).
            instruction: A task instruction, for models that take one.
            options: Model options sent with the request.

        Returns:
            One ``ExtractResult`` per item.
        """
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

    def parse(
        self,
        model: str,
        documents: Sequence[Document],
        *,
        options: Mapping[str, Any] | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> Call[list[ParsedDocument]]:
        """Parse documents (PDF, DOCX, PPTX, XLSX, HTML, Markdown, CSV, ...) into Markdown, text and the parser's
        structured document, in input order, with ``/v1/extract`` on a parsing model such as ``docling``.

        A document the server cannot parse comes back with its ``error`` set; the others are parsed. An empty or
        too large document (over ``max_bytes``) raises ``ValueError`` naming it before anything is sent.

        Args:
            model: The id of a parsing model: ``"docling"``.
            documents: The documents (read files with ``sie_integrations.read_document``).
            options: Model options, such as ``{"ocr": True}`` for scans or ``{"profile": "ocr"}``.
            max_bytes: The largest document sent (default 16 MiB, Docling's default on the server); raise it for
                a server that takes larger files.

        Returns:
            One ``ParsedDocument`` per document.
        """
        if not documents:
            return Call.answered([])
        return parse_call(model, documents, options=options, wire=self.wire, max_bytes=max_bytes)

    def generate(
        self,
        /,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> Call[GenerateResult]:
        """Continue a raw prompt (no chat template) with ``/v1/generate``.

        Never re-sent once the request may have reached the server (see the errors guide).

        Args:
            model: The id of a generative model.
            prompt: The text to continue, sent as is (non-empty).
            max_new_tokens: The most tokens to generate (at least 1).
            temperature: Sampling temperature, ``>= 0`` (0 is greedy); None: the model's default.
            top_p: Nucleus sampling, in ``(0, 1]``; None: the model's default.
            stop: Strings that end generation when produced.
            options: Model options, such as a profile's sampling defaults.
            **settings: Any other field of ``sie_integrations.sampling.GenerateSettings``: ``seed``,
                ``frequency_penalty``, ``presence_penalty``, ``logit_bias``, ``routing_key``, ... (``logprobs`` and
                ``top_logprobs`` with ``stream_generate`` only); an unknown one raises ``ValueError``.
        """
        named = _generation(max_new_tokens, temperature, top_p, stop, options)
        return generate_call(model, prompt, stream=False, **named, **settings)

    def stream_generate(
        self,
        /,
        model: str,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> Streamed[GenerateChunk]:
        """Stream ``/v1/generate``; the last chunk has ``done=True`` and the usage.

        Leaving the stream's ``with`` (``async with``) block ends it early. A broken stream is never re-sent:
        it raises ``SIEConnectionError``, an error event ``SIEStreamError``.

        Args:
            model: The id of a generative model.
            prompt: The text to continue, sent as is (non-empty).
            max_new_tokens: The most tokens to generate (at least 1).
            temperature: Sampling temperature, ``>= 0`` (0 is greedy); None: the model's default.
            top_p: Nucleus sampling, in ``(0, 1]``; None: the model's default.
            stop: Strings that end generation when produced.
            options: Model options, such as a profile's sampling defaults.
            **settings: Any other field of ``sie_integrations.sampling.GenerateSettings``, as for ``generate``
                (``logprobs`` and ``top_logprobs`` included: each chunk then carries its tokens' ``logprobs``).
        """
        named = _generation(max_new_tokens, temperature, top_p, stop, options)
        call = generate_call(model, prompt, stream=True, **named, **settings)
        return Streamed(call, GenerateStream())

    # --- chat -----------------------------------------------------------------------------

    def chat_completions(self, request: ChatCompletionRequest | Mapping[str, Any]) -> Call[ChatCompletion]:
        """Send an OpenAI-compatible chat completion request to ``/v1/chat/completions``.

        Never re-sent once the request may have reached the server (see the errors guide).

        Args:
            request: The request, as a ``ChatCompletionRequest`` or a dict of its fields. It is validated
                before sending: an unknown field or an inconsistent request raises ``ValueError``, and so does
                ``stream=True`` (use ``stream_chat_completions``).
        """
        return chat_call(request, stream=False)

    def stream_chat_completions(
        self, request: ChatCompletionRequest | Mapping[str, Any]
    ) -> Streamed[ChatCompletionChunk]:
        """Stream a chat completion; ends after the server's ``[DONE]``.

        Leaving the stream's ``with`` (``async with``) block ends it early. A stream that ends without
        ``[DONE]`` raises ``SIEConnectionError``, an error event ``SIEStreamError``; neither is re-sent.
        Set ``stream_options={"include_usage": True}`` for token counts on the last chunk.

        Args:
            request: The request, as a ``ChatCompletionRequest`` or a dict of its fields (``stream`` is set for
                you). It is validated before sending: an unknown field raises ``ValueError``.
        """
        return Streamed(chat_call(request, stream=True), ChatStream())

    # --- models, health, pools ------------------------------------------------------------

    def list_models(self) -> Call[list[ModelInfo]]:
        """The models the server serves (``GET /v1/models``)."""
        return list_models_call()

    def get_model(self, name: str, *, timeout: float | None = None) -> Call[ModelInfo]:
        """One model's description (``GET /v1/models/{name}``).

        Args:
            name: The model id.
            timeout: Seconds per attempt for this call; None: the client's ``timeout``.

        Raises:
            ModelNotFoundError: The server does not know the model.
        """
        return get_model_call(name, timeout)

    def create_pool(
        self, name: str, gpus: Mapping[str, int] | None = None, gpu_caps: Mapping[str, int] | None = None
    ) -> Call[PoolInfo]:
        """Create a pool of reserved capacity on a gateway, or renew its lease.

        The client does not renew the lease in the background: call again to renew. A standalone server has no
        pools and raises ``PoolError``.

        Args:
            name: The pool's name: letters, digits, ``_`` and ``-`` (at most 128).
            gpus: Workers that must be ready per machine profile, such as ``{"l4": 2}``.
            gpu_caps: The most workers per machine profile, such as ``{"l4": 4}``.
        """
        return create_pool_call(name, gpus, gpu_caps)

    def get_pool(self, name: str) -> Call[PoolInfo | None]:
        """A pool, or None when the gateway has no such pool.

        Args:
            name: The pool's name.
        """
        return get_pool_call(name)

    def delete_pool(self, name: str) -> Call[bool]:
        """Delete a pool; False when it did not exist.

        Args:
            name: The pool's name.
        """
        return delete_pool_call(name)


def _generation(
    max_new_tokens: int,
    temperature: float | None,
    top_p: float | None,
    stop: Sequence[str] | None,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The named arguments of ``generate`` and ``stream_generate``, as ``generate_call`` takes them."""
    return {
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stop": stop,
        "options": options,
    }
