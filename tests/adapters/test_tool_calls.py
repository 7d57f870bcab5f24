"""ToolCallMerger: any delivery style and any split of the arguments reassemble the same calls."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sie_integrations._adapters.tool_calls import ToolCallMerger, parse_partial_json
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


def _reference_partial_json(text: str) -> object:
    """The plain quadratic algorithm: close every prefix, longest first, until one parses."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    for end in range(len(text), 0, -1):
        closers: list[str] = []
        in_string = escaped = broken = False
        for char in text[:end]:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                closers.append("}" if char == "{" else "]")
            elif char in "}]" and (not closers or closers.pop() != char):
                broken = True
                break
        if broken:
            continue
        prefix = text[: end - 1] if escaped else text[:end]
        try:
            return json.loads(prefix + ('"' if in_string else "") + "".join(reversed(closers)))
        except ValueError:
            continue
    return None


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text('a"\\\n{}[]:, é', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text('ab"\\', max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(JSON_VALUES, st.data())
def test_partial_json_agrees_with_the_plain_algorithm_on_every_prefix(value: object, data: st.DataObject) -> None:
    """Cut-off documents (and a stray character after the cut) repair exactly as the quadratic algorithm does."""
    text = json.dumps(value, ensure_ascii=False)
    end = data.draw(st.integers(0, len(text)))
    noise = data.draw(st.sampled_from(["", "x", "]", "}", ",", '"', "\\", " tru"]))
    cut = text[:end] + noise
    assert parse_partial_json(cut) == _reference_partial_json(cut)
    assert parse_partial_json(text) == value


def test_long_hostile_arguments_take_a_few_parses_not_one_per_character(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments 100 KB long that never parse: each attempt rules out every longer prefix (no timing measured)."""
    import sie_integrations._adapters.tool_calls as tool_calls

    attempts: list[int] = []
    real_loads = json.loads

    def counting_loads(text: str) -> object:
        attempts.append(len(text))
        return real_loads(text)

    monkeypatch.setattr(tool_calls.json, "loads", counting_loads)
    cases = {
        "2 " * 50_000: 2,  # "Extra data" right after the first number
        '{"a": "' + "x" * 100_000 + '" junk': {"a": "x" * 100_000},
        '{"a": [1, 2, 3' + ", 4" * 30_000 + ", tru": {"a": [1, 2, 3] + [4] * 30_000},
        "nonsense " * 10_000: None,
    }
    for text, expected in cases.items():
        attempts.clear()
        assert parse_partial_json(text) == expected
        assert len(attempts) <= 12, (text[:20], len(attempts))
