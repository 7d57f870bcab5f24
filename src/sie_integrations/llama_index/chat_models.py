"""SIE chat models for LlamaIndex: a ``FunctionCallingLLM`` over ``/v1/chat/completions``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any, ClassVar, cast

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
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
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import LLMStructuredPredictEndEvent, LLMStructuredPredictStartEvent
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import Field

from .._adapters.chat_model import ChatConnection
from .._adapters.chat_request import chat_request, output_budget
from .._adapters.structured import Method, arun, astream, run, stream, tries
from ..chat import ChatCompletionRequest
from ._base import LlamaIndexConnection
from ._messages import StreamAccumulator, chat_response, messages_to_wire
from ._structured import StructuredJob
from ._tools import ToolCalling

dispatcher = get_dispatcher(__name__)


class SIEChatModel(LlamaIndexConnection, ChatConnection, ToolCalling, FunctionCallingLLM):
    """A chat model served by SIE, for query engines, chat engines and agents.

    Tool calling (``FunctionAgent``, ``chat_with_tools``), streaming with usage for token counting,
    and structured output through ``response_format``, with fallbacks where the server refuses it.

    Every request field (``sie_integrations.chat.ChatSettings``) is a field of its own, checked when the model is
    built and sent with every request when set; a call's keyword arguments win over them.
    """

    model_name: str
    """The model id (also accepted as ``model``); a chat model the server serves."""
    context_window: int | None = Field(default=None, description="Tokens; by default asked from the server")
    """The model's context size in tokens; None (default): the server's ``max_sequence_length``, asked once,
    else LlamaIndex's default (3900)."""
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More request fields as a dict, sent with every request; checked when the model is built (an unknown name
    is refused with the closest field)."""

    _more_fields: ClassVar[str] = "additional_kwargs"
    _model_field: ClassVar[str] = "model_name"

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serializes the class under: ``"SIEChatModel"``."""
        return "SIEChatModel"

    @property
    def metadata(self) -> LLMMetadata:
        """What LlamaIndex plans with: the context window (see ``context_window``), ``max_completion_tokens`` (else
        ``max_tokens``) as the output budget, a function-calling chat model."""
        return LLMMetadata(
            context_window=self.context_window or self._server_context_window(),
            num_output=output_budget(self._settings()) or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model_name,
        )

    def _server_context_window(self) -> int:
        """From the server's ``max_sequence_length``, asked once (a failure is remembered too)."""
        return self.capabilities().max_input_tokens or DEFAULT_CONTEXT_WINDOW

    # --- requests -------------------------------------------------------------------------

    def _request(self, messages: Sequence[ChatMessage], stream: bool, **kwargs: Any) -> ChatCompletionRequest:
        return chat_request(
            self._settings(),
            kwargs,
            model=self.model_name,
            messages=messages_to_wire(messages, reasoning=self.send_reasoning),
            stream=stream,
            stream_usage=self.stream_usage,
        )

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return chat_response(self.client.chat_completions(self._request(messages, False, **kwargs)))

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return chat_response(await self.async_client.chat_completions(self._request(messages, False, **kwargs)))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request = self._request(messages, True, **kwargs)

        def gen() -> ChatResponseGen:
            accumulator = StreamAccumulator(self.model_name)
            with self.client.stream_chat_completions(request) as stream:
                yield from (response for response in map(accumulator.feed, stream) if response is not None)
            yield accumulator.finish()

        return gen()

    async def _astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        request = self._request(messages, True, **kwargs)

        async def gen() -> ChatResponseAsyncGen:
            accumulator = StreamAccumulator(self.model_name)
            async with self.async_client.stream_chat_completions(request) as stream:
                async for chunk in stream:
                    response = accumulator.feed(chunk)
                    if response is not None:
                        yield response
            yield accumulator.finish()

        return gen()

    # The public methods fire LlamaIndex's LLM events, once a request: ``complete`` and its kin call the private
    # ``_chat`` and kin, not the decorated ``chat``.

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """One answer to the conversation; tool calls come back as ``ToolCallBlock``s.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async ``chat``.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the answer: each response has the text so far and its ``delta``; the last one has the usage.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return self._stream_chat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async ``stream_chat``.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return await self._astream_chat(messages, **kwargs)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """``chat`` with the prompt as one user message.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async ``complete``.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """``stream_chat`` with the prompt as one user message.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async ``stream_complete``.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # --- structured output ----------------------------------------------------------------

    @property
    def structured_output_method(self) -> str | None:
        """The method that answered the last structured prediction: json_schema, function_calling or json_prompt."""
        return self._structured.last

    def _job(
        self, output_cls: type[BaseModel], prompt: BasePromptTemplate, llm_kwargs: dict[str, Any] | None, args: Any
    ) -> StructuredJob:
        return StructuredJob(output_cls, prompt, llm_kwargs, args, self)

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """``output_cls`` by the best method the server allows: ``response_format`` json_schema where it
        constrains decoding, else a tool call, else the schema in the prompt; refusals are remembered.

        ``structured_output_method`` then says which method answered.

        Args:
            output_cls: The pydantic model of the answer.
            prompt: The prompt template.
            llm_kwargs: Request fields for the call, such as ``temperature``.
            **prompt_args: The template's variables.
        """
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = self.capabilities()

        def attempt(method: Method) -> BaseModel:
            return job.finish(method, self.chat(job.messages(method), **job.request(method, caps)))

        result = run(tries(self._structured, caps), attempt)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """Async ``structured_predict``.

        Args:
            output_cls: The pydantic model of the answer.
            prompt: The prompt template.
            llm_kwargs: Request fields for the call, such as ``temperature``.
            **prompt_args: The template's variables.
        """
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = await self.acapabilities()

        async def attempt(method: Method) -> BaseModel:
            return job.finish(method, await self.achat(job.messages(method), **job.request(method, caps)))

        result = await arun(tries(self._structured, caps), attempt)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def _structured_stream_call(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Partial copies of ``output_cls`` while the answer streams, then the validated object."""
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            yield from super()._structured_stream_call(output_cls, cast(Any, prompt), llm_kwargs, **prompt_args)
            return
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = self.capabilities()

        def attempt(method: Method) -> Generator[Any, None, None]:
            answer = job.answer(method)
            for response in self.stream_chat(job.messages(method), **job.request(method, caps)):
                yield from answer.feed(response)
            yield job.finish(method, answer.whole())

        yield from stream(tries(self._structured, caps), attempt)

    async def _structured_astream_call(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return await super()._structured_astream_call(output_cls, cast(Any, prompt), llm_kwargs, **prompt_args)
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = await self.acapabilities()

        async def attempt(method: Method) -> AsyncGenerator[Any, None]:
            answer = job.answer(method)
            async for response in await self.astream_chat(job.messages(method), **job.request(method, caps)):
                for partial in answer.feed(response):
                    yield partial
            yield job.finish(method, answer.whole())

        return astream(tries(self._structured, caps), attempt)
