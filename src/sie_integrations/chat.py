"""Request and response models of ``/v1/chat/completions`` (OpenAI-compatible, with SIE extensions)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatUsage",
    "Choice",
    "ChunkChoice",
    "Delta",
    "FunctionCall",
    "FunctionDefinition",
    "ResponseMessage",
    "StreamOptions",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
]


_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class _Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- request -----------------------------------------------------------------------------


class FunctionCall(_Open):
    name: str | None = None
    arguments: str = ""


class ToolCall(_Open):
    id: str | None = None
    type: str = "function"
    function: FunctionCall


class ChatMessage(_Open):
    """A message sent to the server. Content may be a string or a list of content parts."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None  # strict: bytes are not quietly decoded
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _check_tool_fields(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a 'tool' message needs a non-empty 'tool_call_id'")
        if self.role != "tool" and self.tool_call_id is not None:
            raise ValueError(f"'tool_call_id' is only allowed on 'tool' messages, not {self.role!r}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("'tool_calls' is only allowed on 'assistant' messages")
        if self.content is None and not self.tool_calls:
            raise ValueError(f"a {self.role!r} message needs content (null only with 'tool_calls')")
        return self


class FunctionDefinition(_Forbid):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not _TOOL_NAME.fullmatch(name):
            raise ValueError(f"tool name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
        return name

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        if parameters is not None and parameters.get("type", "object") != "object":
            raise ValueError(f"tool parameters must be a JSON Schema of type 'object', not {parameters['type']!r}")
        return parameters


class ToolDefinition(_Forbid):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class StreamOptions(_Forbid):
    include_usage: bool = True


class NamedToolChoice(_Forbid):
    class _Function(_Forbid):
        name: str

    type: Literal["function"] = "function"
    function: _Function


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class ChatCompletionRequest(_Forbid):
    """The full field set of ``/v1/chat/completions``; unknown fields are refused."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    repetition_penalty: float | None = Field(default=None, gt=0, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    best_of: int | None = Field(default=None, ge=1, le=128)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, float] | None = None
    seed: int | None = None
    user: str | None = None
    safety_identifier: str | None = None
    lora_adapter: str | None = Field(default=None, min_length=1)
    routing_key: str | None = None
    prompt_cache_key: str | None = None
    include_reasoning: bool | None = None
    min_tokens: int | None = Field(default=None, ge=0)
    chat_template_kwargs: dict[str, Any] | None = None
    schema_in_prompt: bool | None = None

    @field_validator("model")
    @classmethod
    def _check_model(cls, model: str) -> str:
        if not model.strip():
            raise ValueError("model must not be blank")
        return model

    @model_validator(mode="after")
    def _check_consistency(self) -> ChatCompletionRequest:
        if self.tool_choice is not None and not isinstance(self.tool_choice, str):
            names = {t.function.name for t in self.tools or []}
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names {self.tool_choice.function.name!r}, which is not among the declared tools"
                )
        if self.tool_choice == "required" and not self.tools:
            raise ValueError("tool_choice 'required' needs at least one tool")
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs=True")
        if self.response_format is not None:
            kind = self.response_format.get("type")
            if kind not in ("text", "json_object", "json_schema"):
                raise ValueError(f"response_format type must be text, json_object or json_schema, not {kind!r}")
            if kind == "json_schema" and not isinstance(
                (self.response_format.get("json_schema") or {}).get("schema"), dict
            ):
                raise ValueError("response_format json_schema needs json_schema.schema (an object)")
        return self

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: only the fields that were set."""
        return self.model_dump(mode="json", exclude_none=True)


# --- responses ---------------------------------------------------------------------------


class ChatUsage(_Open):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class ResponseMessage(_Open):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    reasoning_content: str | None = None


class Choice(_Open):
    index: int = 0
    message: ResponseMessage
    finish_reason: str | None = None
    logprobs: Any = None


class _Envelope(_Open):
    """The fields a completion and a stream chunk share (each narrows ``object`` and ``choices``)."""

    id: str = ""
    object: str
    created: int = 0
    model: str = ""
    system_fingerprint: str | None = None
    choices: list[Any]
    usage: ChatUsage | None = None


class ChatCompletion(_Envelope):
    object: str = "chat.completion"
    choices: list[Choice]


class FunctionCallDelta(_Open):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Open):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class Delta(_Open):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    reasoning_content: str | None = None


class ChunkChoice(_Open):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(_Envelope):
    object: str = "chat.completion.chunk"
    choices: list[ChunkChoice] = Field(default_factory=list)
    request_id: str | None = None
