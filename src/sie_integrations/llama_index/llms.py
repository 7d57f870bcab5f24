"""SIE chat models for LlamaIndex: a ``FunctionCallingLLM`` over ``/v1/chat/completions``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
from llama_index.core.types import PydanticProgramMode
from pydantic import Field, PrivateAttr

from .._connection import SIEStreamingConnection
from .._tool_calls import parse_partial_json
from ..errors import RequestError, SIEError
from ._base import LlamaIndexConnection
from ._messages import StreamAccumulator, chat_response, messages_to_wire

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

logger = logging.getLogger("sie_integrations")

# Structured output strategies, most constrained first; a 400 refusal moves to the next one.
STRUCTURED_MODES = ("json_schema", "function", "text")
_REFUSABLE = {"json_schema": "response_format", "function": "tool_choice"}


def _parse_partial(arguments: str) -> dict[str, Any]:
    """Arguments of a (possibly still streaming) tool call; never raises."""
    value = parse_partial_json(arguments)
    return value if isinstance(value, dict) else {}


def _tool_choice(tool_choice: str | dict[str, Any] | None, tool_required: bool) -> str | dict[str, Any] | None:
    if isinstance(tool_choice, dict):
        return tool_choice
    if tool_choice in ("auto", "none", "required"):
        return tool_choice
    if tool_choice:
        return {"type": "function", "function": {"name": tool_choice}}
    return "required" if tool_required else None


class SIEChatModel(LlamaIndexConnection, SIEStreamingConnection, FunctionCallingLLM):
    """A chat model served by SIE, for query engines, chat engines and agents.

    Tool calling (``FunctionAgent``, ``chat_with_tools``), streaming with usage for token counting,
    and structured output through ``response_format``, with fallbacks where the server refuses it.
    """

    model_name: str
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    context_window: int | None = Field(default=None, description="Tokens; by default asked from the server")
    stream_usage: bool = True
    additional_kwargs: dict[str, Any] = Field(default_factory=dict)

    _model_limit: int | None = PrivateAttr(default=None)
    _refused: set[str] = PrivateAttr(default_factory=set)

    @classmethod
    def class_name(cls) -> str:
        return "SIEChatModel"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window or self._server_context_window(),
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model_name,
        )

    def _server_context_window(self) -> int:
        """Asked once: every chat call reads ``metadata`` (``to_payload``), so a failure is remembered too."""
        if self._model_limit is None:
            try:
                info = self.client.get_model(self.model_name)
            except SIEError as exc:
                logger.warning(
                    "context window of %s unknown (%s); using %d", self.model_name, exc, DEFAULT_CONTEXT_WINDOW
                )
                self._model_limit = DEFAULT_CONTEXT_WINDOW
            else:
                self._model_limit = info.max_sequence_length or DEFAULT_CONTEXT_WINDOW
        return self._model_limit

    # --- requests -------------------------------------------------------------------------

    def _request(self, messages: Sequence[ChatMessage], stream: bool, **kwargs: Any) -> dict[str, Any]:
        params = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "repetition_penalty": self.repetition_penalty,
            "seed": self.seed,
            "stop": self.stop,
        }
        request: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
        request.update(self.additional_kwargs)
        request.update(kwargs)
        request["model"] = self.model_name
        request["messages"] = messages_to_wire(messages)
        if stream and self.stream_usage and "stream_options" not in request:
            request["stream_options"] = {"include_usage": True}
        return request

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return chat_response(self.client.chat_completions(self._request(messages, False, **kwargs)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return chat_response(await self.async_client.chat_completions(self._request(messages, False, **kwargs)))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request = self._request(messages, True, **kwargs)

        def gen() -> ChatResponseGen:
            accumulator = StreamAccumulator(self.model_name)
            with self.client.stream_chat_completions(request) as stream:
                for chunk in stream:
                    response = accumulator.feed(chunk)
                    if response is not None:
                        yield response
            yield accumulator.finish()

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
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
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
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
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls of a response; safe on the partial arguments of a streaming response."""
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

    def _modes(self) -> list[str]:
        return [m for m in STRUCTURED_MODES if m not in self._refused]

    def _refusal(self, mode: str, error: RequestError) -> bool:
        """Whether the server refused the feature a mode needs (a 400 before generating); remembered."""
        field = _REFUSABLE.get(mode)
        if field is None or error.status_code != 400 or error.param != field:
            return False
        logger.info("%s refused %s (%s); falling back", self.model_name, field, error.message)
        self._refused.add(mode)
        return True

    def _schema_request(self, output_cls: type[BaseModel]) -> dict[str, Any]:
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": output_cls.__name__, "schema": output_cls.model_json_schema(), "strict": True},
            }
        }

    def _program(self, output_cls: type[BaseModel], prompt: BasePromptTemplate, mode: str) -> Any:
        from llama_index.core.program.utils import get_program_for_llm

        program_mode = PydanticProgramMode.FUNCTION if mode == "function" else PydanticProgramMode.LLM
        return get_program_for_llm(output_cls, prompt, self, pydantic_program_mode=program_mode)

    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """``output_cls`` from ``response_format`` json_schema; else function calling; else parsed text."""
        for mode in self._modes():
            try:
                if mode == "json_schema":
                    messages = prompt.format_messages(llm=self, **prompt_args)
                    response = self.chat(messages, **self._schema_request(output_cls), **(llm_kwargs or {}))
                    return output_cls.model_validate_json(response.message.content or "")
                return self._program(output_cls, prompt, mode)(llm_kwargs=llm_kwargs, **prompt_args)
            except RequestError as error:
                if not self._refusal(mode, error):
                    raise
        raise RuntimeError("no structured output strategy left")  # the text mode is never refused

    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        for mode in self._modes():
            try:
                if mode == "json_schema":
                    messages = prompt.format_messages(llm=self, **prompt_args)
                    response = await self.achat(messages, **self._schema_request(output_cls), **(llm_kwargs or {}))
                    return output_cls.model_validate_json(response.message.content or "")
                return await self._program(output_cls, prompt, mode).acall(llm_kwargs=llm_kwargs, **prompt_args)
            except RequestError as error:
                if not self._refusal(mode, error):
                    raise
        raise RuntimeError("no structured output strategy left")
