"""Structured output (``_adapters/structured.py``): the flow of methods to try, its sync and async shells, and
the helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from sie_integrations import RequestError, SIEStreamError
from sie_integrations._adapters.capabilities import UNKNOWN, ChatCapabilities
from sie_integrations._adapters.structured import (
    NoToolCall,
    StreamedAnswer,
    StructuredMemory,
    arun,
    astream,
    is_refusal,
    json_from_text,
    json_schema_format,
    plan,
    run,
    stream,
    tries,
)


def test_json_schema_format() -> None:
    schema = {"type": "object"}
    assert json_schema_format("W", schema) == {"type": "json_schema", "json_schema": {"name": "W", "schema": schema}}
    full = json_schema_format("W", schema, description="The weather.", strict=False)["json_schema"]
    assert list(full.items()) == [("name", "W"), ("schema", schema), ("description", "The weather."), ("strict", False)]
    assert "description" not in json_schema_format("W", schema, description="")["json_schema"]


def test_streamed_answer_gives_each_new_partial_once() -> None:
    answer: StreamedAnswer[str] = StreamedAnswer(lambda a, b: a + b, lambda text: text.rstrip(",") or None)
    with pytest.raises(NoToolCall):
        answer.whole()
    assert [answer.feed(chunk) for chunk in ["", "a", ",", "b"]] == [[], ["a"], [], ["a,b"]]
    assert (answer.whole(), answer.last) == ("a,b", "a,b")


def refusal() -> RequestError:
    return RequestError("no", status_code=400, code="unsupported_field", param="response_format")


WEATHER = '{"city": "Paris", "temp_c": 21}'
ALL = ChatCapabilities(known=True, tools=True, grammar=frozenset({"json_schema"}))


def test_tries_moves_on_after_a_refusal_or_no_tool_call_and_remembers() -> None:
    memory = StructuredMemory()
    flow = tries(memory, ALL)
    assert next(flow) == "json_schema"
    assert flow.send(refusal()) == "function_calling"
    assert flow.send(NoToolCall()) == "json_prompt"
    with pytest.raises(StopIteration):
        flow.send(None)
    assert (memory.refused, memory.last) == ({"json_schema"}, "json_prompt")
    assert next(tries(memory, ALL)) == "json_prompt"  # the method that answered goes first next time


def test_tries_raises_any_other_error_and_the_last_methods() -> None:
    memory = StructuredMemory()
    flow = tries(memory, ALL)
    next(flow)
    with pytest.raises(RequestError, match="bad"):
        flow.send(RequestError("bad", status_code=400, code="INVALID_INPUT", param="messages"))
    flow = tries(memory, ChatCapabilities(known=True, tools=False))
    assert next(flow) == "json_prompt"
    with pytest.raises(ValueError, match="x"):
        flow.send(ValueError("x"))
    assert (memory.refused, memory.last) == (set(), None)


def test_a_stream_error_is_never_a_refusal() -> None:
    streamed = SIEStreamError("no", code="unsupported_field", param="response_format")
    assert not is_refusal("json_schema", streamed)
    memory = StructuredMemory()
    flow = tries(memory, ALL)
    next(flow)
    with pytest.raises(SIEStreamError):
        flow.send(streamed)


def attempts(answers: dict[str, BaseException | list[str]]) -> tuple[list[str], Any]:
    """A try per method: yields the method's items, or raises its error; the methods tried, in order."""
    tried: list[str] = []

    def attempt(method: str) -> Iterator[str]:
        tried.append(method)
        answer = answers[method]
        if isinstance(answer, BaseException):
            raise answer
        yield from answer

    return tried, attempt


def test_the_shells_give_the_first_answer_and_raise_as_the_flow_says() -> None:
    tried, attempt = attempts({"json_schema": refusal(), "function_calling": ["a", "b"], "json_prompt": ["c"]})
    assert list(stream(tries(StructuredMemory(), ALL), attempt)) == ["a", "b"]
    assert tried == ["json_schema", "function_calling"]
    tried, attempt = attempts({"json_schema": NoToolCall(), "function_calling": ["x"], "json_prompt": ["y"]})
    assert run(tries(StructuredMemory(), ALL), lambda m: list(attempt(m))) == ["x"]
    _, attempt = attempts({"json_schema": ValueError("unparsable"), "function_calling": ["x"], "json_prompt": []})
    with pytest.raises(ValueError, match="unparsable"):
        list(stream(tries(StructuredMemory(), ALL), attempt))


async def test_the_async_shells_give_the_first_answer_and_raise_as_the_flow_says() -> None:
    tried, attempt = attempts({"json_schema": refusal(), "function_calling": NoToolCall(), "json_prompt": ["c", "d"]})

    async def aattempt(method: str) -> AsyncIterator[str]:
        for item in attempt(method):
            yield item

    async def once(method: str) -> list[str]:
        return [item async for item in aattempt(method)]

    assert [item async for item in astream(tries(StructuredMemory(), ALL), aattempt)] == ["c", "d"]
    assert tried == ["json_schema", "function_calling", "json_prompt"]
    assert await arun(tries(StructuredMemory(), ALL), once) == ["c", "d"]
    _, attempt = attempts({"json_schema": ValueError("unparsable"), "function_calling": [], "json_prompt": []})
    with pytest.raises(ValueError, match="unparsable"):
        await arun(tries(StructuredMemory(), ALL), once)


def test_plan_follows_the_capabilities_and_what_was_learnt() -> None:
    cpu = ChatCapabilities(known=True, tools=True, grammar=frozenset())
    gpu = ChatCapabilities(known=True, tools=True, grammar=frozenset({"json_schema", "regex"}))
    assert plan(gpu, set()) == ["json_schema", "function_calling", "json_prompt"]
    assert plan(cpu, set()) == ["function_calling", "json_prompt"]
    assert plan(ChatCapabilities(known=True, tools=False), set()) == ["json_prompt"]
    assert plan(UNKNOWN, set()) == ["json_schema", "function_calling", "json_prompt"]
    assert plan(UNKNOWN, {"json_schema"}) == ["function_calling", "json_prompt"]
    assert plan(cpu, set(), preferred="json_prompt") == ["json_prompt", "function_calling"]
    assert plan(cpu, {"json_prompt"}) == ["function_calling", "json_prompt"]  # the prompt is never ruled out


def test_refusals_are_400_naming_the_field_or_the_rendered_502() -> None:
    def error(status: int, code: str, param: str | None) -> RequestError:
        return RequestError("no", status_code=status, code=code, param=param)

    assert is_refusal("json_schema", error(400, "unsupported_field", "response_format"))
    assert is_refusal("function_calling", error(400, "unsupported_field", "tool_choice"))
    assert not is_refusal("function_calling", error(400, "unsupported_field", "response_format"))
    assert not is_refusal("json_schema", error(400, "INVALID_INPUT", "messages"))
    assert is_refusal("json_schema", error(502, "upstream_error", None))
    assert not is_refusal("json_prompt", error(502, "upstream_error", None))


def test_json_is_found_in_plain_fenced_and_wrapped_answers() -> None:
    assert json_from_text(WEATHER) == {"city": "Paris", "temp_c": 21}
    assert json_from_text(f"```json\n{WEATHER}\n```") == {"city": "Paris", "temp_c": 21}
    assert json_from_text(f"Sure! {WEATHER} Anything else?") == {"city": "Paris", "temp_c": 21}
    with pytest.raises(ValueError, match="no JSON object"):
        json_from_text("It is sunny.")


def test_a_consumer_that_stops_early_closes_the_try_and_counts_it_as_answered() -> None:
    closed: list[str] = []

    def attempt(method: str) -> Iterator[str]:
        try:
            yield "partial"
            yield "whole"
        finally:
            closed.append(method)

    memory = StructuredMemory()
    items = stream(tries(memory, ALL), attempt)
    assert next(items) == "partial"
    items.close()
    assert closed == ["json_schema"]  # at once, not when garbage collected
    assert memory.last == "json_schema"


async def test_an_async_consumer_that_stops_early_closes_the_try_at_once() -> None:
    closed: list[str] = []

    async def attempt(method: str) -> AsyncIterator[str]:
        try:
            yield "partial"
            yield "whole"
        finally:
            closed.append(method)

    memory = StructuredMemory()
    items = astream(tries(memory, ALL), attempt)
    assert await items.__anext__() == "partial"
    await items.aclose()
    assert closed == ["json_schema"]
    assert memory.last == "json_schema"
