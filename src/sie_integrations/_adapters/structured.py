"""Structured output on any server: which method to try next (one flow, driven by thin sync and async shells),
when a method was refused, what each method sends, and how a streamed answer's partial results are given."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ..errors import SIEError
from .capabilities import ChatCapabilities

Method = Literal["json_schema", "function_calling", "json_prompt"]
_REFUSED_FIELD = {"json_schema": "response_format", "function_calling": "tool_choice"}
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")
Tries = Generator[Method, BaseException | None, None]


def plan(caps: ChatCapabilities, refused: Collection[str], preferred: str | None = None) -> list[Method]:
    """The methods to try, best first: constrained JSON, then tool calling, then the schema in the prompt.

    Methods the capabilities rule out or the server refused are left out; ``preferred`` (the one that
    worked last) goes first. The schema in the prompt is always there, last unless preferred.
    """
    methods: list[Method] = []
    if caps.constrained_json:
        methods.append("json_schema")
    if caps.tools:
        methods.append("function_calling")
    methods.append("json_prompt")
    methods = [m for m in methods if m not in refused or m == "json_prompt"]
    if preferred in methods:
        methods.remove(preferred)
        methods.insert(0, preferred)
    return methods


class NoToolCall(Exception):
    """The model answered without calling the schema tool: try the next method."""


@dataclass
class StructuredMemory:
    """What one chat model learnt about structured output: the methods refused, and the one that answered last."""

    refused: set[str] = field(default_factory=set)
    last: str | None = None


def tries(memory: StructuredMemory, caps: ChatCapabilities) -> Tries:
    """The structured output methods to try, best first: the flow ``run``, ``arun``, ``stream`` and ``astream``
    drive.

    It yields a method; the shell tries it and sends back None when it answered (then it is tried first next
    time), or the exception the try raised. ``NoToolCall``, or the server refusing the method before answering
    (remembered, so it is not tried again), moves on to the next method; any other exception is raised, and so
    is the last method's.
    """
    methods = plan(caps, memory.refused, memory.last)
    for i, method in enumerate(methods):
        error = yield method
        if error is None:
            memory.last = method
            return
        refused = isinstance(error, SIEError) and is_refusal(method, error)
        if refused:
            memory.refused.add(method)
        if i == len(methods) - 1 or not (refused or isinstance(error, NoToolCall)):
            raise error


def _answered(flow: Tries) -> None:
    with contextlib.suppress(StopIteration):
        flow.send(None)


def stream(flow: Tries, attempt: Callable[[Method], Generator[T, None, None]]) -> Generator[T, None, None]:
    """What ``attempt`` yields for each method ``flow`` gives, until one answers.

    A method answered when its try ends, or when the consumer stops reading after it gave something.
    """
    method = next(flow)
    while True:
        given = False
        try:
            with contextlib.closing(attempt(method)) as items:
                for item in items:
                    given = True
                    yield item
        except GeneratorExit:
            if given:
                _answered(flow)
            raise
        except Exception as error:
            method = flow.send(error)
        else:
            _answered(flow)
            return


async def astream(flow: Tries, attempt: Callable[[Method], AsyncGenerator[T, None]]) -> AsyncGenerator[T, None]:
    """Async ``stream``."""
    method = next(flow)
    while True:
        given = False
        try:
            async with contextlib.aclosing(attempt(method)) as items:
                async for item in items:
                    given = True
                    yield item
        except GeneratorExit:
            if given:
                _answered(flow)
            raise
        except Exception as error:
            method = flow.send(error)
        else:
            _answered(flow)
            return


def run(flow: Tries, attempt: Callable[[Method], R]) -> R:
    """The result of ``attempt`` for the first method ``flow`` gives that answers."""

    def once(method: Method) -> Generator[R, None, None]:
        yield attempt(method)

    (result,) = stream(flow, once)
    return result


async def arun(flow: Tries, attempt: Callable[[Method], Awaitable[R]]) -> R:
    """Async ``run``."""

    async def once(method: Method) -> AsyncGenerator[R, None]:
        yield await attempt(method)

    (result,) = [item async for item in astream(flow, once)]
    return result


class StreamedAnswer(Generic[C]):
    """One method's streamed answer: the chunks so far ``combine``d, and each new ``partial`` result once."""

    def __init__(self, combine: Callable[[C, C], C], partial: Callable[[C], Any]) -> None:
        self._combine = combine
        self._partial = partial
        self.total: C | None = None
        self.last: Any = None
        """The last partial result given."""

    def feed(self, chunk: C) -> list[Any]:
        """What to yield for this chunk: a partial result unlike the last one, or nothing."""
        self.total = chunk if self.total is None else self._combine(self.total, chunk)
        partial = self._partial(self.total)
        if partial is None or partial == self.last:
            return []
        self.last = partial
        return [partial]

    def whole(self) -> C:
        """All that arrived; ``NoToolCall`` when nothing did (so the next method is tried)."""
        if self.total is None:
            raise NoToolCall
        return self.total


def is_refusal(method: Method, error: SIEError) -> bool:
    """Whether the server refused what ``method`` needs before generating anything.

    A 400 ``unsupported_field`` (or one naming ``response_format`` / ``tool_choice``), or the 502 a
    rendering server sends when its upstream refuses. An error inside a stream has no HTTP status: by
    then the method was taken, so it is never a refusal.
    """
    field = _REFUSED_FIELD.get(method)
    if field is None:
        return False
    status = getattr(error, "status_code", None)
    code = (error.code or "").lower()
    if status == 400:
        return error.param == field or (code == "unsupported_field" and error.param in (None, field))
    return status == 502 and code == "upstream_error"


def json_schema_format(
    name: str, schema: dict[str, Any], *, description: str | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """The ``response_format`` of ``json_schema``: answers constrained to ``schema``."""
    json_schema: dict[str, Any] = {"name": name, "schema": schema}
    if description:
        json_schema["description"] = description
    if strict is not None:
        json_schema["strict"] = strict
    return {"type": "json_schema", "json_schema": json_schema}


def schema_instruction(schema: dict[str, Any]) -> str:
    """The system instruction of ``json_prompt``: answer with one JSON object matching the schema."""
    return (
        "Answer with a single JSON object that matches this JSON Schema, and nothing else "
        "(no prose, no code fence):\n" + json.dumps(schema, ensure_ascii=False)
    )


def json_from_text(text: str) -> Any:
    """The JSON value in a model's answer: the whole text, a fenced block, or the outermost ``{...}``."""
    candidates = [text.strip()]
    fenced = _FENCE.match(text)
    if fenced:
        candidates.append(fenced.group(1))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    raise ValueError(f"the answer holds no JSON object: {text[:200]!r}")
