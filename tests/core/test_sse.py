"""SSEDecoder framing (property tests over arbitrary chunkings) and the chat/generate stream state machines."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sie_integrations._core.sse import SSEDecoder
from sie_integrations._core.streams import DONE, ChatStream, GenerateStream
from sie_integrations.chat import ChatCompletionChunk
from sie_integrations.errors import SIEConnectionError, SIEStreamError
from sie_integrations.types import GenerateChunk

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def response_body(name: str) -> bytes:
    """The verbatim response body of a recorded transcript (everything after the response headers)."""
    text = next(TRANSCRIPTS.glob(f"{name}-*.txt")).read_bytes()
    response = text.split(b"### RESPONSE\n", 1)[1]
    return response.split(b"\n\n", 1)[1]


def decode(chunks: Iterable[bytes], max_event_bytes: int | None = None) -> list[str]:
    decoder = SSEDecoder() if max_event_bytes is None else SSEDecoder(max_event_bytes)
    events: list[str] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# --- building random valid streams -------------------------------------------------------

ENDINGS = ("\n", "\r\n", "\r")
# no line breaks inside a line; no lone surrogates (they do not encode to UTF-8)
line_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)


@st.composite
def sse_line(draw: st.DrawFn) -> tuple[str, str | None]:
    """One non-blank line and the data value it contributes (None when it contributes nothing)."""
    kind = draw(st.sampled_from(["data", "data", "data", "comment", "field", "bare-data"]))
    if kind == "data":
        value = draw(line_text)
        space = draw(st.booleans())
        raw = "data:" + (" " if space else "") + value
        after = raw[len("data:") :]
        return raw, after[1:] if after.startswith(" ") else after
    if kind == "bare-data":  # "data" without a colon: a data field with an empty value
        return "data", ""
    if kind == "comment":
        return ":" + draw(st.sampled_from([" keepalive 1/2", "", " ping"])) + draw(line_text), None
    name = draw(st.sampled_from(["event", "id", "retry", "Data", "dat", "datax", "x-data", "DATA"]))
    return name + draw(st.sampled_from([":", ": "])) + draw(line_text), None


@st.composite
def sse_stream(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A valid SSE body with mixed line endings, and the events it carries."""
    lines: list[str] = []  # each line without its ending
    expected: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        for _ in range(draw(st.integers(0, 2))):  # stray blank lines between events dispatch nothing
            lines.append("")
        data: list[str] = []
        for _ in range(draw(st.integers(1, 5))):
            raw, value = draw(sse_line())
            lines.append(raw)
            if value is not None:
                data.append(value)
        lines.append("")  # the blank line that ends the event
        if data:
            expected.append("\n".join(data))
    unterminated = draw(st.booleans())
    if unterminated:  # a last event without its blank line: flush() delivers it
        value = draw(line_text)
        lines.append("data: " + value)
        expected.append(value)
    parts: list[str] = []
    previous = ""
    for index, line in enumerate(lines):
        ending = draw(st.sampled_from(ENDINGS))
        if previous == "\r" and line == "" and ending == "\n":
            ending = "\r\n"  # "\r" + "\n" would be read as one CRLF, not as a blank line
        if unterminated and index == len(lines) - 1:
            ending = draw(st.sampled_from(("", *ENDINGS)))
        parts.append(line + ending)
        previous = ending
    return "".join(parts).encode("utf-8"), expected


@st.composite
def stream_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[str], list[int]]:
    body, expected = draw(sse_stream())
    cuts = draw(st.lists(st.integers(0, len(body)), max_size=max(len(body), 1)))  # duplicates -> empty chunks
    return body, expected, cuts


@settings(max_examples=400)
@given(stream_and_cuts())
def test_any_chunking_gives_the_events_of_the_whole_stream(case: tuple[bytes, list[str], list[int]]) -> None:
    body, expected, cuts = case
    whole = decode([body])
    assert whole == expected
    assert decode(split_at(body, cuts)) == whole


@settings(max_examples=150)
@given(sse_stream())
def test_byte_by_byte_gives_the_events_of_the_whole_stream(case: tuple[bytes, list[str]]) -> None:
    body, expected = case
    assert decode([body[i : i + 1] for i in range(len(body))]) == expected


@settings(max_examples=200)
@given(
    st.lists(line_text, min_size=1, max_size=4),
    st.sampled_from(ENDINGS),
    st.data(),
)
def test_cut_between_cr_and_lf(values: list[str], ending: str, data: st.DataObject) -> None:
    lines = [f"data: {v}" for v in values]
    body = ("\r\n".join(lines) + "\r\n\r\n" + f"data: tail{ending}{ending}").encode()
    crs = [i + 1 for i, b in enumerate(body) if b == 0x0D]  # cut right after each \r
    cuts = data.draw(st.lists(st.sampled_from(crs), min_size=1))
    expected = ["\n".join(values), "tail"]
    assert decode([body]) == expected
    assert decode(split_at(body, cuts)) == expected


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: a\r", b"\ndata: b\r\n\r\n"],
        [b"data: a\r", b"", b"\ndata: b\r\n\r\n"],  # an empty read between \r and \n
        [b"data: a\r", b"", b"", b"\n", b"data: b\r", b"\n\r", b"", b"\n"],
    ],
)
def test_empty_chunks_keep_a_pending_cr(chunks: list[bytes]) -> None:
    assert decode([b"".join(chunks)]) == ["a\nb"]
    assert decode(chunks) == ["a\nb"]


def test_framing_details() -> None:
    body = (
        b": keepalive 1/2\n\n"
        b"event: message\nid: 7\nretry: 10\ndata:no-space\ndata:  two spaces\n\n"
        b"data\n\n"  # a bare "data" field is an empty value
        b"\n\n\n"
        b"Data: not a data field\n\n"
        b"data: last"
    )
    assert decode([body]) == ["no-space\n two spaces", "", "last"]


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"data: caf\xe9\n\n", b"data: ok\n\ndata: \xff\xfe\n\n", b"data: \xc3\n\n", b"ev\xffent: x\n\n"],
)
def test_non_utf8_raises(body: bytes) -> None:
    with pytest.raises(SIEStreamError) as info:
        decode([body])
    assert info.value.code == "malformed_stream"
    with pytest.raises(SIEStreamError):
        decode([body[i : i + 1] for i in range(len(body))])


def test_multibyte_character_split_across_chunks_is_fine() -> None:
    body = "data: h\u00e9llo \u2603 \U0001f600\n\n".encode()
    assert decode([body[i : i + 1] for i in range(len(body))]) == ["h\u00e9llo \u2603 \U0001f600"]


LIMIT = 64


def test_event_within_the_limit_passes() -> None:
    value = "x" * (LIMIT - len("data: "))
    assert decode([f"data: {value}\n\n".encode()], max_event_bytes=LIMIT) == [value]


def bytes_fed_until_refused(decoder: SSEDecoder, chunks: Iterable[bytes]) -> int:
    """How many bytes the decoder accepted before it refused a chunk as too large."""
    fed = 0
    for chunk in chunks:
        try:
            list(decoder.feed(chunk))
        except SIEStreamError as exc:
            if exc.code != "event_too_large":
                raise
            return fed
        fed += len(chunk)
    pytest.fail(f"the decoder buffered {fed} bytes of one event without refusing it")


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000])
def test_unterminated_line_over_the_limit_raises_without_unbounded_buffering(chunk_size: int) -> None:
    endless_line = itertools.chain([b"data: "], itertools.repeat(b"x" * chunk_size, 10_000))
    fed = bytes_fed_until_refused(SSEDecoder(max_event_bytes=LIMIT), endless_line)
    assert fed <= LIMIT + chunk_size  # refused as soon as the buffer passed the limit


@pytest.mark.parametrize("line_ending", [b"\n", b"\r\n", b"\r"])
def test_many_data_lines_over_the_limit_raise(line_ending: bytes) -> None:
    line = b"data: 0123456789" + line_ending
    fed = bytes_fed_until_refused(SSEDecoder(max_event_bytes=LIMIT), itertools.repeat(line, 10_000))
    assert fed <= LIMIT + 2 * len(line)


def test_one_big_chunk_with_a_complete_oversized_event_raises() -> None:
    body = b"data: " + b"y" * (LIMIT * 4) + b"\n\n"
    with pytest.raises(SIEStreamError):
        decode([body], max_event_bytes=LIMIT)


def test_comments_and_many_small_events_do_not_count_towards_the_limit() -> None:
    events = [f"{i:04d}" for i in range(100)]
    body = "".join(f": {'k' * 40}\ndata: {e}\n\n" for e in events).encode()
    assert decode([body], max_event_bytes=LIMIT) == events


# --- stream state machines on the recorded bodies ----------------------------------------


def run_chat(body: bytes, *, chunk_size: int | None = None) -> tuple[ChatStream, list[ChatCompletionChunk]]:
    chunks = [body] if chunk_size is None else [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    stream = ChatStream()
    out = []
    for data in decode(chunks):
        chunk = stream.on_event(data)
        if chunk is not None:
            out.append(chunk)
    return stream, out


def run_generate(body: bytes) -> tuple[GenerateStream, list[GenerateChunk]]:
    stream = GenerateStream()
    out = []
    for data in decode([body]):
        chunk = stream.on_event(data)
        if chunk is not None:
            out.append(chunk)
    return stream, out


def accumulate_tool_calls(chunks: Sequence[ChatCompletionChunk]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                assert delta.index is not None
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = call["id"] or delta.id
                if delta.function is not None:
                    call["name"] = call["name"] or delta.function.name
                    call["arguments"] += delta.function.arguments or ""
    return calls


def content_of(chunks: Sequence[ChatCompletionChunk]) -> str:
    return "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)


def finish_reasons(chunks: Sequence[ChatCompletionChunk]) -> list[str]:
    return [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason]


def test_transcript_bodies_end_with_done() -> None:
    for name in ("17", "61", "63", "84", "85"):
        events = decode([response_body(name)])
        assert events[-1] == DONE
        assert all(json.loads(e) for e in events[:-1])


@pytest.mark.parametrize("chunk_size", [None, 1, 3, 17])
def test_chat_stream_61_content_and_usage_chunk(chunk_size: int | None) -> None:
    body = response_body("61")
    assert body.count(b": keepalive") == 2
    stream, chunks = run_chat(body, chunk_size=chunk_size)
    stream.on_end()
    assert stream.done
    assert stream.finished
    assert len(chunks) == 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert content_of(chunks) == "Hello from tiny-chat!"
    assert finish_reasons(chunks) == ["stop"]
    assert chunks[1].choices[0].finish_reason == "stop"
    usage_chunk = chunks[2]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (59, 2)
    assert usage_chunk.usage.total_tokens == 61
    assert usage_chunk.usage.prompt_tokens_details == {"cached_tokens": 46}
    assert all(c.id == "chatcmpl-9e306cee-d68d-4351-a4ae-e8646af4c2ea" for c in chunks)
    assert chunks[0].usage is None


def test_chat_stream_63_whole_tool_call_in_one_delta() -> None:
    stream, chunks = run_chat(response_body("63"))
    stream.on_end()
    assert len(chunks) == 3
    assert accumulate_tool_calls(chunks) == {
        0: {"id": "e13156e2-a9ce-47e3-b132-a2e39ad72155", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    }
    assert json.loads(accumulate_tool_calls(chunks)[0]["arguments"]) == {"city": "Paris"}
    assert finish_reasons(chunks) == ["tool_calls"]
    assert content_of(chunks) == ""
    assert chunks[2].choices == []
    assert chunks[2].usage is not None
    assert chunks[2].usage.total_tokens == 612
    assert chunks[2].usage.prompt_tokens_details == {"cached_tokens": 607}


@pytest.mark.parametrize("chunk_size", [None, 1, 5])
def test_chat_stream_84_tool_call_name_then_arguments(chunk_size: int | None) -> None:
    stream, chunks = run_chat(response_body("84"), chunk_size=chunk_size)
    stream.on_end()
    assert len(chunks) == 3
    first = chunks[0].choices[0].delta.tool_calls
    assert first is not None
    assert first[0].id == "call_64e1fd44e18f471988687ee1"
    assert first[0].function is not None
    assert first[0].function.name == "get_weather"
    assert first[0].function.arguments == ""
    second = chunks[1].choices[0].delta.tool_calls
    assert second is not None
    assert second[0].id is None
    assert accumulate_tool_calls(chunks) == {
        0: {"id": "call_64e1fd44e18f471988687ee1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
    }
    last = chunks[2]
    assert last.choices[0].finish_reason == "tool_calls"
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (608, 4, 612)


def test_chat_stream_85_usage_on_the_finish_chunk() -> None:
    stream, chunks = run_chat(response_body("85"))
    stream.on_end()
    assert len(chunks) == 2
    assert content_of(chunks) == "Hello from tiny-chat!"
    assert chunks[0].usage is None
    assert chunks[1].choices[0].finish_reason == "stop"
    assert chunks[1].usage is not None
    assert chunks[1].usage.total_tokens == 76


@pytest.mark.parametrize("chunk_size", [None, 1, 11])
def test_generate_stream_17(chunk_size: int | None) -> None:
    body = response_body("17")
    chunks_in = [body] if chunk_size is None else [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    stream = GenerateStream()
    chunks = [c for c in (stream.on_event(e) for e in decode(chunks_in)) if c is not None]
    stream.on_end()
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4, 5]
    assert [c.done for c in chunks] == [False] * 5 + [True]
    assert "".join(c.text_delta for c in chunks) == "tok_a78760a2 tok_70a76af3 tok_f791d0e5 tok_77fdb43d tok_d10ff712"
    assert {c.request_id for c in chunks} == {"dbf3af657d3347409eb6a06e16eba2cb"}
    assert all(c.usage is None and c.finish_reason is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.finish_reason == "length"
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (2, 5, 7)
    assert last.timings == {"ttft_ms": pytest.approx(0.06784100003187632)}


# --- end-of-stream rules and malformed events --------------------------------------------


def without_done(body: bytes) -> bytes:
    assert b"data: [DONE]" in body
    return body.replace(b"data: [DONE]", b": no done")


@pytest.mark.parametrize("name", ["61", "63", "84", "85"])
def test_chat_stream_without_done_fails_on_end(name: str) -> None:
    stream, _ = run_chat(without_done(response_body(name)))
    with pytest.raises(SIEConnectionError, match=r"\[DONE\]"):
        stream.on_end()


def test_chat_stream_without_finish_reason_fails_on_end() -> None:
    body = response_body("85")
    events = decode([body])
    stream = ChatStream()
    stream.on_event(events[0])  # content only
    stream.on_event(DONE)
    with pytest.raises(SIEConnectionError, match="finish_reason"):
        stream.on_end()


def test_generate_stream_without_done_or_final_chunk_fails_on_end() -> None:
    events = decode([response_body("17")])
    truncated = GenerateStream()
    for event in events[:3]:
        truncated.on_event(event)
    with pytest.raises(SIEConnectionError, match="done: true"):
        truncated.on_end()
    no_done = GenerateStream()
    for event in events[:-1]:
        no_done.on_event(event)
    with pytest.raises(SIEConnectionError, match=r"\[DONE\]"):
        no_done.on_end()


@pytest.mark.parametrize("stream_cls", [ChatStream, GenerateStream])
@pytest.mark.parametrize("after", ['{"choices":[]}', "{}", "not json", '{"error": {"code": "x"}}'])
def test_events_after_done_raise(stream_cls: type[ChatStream] | type[GenerateStream], after: str) -> None:
    stream = stream_cls()
    assert stream.on_event(DONE) is None
    with pytest.raises(SIEStreamError, match=r"after \[DONE\]"):
        stream.on_event(after)


@pytest.mark.parametrize("stream_cls", [ChatStream, GenerateStream])
@pytest.mark.parametrize("data", ["[1, 2]", '"text"', "null", "42", "true", "{not json", ""])
def test_event_that_is_not_a_json_object_raises(stream_cls: type[ChatStream] | type[GenerateStream], data: str) -> None:
    with pytest.raises(SIEStreamError) as info:
        stream_cls().on_event(data)
    assert info.value.code == "malformed_stream"


def test_chat_chunk_of_the_wrong_shape_raises() -> None:
    with pytest.raises(SIEStreamError, match="malformed chunk"):
        ChatStream().on_event('{"choices": "nope"}')


@pytest.mark.parametrize("stream_cls", [ChatStream, GenerateStream])
def test_error_event_raises_a_stream_error(stream_cls: type[ChatStream] | type[GenerateStream]) -> None:
    event = {
        "request_id": "r-1",
        "error": {"message": "out of context", "type": "invalid_request_error", "code": "context_exceeded"},
    }
    stream = stream_cls()
    with pytest.raises(SIEStreamError) as info:
        stream.on_event(json.dumps(event))
    assert info.value.code == "context_exceeded"
    assert "out of context" in str(info.value)
    assert info.value.request_id == "r-1"
