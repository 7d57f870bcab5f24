"""Request and response models of ``/v1/chat/completions`` (OpenAI-compatible, with SIE extensions)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from .sampling import _Forbid, _Sampling

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatSettings",
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


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Sent(_Open):
    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")


# --- request -----------------------------------------------------------------------------


class FunctionCall(_Sent):
    """The function a tool call invokes."""

    name: str | None = None
    """The tool's name."""
    arguments: str = ""
    """The arguments, as a JSON-encoded string (parse it with ``json.loads``)."""


class ToolCall(_Sent):
    """A tool call made by the assistant."""

    id: str | None = None
    """The call's id; a ``tool`` message answers it with ``tool_call_id``."""
    type: str = "function"
    """Always ``"function"``."""
    function: FunctionCall
    """The function called, and its arguments."""


class ChatMessage(_Sent):
    """A message sent to the server. Content may be a string or a list of content parts."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    """Who speaks: ``"system"``, ``"developer"`` (read as system), ``"user"``, ``"assistant"`` or ``"tool"``."""
    content: StrictStr | list[dict[str, Any]] | None = None  # strict: bytes are not quietly decoded
    """The text, or content parts (``{"type": "text", ...}``, ``{"type": "image_url", ...}`` with a base64
    ``data:`` URI); None only on an assistant message with ``tool_calls``."""
    name: str | None = None
    """An optional name of the speaker."""
    tool_calls: list[ToolCall] | None = None
    """On an assistant message being replayed: the tool calls it made."""
    tool_call_id: str | None = None
    """On a ``tool`` message (required there, refused elsewhere): the id of the call it answers."""
    reasoning_content: str | None = None
    """On an assistant message being replayed: the model's reasoning (Qwen3 templates show it in a tool loop)."""

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
    """A function the model may call."""

    name: str = Field(min_length=1)
    """The name: 1 to 64 letters, digits, ``_``, ``.`` or ``-``."""
    description: str | None = None
    """What the function does, for the model to decide when to call it."""
    parameters: dict[str, Any] | None = None
    """The arguments, as a JSON Schema of type ``object``."""
    strict: bool | None = None
    """Ask the server to hold the arguments to the schema exactly."""

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
    """A tool offered to the model."""

    type: Literal["function"] = "function"
    """Always ``"function"``."""
    function: FunctionDefinition
    """The function."""


class StreamOptions(_Forbid):
    """Options of a streamed completion."""

    include_usage: bool = True
    """Send a last chunk, with no choices, that carries the token usage."""


class NamedToolChoice(_Forbid):
    class _Function(_Forbid):
        name: str

    type: Literal["function"] = "function"
    function: _Function


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class ChatSettings(_Sampling):
    """Every field of ``/v1/chat/completions`` but the model, the messages and ``stream``: what a chat model may
    set once for every request; each is sent only when set, and unknown fields are refused."""

    max_completion_tokens: int | None = Field(default=None, ge=1)
    """The most tokens to generate; preferred over ``max_tokens`` when both are set."""
    max_tokens: int | None = Field(default=None, ge=1)
    """The most tokens to generate (the older name of ``max_completion_tokens``)."""
    min_tokens: int | None = Field(default=None, ge=0)
    """The fewest tokens to generate before a stop may end generation (standalone server)."""
    top_k: int | None = Field(default=None, ge=1)
    """Sample from the ``top_k`` most likely tokens only."""
    repetition_penalty: float | None = Field(default=None, gt=0, le=2)
    """Penalty on repeated tokens, in ``(0, 2]``; 1.0 is none."""
    n: int | None = Field(default=None, ge=1, le=128)
    """Completions to generate, 1 to 128 (1 when streaming)."""
    best_of: int | None = Field(default=None, ge=1, le=128)
    """Candidates to generate server-side, returning the best ``n`` (gateway only; not with streaming)."""
    tools: list[ToolDefinition] | None = None
    """The tools the model may call."""
    tool_choice: ToolChoice | None = None
    """``"auto"``, ``"none"``, ``"required"`` (needs ``tools``) or ``{"type": "function", "function": {"name":
    ...}}`` naming one of the ``tools``."""
    parallel_tool_calls: bool | None = None
    """Allow several tool calls in one turn (the server's default: allowed)."""
    response_format: dict[str, Any] | None = None
    """``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {"name":
    ..., "schema": {...}, "strict": ...}}``."""
    stream_options: StreamOptions | None = None
    """Options of a streamed completion (``include_usage``)."""
    include_reasoning: bool | None = None
    """Ask for the model's reasoning, returned as ``reasoning_content``."""
    chat_template_kwargs: dict[str, Any] | None = None
    """Arguments for the model's chat template, such as ``{"enable_thinking": False}`` (standalone server)."""
    schema_in_prompt: bool | None = None
    """Also put the ``response_format`` schema into the prompt (standalone server)."""
    user: str | None = None
    """An id of the end user, for the server's logs."""

    @field_validator("response_format")
    @classmethod
    def _check_response_format(cls, response_format: dict[str, Any] | None) -> dict[str, Any] | None:
        if response_format is None:
            return None
        kind = response_format.get("type")
        if kind not in ("text", "json_object", "json_schema"):
            raise ValueError(f"response_format type must be text, json_object or json_schema, not {kind!r}")
        if kind == "json_schema" and not isinstance((response_format.get("json_schema") or {}).get("schema"), dict):
            raise ValueError("response_format json_schema needs json_schema.schema (an object)")
        return response_format


class ChatCompletionRequest(ChatSettings):
    """The full field set of ``/v1/chat/completions``: ``ChatSettings``, model, messages, ``stream``."""

    model: str = Field(min_length=1)
    """The model id."""
    messages: list[ChatMessage] = Field(min_length=1)
    """The conversation so far (at least one message)."""
    stream: bool | None = None
    """Set by ``stream_chat_completions``; ``chat_completions`` refuses ``True``."""

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
        return self

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: only the fields that were set."""
        return self.model_dump(mode="json", exclude_none=True)


# --- responses ---------------------------------------------------------------------------


class ChatUsage(_Open):
    """The token counts of a completion."""

    prompt_tokens: int = 0
    """Tokens of the prompt (the rendered messages and tools)."""
    completion_tokens: int = 0
    """Tokens generated."""
    total_tokens: int = 0
    """Both together."""
    prompt_tokens_details: dict[str, Any] | None = None
    """More about the prompt tokens, such as ``cached_tokens``, when sent."""
    completion_tokens_details: dict[str, Any] | None = None
    """More about the generated tokens, when sent."""


class ResponseMessage(_Open):
    """The assistant's answer in a completion."""

    role: str = "assistant"
    """Always ``"assistant"``."""
    content: str | None = None
    """The text; None when the answer is only tool calls."""
    tool_calls: list[ToolCall] | None = None
    """The tool calls the model made, if any."""
    reasoning_content: str | None = None
    """The model's reasoning, when asked for with ``include_reasoning``."""


class Choice(_Open):
    """One completion of a ``ChatCompletion``."""

    index: int = 0
    """Its position among the ``n`` completions."""
    message: ResponseMessage
    """The answer."""
    finish_reason: str | None = None
    """Why generation stopped: ``"stop"``, ``"length"``, ``"tool_calls"`` or ``"content_filter"``."""
    logprobs: Any = None
    """Token log probabilities, when asked for with ``logprobs``."""


class _Envelope(_Open):
    """The fields a completion and a stream chunk share (each narrows ``object`` and ``choices``)."""

    id: str = ""
    """The completion's id (the same on every chunk of a stream)."""
    object: str
    created: int = 0
    """When it was created, in Unix seconds."""
    model: str = ""
    """The model that answered."""
    system_fingerprint: str | None = None
    """An id of the server configuration that answered, when sent."""
    choices: list[Any]
    usage: ChatUsage | None = None
    """Token counts: on a completion; on a stream, only on the last chunk, with ``include_usage``."""


class ChatCompletion(_Envelope):
    """The answer of ``chat_completions``: one choice per completion (``n``), with the usage."""

    object: str = "chat.completion"
    """Always ``"chat.completion"``."""
    choices: list[Choice]
    """The completions, one per ``n`` (at least one)."""


class FunctionCallDelta(_Open):
    """A piece of a streamed function call."""

    name: str | None = None
    """The tool's name, on the call's first delta."""
    arguments: str | None = None
    """The next piece of the JSON-encoded arguments; concatenate them in order."""


class ToolCallDelta(_Open):
    """A piece of a streamed tool call; the pieces of one call share its ``index``."""

    index: int | None = None
    """Which call of the turn this piece belongs to."""
    id: str | None = None
    """The call's id, on its first delta."""
    type: str | None = None
    """``"function"``, on the call's first delta."""
    function: FunctionCallDelta | None = None
    """The name and the next piece of the arguments."""


class Delta(_Open):
    """What a stream chunk adds to the answer."""

    role: str | None = None
    """``"assistant"``, on the first chunk only."""
    content: str | None = None
    """The next piece of the text."""
    tool_calls: list[ToolCallDelta] | None = None
    """Pieces of tool calls."""
    reasoning_content: str | None = None
    """The next piece of the model's reasoning, when asked for with ``include_reasoning``."""


class ChunkChoice(_Open):
    """One completion's part of a stream chunk."""

    index: int = 0
    """The completion's position (always 0: a stream has one)."""
    delta: Delta = Field(default_factory=Delta)
    """What this chunk adds."""
    finish_reason: str | None = None
    """On the completion's last chunk: why generation stopped (see ``Choice.finish_reason``)."""
    logprobs: Any = None
    """Token log probabilities, when asked for with ``logprobs``."""


class ChatCompletionChunk(_Envelope):
    """One event of ``stream_chat_completions``; with ``stream_options.include_usage``, the last has no choices
    and carries the ``usage``."""

    object: str = "chat.completion.chunk"
    """Always ``"chat.completion.chunk"``."""
    choices: list[ChunkChoice] = Field(default_factory=list)
    """The completion's part of this chunk; empty on the usage chunk."""
    request_id: str | None = None
    """The server's id of the request, when sent."""
