"""What the completion LLMs send to /v1/generate and what they report of an answer (pure functions)."""

from __future__ import annotations

import pytest

from sie_integrations._adapters.generation import (
    Generating,
    StreamedText,
    completed,
    final_info,
    generate_args,
    result_info,
    total_usage,
)
from sie_integrations.types import GenerateChunk, GenerateResult, Usage


def test_a_call_overrides_the_models_settings_and_stop() -> None:
    defaults = {"max_new_tokens": 256, "temperature": 0.2}
    assert generate_args(defaults, None, {}) == defaults
    assert generate_args(defaults, ["\n\n"], {"max_tokens": 8, "top_p": 0.9}) == {
        "max_new_tokens": 8,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\n"],
    }
    assert defaults == {"max_new_tokens": 256, "temperature": 0.2}


def test_an_unknown_argument_is_refused_before_sending() -> None:
    with pytest.raises(TypeError, match=r"unknown generation argument\(s\) 'sed', 'tools': /v1/generate takes"):
        generate_args({"max_new_tokens": 1}, None, {"tools": [], "sed": 1})


def test_every_field_of_generate_is_an_argument_and_options_merge() -> None:
    """``SIELLM`` used to refuse ``seed``, ``frequency_penalty`` and ``presence_penalty``; a call's options go over
    the model's, and a call that names none keeps the model's."""
    llm = Generating(max_new_tokens=8, seed=7, options={"profile": "default", "x": 1})
    more = {"frequency_penalty": 0.5, "presence_penalty": -0.5, "logit_bias": {"42": -100.0}}
    assert llm._generate_args(["\n"], {**more, "options": {"x": 2}}) == {
        "max_new_tokens": 8,
        "seed": 7,
        **more,
        "options": {"profile": "default", "x": 2},
        "stop": ["\n"],
    }
    assert llm._generate_args(None, {"options": None})["options"] == {"profile": "default", "x": 1}
    assert "options" not in Generating(max_new_tokens=8)._generate_args(None, {"options": {}})


def test_what_an_answer_says_besides_its_text() -> None:
    result = GenerateResult(
        model="m",
        text="hi",
        finish_reason="length",
        usage=Usage(prompt_tokens=2, completion_tokens=5, total_tokens=7),
        timings={"ttft_ms": 12.5, "tpot_ms": 3.0},
        attempt_id="att-1",
    )
    assert result_info(result) == {
        "model": "m",
        "finish_reason": "length",
        "usage": {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7},
        "ttft_ms": 12.5,
        "tpot_ms": 3.0,
        "attempt_id": "att-1",
    }
    last = GenerateChunk(
        text_delta="",
        seq=5,
        done=True,
        request_id="r1",
        finish_reason="stop",
        usage=Usage(1, 2, 3, cached_tokens=1),
        timings={"ttft_ms": 0.5},
    )
    assert final_info(last, "m") == {
        "model": "m",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cached_tokens": 1},
        "ttft_ms": 0.5,
        "request_id": "r1",
    }
    assert total_usage([result_info(result), final_info(last, "m"), {}]) == {
        "prompt_tokens": 3,
        "completion_tokens": 7,
        "total_tokens": 10,
        "cached_tokens": 1,
    }


def deltas(*texts: str) -> list[GenerateChunk]:
    chunks = [GenerateChunk(text_delta=t, seq=i, done=False) for i, t in enumerate(texts)]
    return [
        *chunks,
        GenerateChunk(text_delta="", seq=len(texts), done=True, finish_reason="length", usage=Usage(1, 9, 10)),
    ]


def shown(stops: list[str], *texts: str) -> tuple[list[str], dict[str, object] | None]:
    stream = StreamedText("m", stops)
    out, info = [], None
    for chunk in deltas(*texts):
        text, info = stream.feed(chunk)
        out.append(text)
    return out, info


def test_a_stop_string_across_deltas_ends_the_shown_text() -> None:
    out, info = shown(["</end>"], "one ", "two </e", "nd> three", " four")
    assert "".join(out) == "one two "
    assert out[:2] == ["one ", "two "]  # "</e" held back until the next delta tells
    assert info is not None and info["finish_reason"] == "stop" and info["usage"]["completion_tokens"] == 9


def test_a_held_back_prefix_that_is_no_stop_is_shown() -> None:
    out, info = shown(["</end>"], "a </", "b", " c <")
    assert out == ["a ", "</b", " c ", "<"]
    assert info is not None and info["finish_reason"] == "length"
    assert shown([], "x", "y")[0] == ["x", "y", ""]


def test_a_whole_answer_is_cut_at_its_first_stop_string() -> None:
    result = GenerateResult(model="m", text="a. b\n\nc", finish_reason="length", usage=Usage())
    assert completed(result, ["\n\n", "."]) == ("a", {**result_info(result), "finish_reason": "stop"})
    assert completed(result, ["zzz"]) == ("a. b\n\nc", result_info(result))


def test_whole_and_streamed_answers_end_at_the_stop_string_that_ends_first() -> None:
    """One stop inside another: both modes cut where a server checking each token would."""
    stops = ["tok_70a76af3 tok_f", "a76"]
    text = "tok_a78760a2 tok_70a76af3 tok_f791d0e5"
    whole = GenerateResult(model="m", text=text, finish_reason="length", usage=Usage())
    assert completed(whole, stops)[0] == "tok_a78760a2 tok_70"
    for size in (1, 3, 7, len(text)):
        parts = [text[i : i + size] for i in range(0, len(text), size)]
        assert "".join(shown(stops, *parts)[0]) == "tok_a78760a2 tok_70"
