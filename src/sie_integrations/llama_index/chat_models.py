"""SIE chat models for LlamaIndex: a ``FunctionCallingLLM`` over ``/v1/chat/completions``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

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
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import BasePromptTemplate
from pydantic import Field

from .._adapters.chat_model import ChatConnection
from .._adapters.chat_request import chat_request, output_budget, wire_tool_choice
from .._adapters.structured import Method, arun, astream, run, stream, tries
from .._adapters.tool_calls import parse_partial_json
from ..chat import ChatCompletionRequest
from ._base import LlamaIndexConnection
from ._messages import StreamAccumulator, chat_response, messages_to_wire
from ._structured import StructuredJob

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool


def _parse_partial(arguments: str) -> dict[str, Any]:
    """Arguments of a (possibly still streaming) tool call; never raises."""
    value = parse_partial_json(arguments)
    return value if isinstance(value, dict) else {}


def _tool_choice(tool_choice: str | dict[str, Any] | None, tool_required: bool) -> str | dict[str, Any] | None:
    """``tool_choice`` in wire form; without one, "required" when ``tool_required``."""
    if not tool_choice and not isinstance(tool_choice, dict):
        return "required" if tool_required else None
    return wire_tool_choice(tool_choice)


class SIEChatModel(LlamaIndexConnection, ChatConnection, FunctionCallingLLM):
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
            messages=messages_to_wire(messages),
            stream=stream,
            stream_usage=self.stream_usage,
        )

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """One answer to the conversation; tool calls come back as ``ToolCallBlock``s.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return chat_response(self.client.chat_completions(self._request(messages, False, **kwargs)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async ``chat``.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        return chat_response(await self.async_client.chat_completions(self._request(messages, False, **kwargs)))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the answer: each response has the text so far and its ``delta``; the last one has the usage.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
        request = self._request(messages, True, **kwargs)

        def gen() -> ChatResponseGen:
            accumulator = StreamAccumulator(self.model_name)
            with self.client.stream_chat_completions(request) as stream:
                yield from (response for response in map(accumulator.feed, stream) if response is not None)
            yield accumulator.finish()

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async ``stream_chat``.

        Args:
            messages: The conversation so far.
            **kwargs: Request fields for this call, such as ``temperature``; they win over the model's.
        """
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

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """``chat`` with the prompt as one user message.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async ``complete``.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """``stream_chat`` with the prompt as one user message.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async ``stream_complete``.

        Args:
            prompt: The prompt, sent as one user message.
            formatted: Not used (the prompt is sent as is).
            **kwargs: Request fields for this call, such as ``temperature``.
        """
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)

    # --- tools ----------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        if strict is not None:
            for spec in specs:
                spec["function"]["strict"] = strict
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
            choice = _tool_choice(tool_choice, tool_required)
            if choice is not None:
                prepared["tool_choice"] = choice
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
            for extra in calls[1:]:
                response.message.blocks.remove(extra)
            wire_calls = response.message.additional_kwargs.get("tool_calls")
            if isinstance(wire_calls, list):
                response.message.additional_kwargs["tool_calls"] = wire_calls[:1]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls of a response; safe on the partial arguments of a streaming response.

        Args:
            response: A response of ``chat_with_tools`` (or ``stream_chat_with_tools``).
            error_on_no_tool_call: Raise ``ValueError`` when the response has no tool call; False returns ``[]``.
            **kwargs: Not used.
        """
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not calls and error_on_no_tool_call:
            raise ValueError(f"expected at least one tool call, got none: {response.message.content!r}")
        return [
            ToolSelection(
                tool_id=call.tool_call_id or "",
                tool_name=call.tool_name,
                tool_kwargs=call.tool_kwargs
                if isinstance(call.tool_kwargs, dict)
                else _parse_partial(call.tool_kwargs),
            )
            for call in calls
        ]

    # --- structured output ----------------------------------------------------------------

    @property
    def structured_output_method(self) -> str | None:
        """The method that answered the last structured prediction: json_schema, function_calling or json_prompt."""
        return self._structured.last

    def _job(
        self, output_cls: type[BaseModel], prompt: BasePromptTemplate, llm_kwargs: dict[str, Any] | None, args: Any
    ) -> StructuredJob:
        return StructuredJob(output_cls, prompt, llm_kwargs, args, self)

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
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = self.capabilities()

        def attempt(method: Method) -> BaseModel:
            return job.finish(method, self.chat(job.messages(method), **job.request(method, caps)))

        return run(tries(self._structured, caps), attempt)

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
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = await self.acapabilities()

        async def attempt(method: Method) -> BaseModel:
            return job.finish(method, await self.achat(job.messages(method), **job.request(method, caps)))

        return await arun(tries(self._structured, caps), attempt)

    def _structured_stream_call(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        """Partial copies of ``output_cls`` while the answer streams, then the validated object."""
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
        job = self._job(output_cls, prompt, llm_kwargs, prompt_args)
        caps = await self.acapabilities()

        async def attempt(method: Method) -> AsyncGenerator[Any, None]:
            answer = job.answer(method)
            async for response in await self.astream_chat(job.messages(method), **job.request(method, caps)):
                for partial in answer.feed(response):
                    yield partial
            yield job.finish(method, answer.whole())

        return astream(tries(self._structured, caps), attempt)
