"""Hostile input tables of the adapters: what a row is, the checks rows use, and how each kind of row runs.

A row is one hostile input to one public entry point, run against ``FakeSIE``, sync and async. It either expects
a clear exception raised before anything is sent (the fake saw no request; the exception type and a fragment of
its message naming the problem are checked), or a correct result, checked on what the fake received and what came
back. An enormous text is sent whole, and the server's ``INPUT_TOO_LONG`` comes back typed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sie_integrations import InputTooLongError
from tests.fakes.sie import FakeSIE, vector_of

NAN, INF = math.nan, math.inf
MODES = ["sync", "async"]
HUGE = "x" * (5 * 2**20)  # 5 MiB of text: sent as is, refused by the (simulated) server
HUGE_MESSAGE = "input of 1310720 tokens exceeds the model's 8192"


def too_long(route: str, number: int, body: Any) -> httpx.Response:
    """A 400 INPUT_TOO_LONG in the route's envelope: OpenAI-style on chat, ``detail`` on the native routes."""
    fields = {"code": "INPUT_TOO_LONG", "message": HUGE_MESSAGE}
    if route == "chat":
        return httpx.Response(400, json={"error": {**fields, "type": "invalid_request_error", "param": "messages"}})
    return httpx.Response(400, json={"detail": fields})


@dataclass(frozen=True)
class Case:
    """One hostile input: ``run(server, mode)``; refused with ``error``/``match``, or ``check``ed."""

    id: str
    run: Callable[[FakeSIE, str], Awaitable[Any]]
    error: type[Exception] | None = None
    match: str = ""
    check: Callable[[Any, list[Any]], None] | None = None


def embedded(*texts: str) -> Callable[[Any, list[Any]], None]:
    """One vector per text, in input order; every text arrived verbatim."""

    def check(result: Any, bodies: list[Any]) -> None:
        sent = [item["text"] for body in bodies for item in body["items"]]
        assert sorted(sent) == sorted(texts)  # batches may be in flight together, in any order
        assert [list(v) for v in result] == [vector_of(t) for t in texts]

    return check


def chat_body(predicate: Callable[[dict[str, Any]], bool]) -> Callable[[Any, list[Any]], None]:
    """One chat request whose body satisfies ``predicate``; the adapter returned the answer."""

    def check(result: Any, bodies: list[Any]) -> None:
        (body,) = bodies
        assert predicate(body), body
        text = result.content if hasattr(result, "content") else result.message.content
        assert text == f"{len(body['messages'])} messages"

    return check


def holds(predicate: Callable[[Any, list[Any]], bool]) -> Callable[[Any, list[Any]], None]:
    """``predicate(result, request bodies)`` is true."""

    def check(result: Any, bodies: list[Any]) -> None:
        assert predicate(result, bodies), (result, bodies)

    return check


def history_arguments(arguments: str) -> Callable[[dict[str, Any]], bool]:
    """The replayed assistant turn (message 1) carries these tool-call arguments, verbatim."""
    return lambda body: body["messages"][1]["tool_calls"][0]["function"]["arguments"] == arguments


async def refused(row: Case, mode: str) -> None:
    """The row raises its error, and the fake server saw nothing."""
    server = FakeSIE()
    assert row.error is not None
    with pytest.raises(row.error, match=row.match):
        await row.run(server, mode)
    assert server.requests == []


async def sent(row: Case, mode: str) -> None:
    """The fake server received the input verbatim, and the answer came back in order."""
    server = FakeSIE()
    result = await row.run(server, mode)
    assert row.check is not None
    row.check(result, server.bodies)


async def empty(row: Case, mode: str) -> None:
    """An empty list gives an empty list; the fake server saw no request."""
    server = FakeSIE()
    assert list(await row.run(server, mode)) == []
    assert server.requests == []


async def enormous(row: Case, mode: str) -> InputTooLongError:
    """A 5 MiB text reaches the server whole, once; its 400 INPUT_TOO_LONG becomes ``InputTooLongError``."""
    server = FakeSIE(refuse=too_long)
    with pytest.raises(InputTooLongError) as caught:
        await row.run(server, mode)
    error = caught.value
    assert (error.status_code, error.code) == (400, "INPUT_TOO_LONG")
    assert HUGE_MESSAGE in error.message
    assert len(server.requests) == 1  # a 400 is never retried
    assert len(server.requests[0].content) > len(HUGE)
    assert HUGE in json.dumps(server.bodies[0])  # the whole text, not a truncated one
    return error


def check_tables(tables: dict[str, list[Any]], least: int) -> None:
    """Every table has rows and unique ids (so each row is one distinct hostile input); ``least`` rows in all."""
    for name, rows in tables.items():
        ids = [getattr(r, "id", r) for r in rows]
        assert ids, name
        assert len(set(map(repr, ids))) == len(ids), name
    assert sum(len(rows) for rows in tables.values()) >= least
