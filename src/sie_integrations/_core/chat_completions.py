"""``/v1/chat/completions``: validated chat requests and their answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..chat import ChatCompletion, ChatCompletionRequest
from .answers import decode_object, malformed
from .call import Call, check_finite, generation_post


def chat_request(request: ChatCompletionRequest | Mapping[str, Any]) -> ChatCompletionRequest:
    """Validate a request (a model or a dict); unknown or invalid fields raise ``ValueError``."""
    if isinstance(request, ChatCompletionRequest):
        return request
    try:
        return ChatCompletionRequest.model_validate(request)
    except ValidationError as exc:
        raise ValueError(f"invalid chat completion request: {exc}") from exc


def chat_call(request: ChatCompletionRequest | Mapping[str, Any], *, stream: bool) -> Call[ChatCompletion]:
    checked = chat_request(request)
    try:
        body = checked.to_wire()
    except ValueError as exc:  # PydanticSerializationError: a value (a tool default, say) JSON cannot carry
        raise ValueError(f"invalid chat completion request: not JSON-serialisable: {exc}") from exc
    check_finite(body, "request")  # JSON has no NaN (dumping would refuse one with a vaguer message)
    if stream:
        if (checked.n or 1) > 1:
            raise ValueError("invalid chat completion request: n must be 1 when streaming")
        body["stream"] = True
    else:
        if checked.stream:
            raise ValueError("stream=True: use stream_chat_completions() for a streamed answer")
        body.pop("stream", None)
    return generation_post("/v1/chat/completions", body, parse_chat, stream=stream)


def parse_chat(content: bytes, content_type: str | None) -> ChatCompletion:
    body = decode_object(content, content_type, "chat")
    try:
        completion = ChatCompletion.model_validate(body)
    except ValidationError as exc:
        raise malformed("chat", str(exc)) from exc
    if not completion.choices:  # only a streamed usage chunk has no choices
        raise malformed("chat", "a completion without choices")
    return completion
