"""ToolCallMerger: any delivery style and any split of the arguments reassemble the same calls."""

from __future__ import annotations

import json
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from sie_integrations._tool_calls import ToolCallMerger, parse_partial_json
from sie_integrations.chat import ToolCallDelta

NAMES = st.sampled_from(["get_weather", "search", "add", "look_up"])
ARGS = st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), st.integers() | st.text(max_size=6), max_size=3)
CALLS = st.lists(st.tuples(NAMES, ARGS), min_size=1, max_size=4)
STYLES = st.sampled_from(["spec", "repeat", "index0", "no_index"])


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in pairwise(points)] or [""]


def _deltas(calls: list[tuple[str, dict[str, object]]], style: str, cuts: list[int]) -> list[ToolCallDelta]:
    out: list[ToolCallDelta] = []
    for i, (name, args) in enumerate(calls):
        call_id = f"call_{i}"
        parts = _split(json.dumps(args), cuts)
        for k, part in enumerate(parts):
            first = k == 0
            delta: dict[str, object] = {"function": {"arguments": part}}
            if style == "spec":
                delta["index"] = i
                if first:
                    delta.update(id=call_id, function={"name": name, "arguments": part})
            elif style == "repeat":
                delta.update(index=i, id=call_id, function={"name": name, "arguments": part})
            elif style == "index0":
                delta["index"] = 0
                if first:
                    delta.update(id=call_id, function={"name": name, "arguments": part})
            elif first:  # no index, no id: only whole calls can be told apart
                delta["function"] = {"name": name, "arguments": json.dumps(args)}
            else:
                continue
            out.append(ToolCallDelta.model_validate(delta))
    return out


@given(calls=CALLS, style=STYLES, cuts=st.lists(st.integers(0, 200), max_size=5))
def test_any_delivery_reassembles_the_calls(
    calls: list[tuple[str, dict[str, object]]], style: str, cuts: list[int]
) -> None:
    merger = ToolCallMerger()
    fragments = [f for d in _deltas(calls, style, cuts) for f in merger.feed([d])]
    by_index: dict[int, dict[str, str]] = {}
    for f in fragments:
        entry = by_index.setdefault(f.index, {"name": "", "args": "", "id": ""})
        if f.name:
            assert not entry["name"], "a name is sent once per call"
            entry["name"] = f.name
        if f.id:
            assert not entry["id"], "an id is sent once per call"
            entry["id"] = f.id
        entry["args"] += f.arguments
    assert sorted(by_index) == list(range(len(calls)))
    assert [(by_index[i]["name"], json.loads(by_index[i]["args"])) for i in range(len(calls))] == calls
    assert len({e["id"] for e in by_index.values()}) == len(calls)
    if style != "no_index":
        assert [by_index[i]["id"] for i in range(len(calls))] == [f"call_{i}" for i in range(len(calls))]


def test_missing_ids_are_generated_once() -> None:
    merger = ToolCallMerger()
    first = merger.feed([ToolCallDelta.model_validate({"index": 0, "function": {"name": "f", "arguments": "{"}})])
    rest = merger.feed([ToolCallDelta.model_validate({"index": 0, "function": {"arguments": "}"}})])
    assert first[0].id is not None and first[0].id.startswith("call_")
    assert rest[0].id is None and rest[0].arguments == "}"


def test_deeply_nested_arguments_are_hopeless_not_a_recursion_error() -> None:
    """Arguments a hostile server nests 100,000 deep: no RecursionError, and no retry on every shorter prefix."""
    assert parse_partial_json("[" * 100_000) is None
    assert parse_partial_json('{"a": ' + "[" * 100_000) is None
    merger = ToolCallMerger()
    merger.feed(
        [ToolCallDelta.model_validate({"index": 0, "id": "c1", "function": {"name": "f", "arguments": "[" * 100_000}})]
    )
    merger.feed([ToolCallDelta.model_validate({"index": 0, "function": {"name": "f", "arguments": "]"}})])
    assert len(merger.calls) == 1
