"""The framework-free adapter core: rerank merging, extraction batching and dicts, chat requests, usage, structured
output helpers. Pure functions are called directly; the I/O functions get a stub client that records its calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import Field

from sie_integrations import RequestError, SIEStreamError
from sie_integrations._adapters.batching import Batching
from sie_integrations._adapters.chat_model import ChatConnection
from sie_integrations._adapters.chat_request import chat_request, settings_of, wire_tool_choice
from sie_integrations._adapters.extraction import (
    KEYS,
    aextract_batched,
    aextract_one,
    extract_batched,
    extract_one,
    extraction_dict,
)
from sie_integrations._adapters.rerank import MAX_ITEMS_PER_REQUEST, Ranked, arerank, merge, rerank
from sie_integrations._core.batches import Batch
from sie_integrations._adapters.sparse import sparse_vectors
from sie_integrations._adapters.capabilities import ChatCapabilities
from sie_integrations._adapters.structured import (
    NoToolCall,
    StreamedAnswer,
    StructuredMemory,
    arun,
    astream,
    is_refusal,
    json_schema_format,
    run,
    stream,
    tries,
)
from sie_integrations._adapters.usage import cached_tokens, reasoning_tokens, total_tokens
from sie_integrations._core.concurrency import Limit
from sie_integrations.chat import CHAT_SETTINGS, ChatCompletionRequest, ChatSettings, ChatUsage
from sie_integrations.types import (
    Classification,
    DetectedObject,
    EncodeResult,
    Entity,
    ExtractResult,
    Relation,
    ScoreEntry,
    SparseVector,
)
from tests.chat_wire import REQUEST_FIELDS as REQUEST_FIELD_VALUES


def entries(*scores: float) -> list[ScoreEntry]:
    """Score entries of one request, best first, as the server sends them."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [ScoreEntry(index=i, score=scores[i], rank=rank, item_id=f"item-{i}") for rank, i in enumerate(order)]


# --- rerank ------------------------------------------------------------------------------


def test_merge_indexes_every_batch_into_the_whole_input_best_first() -> None:
    batches = [Batch([2, 0], ["c", "a"]), Batch([1], ["b"])]
    merged = merge(batches, [entries(0.1, 0.9), entries(0.5)], top_n=None)
    assert merged == [Ranked(0, 0.9), Ranked(1, 0.5), Ranked(2, 0.1)]


def test_merge_keeps_ties_in_input_order() -> None:
    batches = [Batch([2, 0], ["c", "a"]), Batch([1], ["b"])]
    assert [r.index for r in merge(batches, [entries(0.5, 0.5), entries(0.5)], top_n=None)] == [0, 1, 2]


@pytest.mark.parametrize(("top_n", "kept"), [(None, 3), (-1, 3), (0, 0), (2, 2), (10, 3)])
def test_merge_top_n(top_n: int | None, kept: int) -> None:
    assert len(merge([Batch([0, 1, 2], ["a", "b", "c"])], [entries(0.3, 0.2, 0.1)], top_n=top_n)) == kept


class Scorer:
    """A stub client: scores each text by its number, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str], str | None]] = []

    def _score(self, model: str, query: str, items: Sequence[str], instruction: str | None) -> list[ScoreEntry]:
        self.calls.append((model, query, list(items), instruction))
        return entries(*(float(text) for text in items))

    def score(self, model: str, query: str, items: Sequence[str], *, instruction: str | None) -> list[ScoreEntry]:
        return self._score(model, query, items, instruction)


class AsyncScorer(Scorer):
    async def score(  # type: ignore[override]
        self, model: str, query: str, items: Sequence[str], *, instruction: str | None
    ) -> list[ScoreEntry]:
        return self._score(model, query, items, instruction)


TEXTS = [str(i % 7) for i in range(MAX_ITEMS_PER_REQUEST + 3)]


def check_reranked(scorer: Scorer, ranked: list[Ranked]) -> None:
    assert [(c[0], c[1], len(c[2]), c[3]) for c in scorer.calls] == [
        ("m", "q", MAX_ITEMS_PER_REQUEST, "find"),
        ("m", "q", 3, "find"),
    ]
    assert [r.score for r in ranked] == [6.0, 6.0]
    assert all(TEXTS[r.index] == "6" for r in ranked)


def test_rerank_sends_one_request_per_part() -> None:
    scorer = Scorer()
    ranked = rerank(lambda part: scorer.score("m", "q", part, instruction="find"), TEXTS, top_n=2, limit=Limit())
    check_reranked(scorer, ranked)


async def test_arerank_sends_one_request_per_part() -> None:
    scorer = AsyncScorer()
    ranked = await arerank(lambda part: scorer.score("m", "q", part, instruction="find"), TEXTS, top_n=2, limit=Limit())
    check_reranked(scorer, ranked)


def test_rerank_of_nothing_sends_nothing() -> None:
    scorer = Scorer()
    assert rerank(lambda part: scorer.score("m", "q", part, instruction=None), [], top_n=3, limit=Limit()) == []
    assert scorer.calls == []


# --- extraction --------------------------------------------------------------------------

RESULT = ExtractResult(
    id="item-0",
    entities=[Entity(text="Ada", label="person", score=0.9, start=0, end=3)],
    relations=[Relation(head="Ada", tail="Babbage", relation="knows", score=0.7)],
    classifications=[Classification(label="bio", score=0.6)],
    objects=[DetectedObject(label="face", score=0.8, bbox=[0.0, 1.0, 2.0, 3.0])],
)


def test_extraction_dict_holds_every_part_as_plain_data() -> None:
    assert extraction_dict(RESULT) == {
        "entities": [{"text": "Ada", "label": "person", "score": 0.9, "start": 0, "end": 3, "bbox": None}],
        "relations": [{"head": "Ada", "tail": "Babbage", "relation": "knows", "score": 0.7}],
        "classifications": [{"label": "bio", "score": 0.6}],
        "objects": [{"label": "face", "score": 0.8, "bbox": [0.0, 1.0, 2.0, 3.0]}],
    }
    assert list(KEYS) == ["entities", "relations", "classifications", "objects"]


def test_extraction_dict_names_and_picks_parts_by_keys() -> None:
    data = extraction_dict(RESULT, {"relations": "entity_relations", "entities": "found"})
    assert list(data) == ["entity_relations", "found"]
    assert data["found"][0]["text"] == "Ada"


class Extractor:
    """A stub client: one empty result per text, named after it; records the batches."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], list[str]]] = []

    def _extract(self, model: str, items: Sequence[str], labels: Sequence[str]) -> list[ExtractResult]:
        self.calls.append((model, list(items), list(labels)))
        return [ExtractResult(id=text) for text in items]

    def extract(self, model: str, items: Sequence[str], *, labels: Sequence[str]) -> list[ExtractResult]:
        return self._extract(model, items, labels)


class AsyncExtractor(Extractor):
    async def extract(  # type: ignore[override]
        self, model: str, items: Sequence[str], *, labels: Sequence[str]
    ) -> list[ExtractResult]:
        return self._extract(model, items, labels)


def test_extract_batched_sends_planned_batches_results_in_input_order() -> None:
    client = Extractor()
    texts = ["ccc", "a", "bb"]
    results = extract_batched(client, "m", texts, Batching(2), labels=["person"])  # type: ignore[arg-type]
    assert [r.id for r in results] == texts
    assert client.calls == [("m", ["a", "bb"], ["person"]), ("m", ["ccc"], ["person"])]  # shortest first
    assert extract_batched(client, "m", [], Batching(2), labels=["person"]) == []  # type: ignore[arg-type]
    assert len(client.calls) == 2


async def test_aextract_batched_sends_planned_batches_results_in_input_order() -> None:
    client = AsyncExtractor()
    texts = ["ccc", "a", "bb"]
    results = await aextract_batched(client, "m", texts, Batching(2), labels=["x"])  # type: ignore[arg-type]
    assert [r.id for r in results] == texts
    assert [c[1] for c in client.calls] == [["a", "bb"], ["ccc"]]


async def test_extract_one_sends_the_text_alone() -> None:
    client, aclient = Extractor(), AsyncExtractor()
    assert extract_one(client, "m", "a", labels=["x"]).id == "a"  # type: ignore[arg-type]
    assert (await aextract_one(aclient, "m", "b", labels=["x"])).id == "b"  # type: ignore[arg-type]
    assert [c[1] for c in client.calls + aclient.calls] == [["a"], ["b"]]


# --- sparse ------------------------------------------------------------------------------


def test_sparse_vectors_refuse_a_result_without_one() -> None:
    vector = SparseVector(indices=np.array([3]), values=np.array([0.5]))
    assert sparse_vectors([EncodeResult(sparse=vector)]) == [vector]
    with pytest.raises(ValueError, match="no sparse vector"):
        sparse_vectors([EncodeResult(sparse=vector), EncodeResult()])


# --- chat requests -----------------------------------------------------------------------


def test_the_settings_are_every_request_field_but_model_messages_and_stream() -> None:
    assert set(CHAT_SETTINGS) == set(ChatCompletionRequest.model_fields) - {"model", "messages", "stream"}
    assert {"min_tokens", "seed", "top_k", "repetition_penalty", "chat_template_kwargs"} <= set(CHAT_SETTINGS)
    assert set(REQUEST_FIELD_VALUES) <= set(CHAT_SETTINGS)
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


# --- usage -------------------------------------------------------------------------------


def test_total_tokens_falls_back_to_prompt_plus_completion() -> None:
    assert total_tokens(ChatUsage(prompt_tokens=7, completion_tokens=3, total_tokens=12)) == 12
    assert total_tokens(ChatUsage(prompt_tokens=7, completion_tokens=3)) == 10


def test_cached_and_reasoning_tokens_only_when_counted() -> None:
    usage = ChatUsage(prompt_tokens_details={"cached_tokens": 4}, completion_tokens_details={"reasoning_tokens": 2})
    assert (cached_tokens(usage), reasoning_tokens(usage)) == (4, 2)
    assert (cached_tokens(ChatUsage()), reasoning_tokens(ChatUsage())) == (None, None)
    odd = ChatUsage(prompt_tokens_details={"cached_tokens": "4"}, completion_tokens_details={"other": 1})
    assert (cached_tokens(odd), reasoning_tokens(odd)) == (None, None)


# --- structured output -------------------------------------------------------------------


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
