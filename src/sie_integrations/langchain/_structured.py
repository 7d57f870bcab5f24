"""``with_structured_output`` on any server: the best method the model's capabilities allow, with fallbacks."""

from __future__ import annotations

import operator
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from typing import Any, Protocol, cast

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import patch_config
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from .._adapters.capabilities import ChatCapabilities
from .._adapters.structured import (
    Method,
    NoToolCall,
    StreamedAnswer,
    StructuredMemory,
    arun,
    astream,
    json_from_text,
    json_schema_format,
    run,
    schema_instruction,
    stream,
    tries,
)
from .._adapters.tool_calls import parse_partial_json


class StructuredChat(Protocol):
    """What structured output needs of a chat model."""

    def bind(self, **kwargs: Any) -> Runnable[LanguageModelInput, BaseMessage]: ...

    def bind_tools(
        self, tools: Sequence[dict[str, Any]], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]: ...

    def capabilities(self) -> ChatCapabilities: ...

    async def acapabilities(self) -> ChatCapabilities: ...


def _messages(input: LanguageModelInput) -> list[BaseMessage]:
    """A model input (a string, a prompt value or messages) as messages."""
    if isinstance(input, PromptValue):
        return input.to_messages()
    if isinstance(input, str):
        return [HumanMessage(input)]
    return convert_to_messages(input)


class StructuredOutput(Runnable[LanguageModelInput, Any]):
    """Answers parsed into a schema by the best method that works; the method is in ``raw.response_metadata``."""

    def __init__(
        self,
        llm: StructuredChat,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool,
        strict: bool | None,
        memory: StructuredMemory,
    ):
        self.llm = llm
        self.memory = memory
        self.schema = schema
        self.include_raw = include_raw
        self.strict = strict
        self.json_schema = convert_to_json_schema(schema)
        self.tool = convert_to_openai_tool(schema, strict=strict)
        self.name: str = self.tool["function"]["name"]
        self.pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)

    # --- per method: the bound model, its input and the parse ----------------------------------

    def _trace(self, method: Method) -> dict[str, Any]:
        return {"kwargs": {"method": method, "strict": self.strict}, "schema": self.schema}

    def _bound(self, method: Method, caps: ChatCapabilities) -> Runnable[LanguageModelInput, BaseMessage]:
        trace = self._trace(method)
        if method == "json_schema":
            description = self.tool["function"].get("description")
            response_format = json_schema_format(
                self.name, self.json_schema, description=description, strict=self.strict
            )
            return self.llm.bind(response_format=response_format, ls_structured_output_format=trace)
        if method == "function_calling":
            choice = self.name if caps.forced_tools else "auto"
            return self.llm.bind_tools(
                [self.tool], tool_choice=choice, parallel_tool_calls=False, ls_structured_output_format=trace
            )
        return self.llm.bind(ls_structured_output_format=trace)

    def _messages(self, input: LanguageModelInput, method: Method) -> list[BaseMessage]:
        messages = _messages(input)
        if method != "json_prompt":
            return messages
        instruction = schema_instruction(self.json_schema)
        if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
            return [SystemMessage(f"{messages[0].content}\n\n{instruction}"), *messages[1:]]
        return [SystemMessage(instruction), *messages]

    def _validate(self, value: Any) -> Any:
        if self.pydantic:
            return self.schema.model_validate(value)  # type: ignore[union-attr]
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, got {type(value).__name__}")
        return value

    def _value(self, method: Method, message: BaseMessage) -> Any:
        """The raw JSON value of an answer; raises ``NoToolCall`` or ``ValueError``."""
        if method == "function_calling":
            calls = [c for c in getattr(message, "tool_calls", []) if c["name"] == self.name]
            if not calls:
                raise NoToolCall
            return calls[0]["args"]
        return json_from_text(message.text)

    def _parse(self, method: Method, message: BaseMessage) -> Any:
        try:
            return self._validate(self._value(method, message))
        except NoToolCall:
            raise
        except Exception as exc:
            raise OutputParserException(
                f"the answer does not match {self.name} ({method}): {exc}", llm_output=message.text
            ) from exc

    def _partial(self, method: Method, message: AIMessageChunk) -> Any:
        """A partial result of a stream so far, or None."""
        if method == "function_calling":
            text = next((c.get("args") or "" for c in message.tool_call_chunks if c.get("name") == self.name), "")
        else:
            text = message.text
        value = parse_partial_json(text)
        if not isinstance(value, dict) or not value:
            return None
        try:
            return self._validate(value)
        except Exception:  # not yet valid: wait for more
            return None

    def _result(self, method: Method, raw: BaseMessage, parsed: Any, error: Exception | None) -> Any:
        raw.response_metadata["structured_output_method"] = method
        if self.include_raw:
            return {"raw": raw, "parsed": parsed, "parsing_error": error}
        if error is not None:
            raise error
        return parsed

    def _parsed_result(self, method: Method, raw: BaseMessage) -> Any:
        try:
            parsed = self._parse(method, raw)
        except OutputParserException as exc:
            return self._result(method, raw, None, exc)
        return self._result(method, raw, parsed, None)

    def _answer(self, method: Method) -> StreamedAnswer[AIMessageChunk]:
        """A streamed answer of ``method``: chunks added up, partial results unless ``include_raw``."""
        return StreamedAnswer(operator.add, lambda total: None if self.include_raw else self._partial(method, total))

    def _final(self, method: Method, answer: StreamedAnswer[AIMessageChunk]) -> list[Any]:
        """The parsed whole, unless the last partial result already was it; raises ``NoToolCall``."""
        final = self._parsed_result(method, answer.whole())
        return [] if final == answer.last else [final]

    # --- Runnable ------------------------------------------------------------------------------

    def invoke(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def _invoke(
        self, input: LanguageModelInput, run_manager: CallbackManagerForChainRun, config: RunnableConfig
    ) -> Any:
        child = patch_config(config, callbacks=run_manager.get_child())
        caps = self.llm.capabilities()

        def attempt(method: Method) -> Any:
            return self._parsed_result(method, self._bound(method, caps).invoke(self._messages(input, method), child))

        return run(tries(self.memory, caps), attempt)

    async def _ainvoke(
        self, input: LanguageModelInput, run_manager: AsyncCallbackManagerForChainRun, config: RunnableConfig
    ) -> Any:
        child = patch_config(config, callbacks=run_manager.get_child())
        caps = await self.llm.acapabilities()

        async def attempt(method: Method) -> Any:
            raw = await self._bound(method, caps).ainvoke(self._messages(input, method), child)
            return self._parsed_result(method, raw)

        return await arun(tries(self.memory, caps), attempt)

    def stream(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        yield from self._transform_stream_with_config(iter([input]), self._stream, config, **kwargs)

    async def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async def one() -> AsyncIterator[LanguageModelInput]:
            yield input

        async for item in self._atransform_stream_with_config(one(), self._astream, config, **kwargs):
            yield item

    def _stream(
        self, inputs: Iterator[LanguageModelInput], run_manager: CallbackManagerForChainRun, config: RunnableConfig
    ) -> Iterator[Any]:
        input = next(inputs)
        child = patch_config(config, callbacks=run_manager.get_child())
        caps = self.llm.capabilities()

        def attempt(method: Method) -> Generator[Any, None, None]:
            answer = self._answer(method)
            for chunk in self._bound(method, caps).stream(self._messages(input, method), child):
                yield from answer.feed(cast(AIMessageChunk, chunk))
            yield from self._final(method, answer)

        yield from stream(tries(self.memory, caps), attempt)

    async def _astream(
        self,
        inputs: AsyncIterator[LanguageModelInput],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> AsyncIterator[Any]:
        input = await inputs.__anext__()
        child = patch_config(config, callbacks=run_manager.get_child())
        caps = await self.llm.acapabilities()

        async def attempt(method: Method) -> AsyncGenerator[Any, None]:
            answer = self._answer(method)
            async for chunk in self._bound(method, caps).astream(self._messages(input, method), child):
                for partial in answer.feed(cast(AIMessageChunk, chunk)):
                    yield partial
            for final in self._final(method, answer):
                yield final

        async for item in astream(tries(self.memory, caps), attempt):
            yield item
