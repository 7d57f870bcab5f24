"""Hostile responses to the client, table by table (``tests/fakes/bad_answers.py``), from a scripted server.

Each crafted answer must end in the library's typed error (``RequestError`` with code ``MALFORMED_RESPONSE`` or
``<WHAT>_RESULT_COUNT_MISMATCH``, or the typed error of a per-item failure), never in a partial or reordered
result. The few lenient results are tests of their own, with what they return checked.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from sie_integrations import AsyncSIEClient, RequestError, SIEClient
from tests.fakes.bad_answers import (
    ABSURD,
    CHAT_BAD,
    COUNT,
    ENCODE_BAD,
    EXTRACT_BAD,
    MALFORMED,
    OTHER_BAD,
    SCORE_BAD,
    TOOL_ARGUMENTS,
    Bad,
    answering,
    entry,
    raw,
    scores,
    tool_completion,
)
from tests.fakes.scripted import BASE_URL, Harness, MockServer
from tests.support.hostile import MODES

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")
MEMORY_LIMIT = 50 * 2**20
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("row", ENCODE_BAD, ids=lambda r: r.id)
async def test_encode_refuses_hostile_body(sie: Harness, row: Bad) -> None:
    """The server answers encode with a crafted body: a typed error, no (partial) result."""
    sie.server.then(lambda request: row.body.response())
    with pytest.raises(row.error) as caught:
        await sie.call(sie.client().encode("m", ["a", "b"]))
    assert caught.value.code == row.code
    assert sie.server.count == 1  # a malformed answer is not a reason to send again


def _tracing_peak(run: Callable[[], Any]) -> int:
    """Peak traced memory while ``run`` executes (bytes)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()


@pytest.mark.parametrize("row", ABSURD, ids=lambda r: r.id)
def test_absurd_declared_sizes_fail_fast_in_bounded_memory(sie_server: MockServer, row: Bad) -> None:
    """The server declares sizes nothing backs: RequestError, and peak memory stays under 50 MB."""
    sie_server.then(lambda request: row.body.response())
    client = SIEClient(BASE_URL, http_client=sie_server.client())
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.encode("m", ["a", "b"])
        except RequestError as exc:
            errors.append(exc)

    peak = _tracing_peak(run)
    assert len(errors) == 1, "the absurd body was accepted"
    assert errors[0].code in (MALFORMED, COUNT)  # type: ignore[attr-defined]
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.1f} MiB"


# A body the client may accept or refuse; when it accepts, the values must be where they were sent.
async def test_nan_in_dense_values_is_kept_in_place_or_refused(sie: Harness) -> None:
    """The server answers a JSON NaN in a vector (Python's json reads it): in place, or a typed error."""
    body = raw(
        b'{"items": [{"dense": {"dtype": "float32", "values": [0.5, NaN]}}, ' + b'{"dense": {"values": [1, 2]}}]}'
    )
    sie.server.then(lambda request: body.response())
    outcome: Any
    try:
        outcome = await sie.call(sie.client().encode("m", ["a", "b"]))
    except RequestError as exc:
        outcome = exc
    if isinstance(outcome, RequestError):
        assert outcome.code == MALFORMED
    else:
        first, second = outcome
        assert first.dense[0] == 0.5
        assert math.isnan(first.dense[1])
        assert second.dense.tolist() == [1.0, 2.0]


def client(server: MockServer, mode: str) -> Any:
    if mode == "sync":
        return SIEClient(BASE_URL, http_client=server.client())
    return AsyncSIEClient(BASE_URL, http_client=server.async_client())


async def called(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", SCORE_BAD, ids=lambda r: r.id)
async def test_score_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers three documents with crafted scores: a typed error, never a wrong ranking."""
    server = answering(row.body)
    with pytest.raises(row.error) as caught:
        await called(client(server, mode).score("m", "q", ["a", "b", "c"]))
    assert caught.value.code == row.code


@pytest.mark.parametrize("mode", MODES)
async def test_score_rank_that_is_not_an_int_falls_back_to_position(mode: str) -> None:
    """Lenient: a rank of the wrong type is replaced by the entry's position; indices stay right."""
    server = answering(scores(entry("item-2", 3.0, "first"), entry("item-0", 2.0, None), entry("item-1", 1.0, 2.5)))
    result = await called(client(server, mode).score("m", "q", ["a", "b", "c"]))
    assert [(e.index, e.score, e.rank) for e in result] == [(2, 3.0, 0), (0, 2.0, 1), (1, 1.0, 2)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", EXTRACT_BAD, ids=lambda r: r.id)
async def test_extract_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers two texts with a crafted extraction: a typed error, nothing partial."""
    server = answering(row.body)
    with pytest.raises(row.error) as caught:
        await called(client(server, mode).extract("m", ["Ada", "Bob"], labels=["person"]))
    assert caught.value.code == row.code
    if row.id.startswith("per-item"):
        assert caught.value.item_index == 1  # names the failed input


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", CHAT_BAD, ids=lambda r: r.id)
async def test_chat_refuses_hostile_body(row: Bad, mode: str) -> None:
    """The server answers a chat completion with a crafted body: a typed error, sent once."""
    server = answering(row.body)
    with pytest.raises(row.error) as caught:
        await called(client(server, mode).chat_completions(CHAT))
    assert caught.value.code == row.code
    assert len(server.requests) == 1  # chat is never re-sent
    if "envelope" in row.id or "string-with-200" in row.id:
        assert "worker crashed" in caught.value.message or "upstream exploded" in caught.value.message


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("arguments", "lc_args", "li_kwargs"), TOOL_ARGUMENTS, ids=repr)
async def test_tool_arguments_not_json_are_kept_verbatim(
    arguments: str, lc_args: dict[str, Any] | None, li_kwargs: dict[str, Any] | None, mode: str
) -> None:
    """Lenient: the client returns the server's arguments string as it came (the caller parses it)."""
    completion = await called(client(answering(tool_completion(arguments)), mode).chat_completions(CHAT))
    (call,) = completion.choices[0].message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == ("call_1", "get_weather", arguments)


@pytest.mark.parametrize("row", OTHER_BAD, ids=lambda r: r.id)
async def test_generate_and_models_refuse_hostile_body(sie: Harness, row: Bad) -> None:
    """The server answers generate / models with a crafted body: RequestError MALFORMED_RESPONSE."""
    sie.server.then(lambda request: row.body.response())
    sie_client = sie.client()
    run = {
        "generate": lambda: sie_client.generate("m", "p", max_new_tokens=2),
        "model": lambda: sie_client.get_model("m"),
        "models": lambda: sie_client.list_models(),
    }[row.id.split("-")[0]]
    with pytest.raises(row.error) as caught:
        await sie.call(run())
    assert caught.value.code == row.code


def test_table_sizes() -> None:
    """Every table has rows with unique ids (each row is one distinct hostile response)."""
    tables = {
        "encode": ENCODE_BAD,
        "absurd sizes": ABSURD,
        "score": SCORE_BAD,
        "extract": EXTRACT_BAD,
        "chat": CHAT_BAD,
        "tool arguments": TOOL_ARGUMENTS,
        "generate and models": OTHER_BAD,
    }
    for name, rows in tables.items():
        ids = [getattr(r, "id", r) for r in rows]
        assert ids, name
        assert len(set(map(repr, ids))) == len(ids), name
    assert sum(map(len, tables.values())) >= 120
