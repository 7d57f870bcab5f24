"""The chat request of both chat models (``_adapters/chat_request.py``, ``chat_model.py``): one definition of
the fields, checked when the model is built."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import Field

from sie_integrations._adapters.chat_model import ChatConnection
from sie_integrations._adapters.chat_request import SETTINGS, chat_request, output_budget, settings_of, wire_tool_choice
from sie_integrations.chat import ChatCompletionRequest, ChatSettings
from tests.fakes.chat import REQUEST_FIELDS as REQUEST_FIELD_VALUES


def test_the_settings_are_every_request_field_but_model_messages_and_stream() -> None:
    assert set(SETTINGS) == set(ChatCompletionRequest.model_fields) - {"model", "messages", "stream"}
    assert {"min_tokens", "seed", "top_k", "repetition_penalty", "chat_template_kwargs"} <= set(SETTINGS)
    assert set(REQUEST_FIELD_VALUES) <= set(SETTINGS)
    assert settings_of(ChatSettings(temperature=0.0, seed=3)) == {"temperature": 0.0, "seed": 3}


def test_chat_request_layers_settings_call_then_model_and_messages() -> None:
    messages = [{"role": "user", "content": "hi"}]
    request = chat_request(
        {"temperature": 0.5, "seed": 1, "model": "ignored"},
        {"seed": 2},
        model="m",
        messages=messages,
        stream=False,
        stream_usage=True,
    )
    assert isinstance(request, ChatCompletionRequest)
    assert request.to_wire() == {"temperature": 0.5, "seed": 2, "model": "m", "messages": messages}


def test_chat_request_refuses_unknown_and_invalid_fields_before_sending() -> None:
    base: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    with pytest.raises(ValueError, match="frobnicate"):
        chat_request({}, {"frobnicate": 1}, stream_usage=True, **base)
    with pytest.raises(ValueError, match="temperature"):
        chat_request({"temperature": -1}, {}, stream_usage=True, **base)


def test_chat_request_stop_only_when_given() -> None:
    base: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream_usage": True}
    assert "stop" not in chat_request({}, {}, stream=False, **base).to_wire()
    assert "stop" not in chat_request({}, {}, stop=[], stream=False, **base).to_wire()
    assert "stop" not in chat_request({"stop": []}, {}, stream=False, **base).to_wire()
    assert chat_request({"stop": ["a"]}, {}, stop=["\n"], stream=False, **base).stop == ["\n"]


@pytest.mark.parametrize(
    ("stream", "stream_usage", "call", "options"),
    [
        (True, True, {}, {"include_usage": True}),
        (True, False, {}, None),
        (False, True, {}, None),
        (True, True, {"stream_options": {"include_usage": False}}, {"include_usage": False}),
    ],
)
def test_chat_request_asks_a_stream_for_usage(
    stream: bool, stream_usage: bool, call: dict[str, Any], options: dict[str, Any] | None
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    request = chat_request({}, call, model="m", messages=messages, stream=stream, stream_usage=stream_usage)
    assert request.to_wire().get("stream_options") == options


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, None),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        ({"type": "function", "function": {"name": "x"}}, {"type": "function", "function": {"name": "x"}}),
    ],
)
def test_wire_tool_choice(choice: str | dict[str, Any] | None, wire: str | dict[str, Any] | None) -> None:
    assert wire_tool_choice(choice) == wire


class Chat(ChatConnection):
    extra: dict[str, Any] = Field(default_factory=dict)
    _more_fields: ClassVar[str] = "extra"


def test_chat_connection_takes_every_request_field_and_refuses_unknown_ones() -> None:
    chat = Chat(base_url="http://sie.test", min_tokens=2, temperature=0.1, extra={"top_k": 5})
    assert (chat.min_tokens, chat.temperature, chat.stream_usage) == (2, 0.1, True)
    assert chat._settings() == {"min_tokens": 2, "temperature": 0.1, "top_k": 5}
    with pytest.raises(ValueError, match=r"'top_q' \(did you mean 'top_p'\?\)"):
        Chat(base_url="http://sie.test", top_q=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"Chat.extra got unknown argument\(s\) 'top_q' \(did you mean 'top_p'\?\)"):
        Chat(base_url="http://sie.test", extra={"top_q": 0.5})
    with pytest.raises(ValueError, match="top_p"):
        Chat(base_url="http://sie.test", extra={"top_p": 7})
    with pytest.raises(ValueError, match="temperature"):
        Chat(base_url="http://sie.test", temperature=-1)


def test_stream_options_go_with_streams_only() -> None:
    messages = [{"role": "user", "content": "hi"}]
    settings = {"stream_options": {"include_usage": False}}
    plain = chat_request(settings, {}, model="m", messages=messages, stream=False, stream_usage=True)
    assert "stream_options" not in plain.to_wire()
    streamed = chat_request(settings, {}, model="m", messages=messages, stream=True, stream_usage=True)
    assert streamed.to_wire()["stream_options"] == {"include_usage": False}


def test_the_output_budget_prefers_max_completion_tokens() -> None:
    assert output_budget({"max_tokens": 10, "max_completion_tokens": 5}) == 5
    assert output_budget({"max_tokens": 10}) == 10
    assert output_budget({}) is None


def test_more_fields_are_refused_when_also_given_as_arguments_and_named_when_wrong() -> None:
    with pytest.raises(ValueError, match=r"Chat.extra sets 'temperature', also given as an argument"):
        Chat(base_url="http://sie.test", temperature=0.1, extra={"temperature": 0.5})
    with pytest.raises(ValueError, match=r"(?s)Chat.extra: .*top_p"):
        Chat(base_url="http://sie.test", extra={"top_p": 7})
