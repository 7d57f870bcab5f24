"""Structured prediction on any server: one output class, tried method by method (see ``.._structured``)."""

from __future__ import annotations

import json
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ToolCallBlock
from llama_index.core.output_parsers.base import OutputParserException
from llama_index.core.program.utils import create_flexible_model
from llama_index.core.prompts import BasePromptTemplate
from pydantic import BaseModel

from .._adapters.capabilities import ChatCapabilities
from .._adapters.structured import (
    Method,
    NoToolCall,
    StreamedAnswer,
    json_from_text,
    json_schema_format,
    schema_instruction,
)
from .._adapters.tool_calls import parse_partial_json


class StructuredJob:
    """One structured prediction: the messages, request fields and parse of each method."""

    def __init__(
        self,
        output_cls: type[BaseModel],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
        llm: Any,
    ) -> None:
        self.output_cls = output_cls
        self.schema = output_cls.model_json_schema()
        self.name = output_cls.__name__
        self.llm_kwargs = dict(llm_kwargs or {})
        self.base_messages = prompt.format_messages(llm=llm, **prompt_args)
        self._flexible = create_flexible_model(output_cls)

    def answer(self, method: Method) -> StreamedAnswer[ChatResponse]:
        """A streamed answer of ``method``: each response holds all so far; partial copies of the object."""
        return StreamedAnswer(lambda _, latest: latest, lambda response: self.partial(method, response))

    def messages(self, method: Method) -> list[ChatMessage]:
        if method != "json_prompt":
            return self.base_messages
        instruction = schema_instruction(self.schema)
        first = self.base_messages[0] if self.base_messages else None
        if first is not None and first.role == MessageRole.SYSTEM:
            merged = ChatMessage(role=MessageRole.SYSTEM, content=f"{first.content or ''}\n\n{instruction}")
            return [merged, *self.base_messages[1:]]
        return [ChatMessage(role=MessageRole.SYSTEM, content=instruction), *self.base_messages]

    def request(self, method: Method, caps: ChatCapabilities) -> dict[str, Any]:
        """The request fields of ``method`` (with the caller's ``llm_kwargs``)."""
        fields: dict[str, Any] = {}
        if method == "json_schema":
            fields["response_format"] = json_schema_format(self.name, self.schema, strict=True)
        elif method == "function_calling":
            function = {"name": self.name, "description": self.output_cls.__doc__ or "", "parameters": self.schema}
            fields["tools"] = [{"type": "function", "function": function}]
            fields["tool_choice"] = "required" if caps.forced_tools else "auto"
            fields["parallel_tool_calls"] = False
        return {**fields, **self.llm_kwargs}

    def _text(self, method: Method, response: ChatResponse) -> str:
        if method == "function_calling":
            calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock) and b.tool_name == self.name]
            if not calls:
                raise NoToolCall
            kwargs = calls[0].tool_kwargs
            return kwargs if isinstance(kwargs, str) else json.dumps(kwargs, ensure_ascii=False)
        return response.message.content or ""

    def finish(self, method: Method, response: ChatResponse) -> BaseModel:
        """The validated object of a whole answer; ``OutputParserException`` (with the text) when it does not fit."""
        text = self._text(method, response)
        try:
            value = self.output_cls.model_validate(json_from_text(text))
        except Exception as exc:
            raise OutputParserException(f"the answer does not match {self.name} ({method}): {exc}\n{text}") from exc
        return value

    def partial(self, method: Method, response: ChatResponse) -> BaseModel | None:
        """A partial copy of the object while the answer streams, or None."""
        try:
            text = self._text(method, response)
        except NoToolCall:
            return None
        value = parse_partial_json(text)
        if not isinstance(value, dict) or not value:
            return None
        try:
            return self._flexible.model_validate(value)
        except Exception:  # a partial value of the wrong type: wait for more
            return None
