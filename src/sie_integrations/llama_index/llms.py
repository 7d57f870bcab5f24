"""SIE text completion for LlamaIndex: a ``CustomLLM`` over the native ``/v1/generate``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.generic_utils import (
    astream_completion_response_to_chat_response,
    completion_response_to_chat_response,
    messages_to_prompt,
    stream_completion_response_to_chat_response,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import Field

from .._adapters.generation import Generating, StreamedText, completed
from ..types import GenerateChunk, GenerateResult
from ._base import LlamaIndexConnection


def _response(result: GenerateResult, stops: list[str]) -> CompletionResponse:
    text, info = completed(result, stops)
    return CompletionResponse(text=text, raw={"text": text, **info}, additional_kwargs=info)


class _Accumulated:
    """A stream's text so far; each delta as LlamaIndex's ``CompletionResponse`` (text so far, and the delta)."""

    def __init__(self, model: str, stops: list[str]) -> None:
        self._stream = StreamedText(model, stops)
        self.text = ""

    def feed(self, chunk: GenerateChunk) -> CompletionResponse | None:
        """The response for ``chunk``, with its tokens' ``logprobs`` in ``additional_kwargs`` when asked."""
        delta, info = self._stream.feed(chunk)
        self.text += delta
        extra = {"logprobs": chunk.logprobs} if chunk.logprobs else {}
        if info is not None:
            return CompletionResponse(
                text=self.text, delta=delta, raw={"text": self.text, **info}, additional_kwargs={**info, **extra}
            )
        return CompletionResponse(text=self.text, delta=delta, additional_kwargs=extra) if delta or extra else None


class SIELLM(LlamaIndexConnection, Generating, CustomLLM):
    """Text completion from an SIE generative model, over ``/v1/generate``: no chat template is applied.

    ``raw`` and ``additional_kwargs`` of each response hold ``finish_reason``, ``usage`` (read by LlamaIndex's
    token counter), and the server's ``ttft_ms``, ``tpot_ms`` and ``attempt_id`` where it sends them.
    ``complete`` applies ``completion_to_prompt`` (by default, none) and ``chat`` ``messages_to_prompt``; for the
    model's chat template and tools, use ``SIEChatModel``.
    """

    model_name: str
    """The id of a generative model (also accepted as ``model``)."""
    max_new_tokens: int = Field(default=256, ge=1)
    """The most tokens to generate (default 256)."""
    stop: list[str] | None = None
    """Strings that end generation when produced; a call's ``stop`` replaces them."""
    context_window: int = Field(default=DEFAULT_CONTEXT_WINDOW, gt=0)
    """The model's context size in tokens, for LlamaIndex's prompt packing (default 3900)."""

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIELLM"``."""
        return "SIELLM"

    @property
    def metadata(self) -> LLMMetadata:
        """What LlamaIndex plans prompts with: a completion model, its context and output sizes."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=False,
            model_name=self.model_name,
        )

    def _args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        stop = kwargs.pop("stop", None)
        return self._generate_args(stop if stop is not None else self.stop, kwargs)

    def _prompt(self, prompt: str, formatted: bool) -> str:
        return prompt if formatted or self.completion_to_prompt is None else self.completion_to_prompt(prompt)

    def _complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        args, model, prompt = self._args(kwargs), self.model_name, self._prompt(prompt, formatted)
        return _response(self.client.generate(model, prompt, **args), args.get("stop", []))

    def _stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        args, model, prompt = self._args(kwargs), self.model_name, self._prompt(prompt, formatted)

        def gen() -> CompletionResponseGen:
            accumulated = _Accumulated(model, args.get("stop", []))
            with self.client.stream_generate(model, prompt, **args) as stream:
                for chunk in stream:
                    response = accumulated.feed(chunk)
                    if response is not None:
                        yield response

        return gen()

    async def _acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        args, model, prompt = self._args(kwargs), self.model_name, self._prompt(prompt, formatted)
        return _response(await self.async_client.generate(model, prompt, **args), args.get("stop", []))

    async def _astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        args, model, prompt = self._args(kwargs), self.model_name, self._prompt(prompt, formatted)

        async def gen() -> CompletionResponseAsyncGen:
            accumulated = _Accumulated(model, args.get("stop", []))
            async with self.async_client.stream_generate(model, prompt, **args) as stream:
                async for chunk in stream:
                    response = accumulated.feed(chunk)
                    if response is not None:
                        yield response

        return gen()

    def _chat_prompt(self, messages: Sequence[ChatMessage]) -> str:
        return (self.messages_to_prompt or messages_to_prompt)(messages)

    # The public methods fire LlamaIndex's LLM events, once a request: the chat methods call the private
    # ``_complete`` and kin, not the decorated ``complete``.

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Continue ``prompt``; keyword arguments override the model's fields (``max_new_tokens``, ``temperature``,
        ``seed``, ``options``, ...) and ``stop``.

        Args:
            prompt: The text to continue (no chat template is applied).
            formatted: Whether ``prompt`` is final; if not, ``completion_to_prompt`` is applied to it first.
            **kwargs: Per-call settings.
        """
        return self._complete(prompt, formatted, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """Stream ``complete``: each response has the text so far and its ``delta``; the last one the usage.

        Args:
            prompt: The text to continue (no chat template is applied).
            formatted: Whether ``prompt`` is final; if not, ``completion_to_prompt`` is applied to it first.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return self._stream_complete(prompt, formatted, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async ``complete``.

        Args:
            prompt: The text to continue (no chat template is applied).
            formatted: Whether ``prompt`` is final; if not, ``completion_to_prompt`` is applied to it first.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return await self._acomplete(prompt, formatted, **kwargs)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async ``stream_complete``.

        Args:
            prompt: The text to continue (no chat template is applied).
            formatted: Whether ``prompt`` is final; if not, ``completion_to_prompt`` is applied to it first.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return await self._astream_complete(prompt, formatted, **kwargs)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """The messages as one prompt (``messages_to_prompt``), continued.

        Args:
            messages: The conversation.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return completion_response_to_chat_response(self._complete(self._chat_prompt(messages), True, **kwargs))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream ``chat``.

        Args:
            messages: The conversation.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return stream_completion_response_to_chat_response(
            self._stream_complete(self._chat_prompt(messages), True, **kwargs)
        )

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async ``chat``, without blocking the event loop.

        Args:
            messages: The conversation.
            **kwargs: Per-call settings, as for ``complete``.
        """
        response = await self._acomplete(self._chat_prompt(messages), True, **kwargs)
        return completion_response_to_chat_response(response)

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async ``stream_chat``, without blocking the event loop.

        Args:
            messages: The conversation.
            **kwargs: Per-call settings, as for ``complete``.
        """
        return astream_completion_response_to_chat_response(
            await self._astream_complete(self._chat_prompt(messages), True, **kwargs)
        )
