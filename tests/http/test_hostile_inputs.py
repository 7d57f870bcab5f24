"""Hostile input to the client, table by table, against a scripted server (``MockServer``) and ``FakeSIE``.

Every row is one hostile input to one public entry point of the client (the adapters' tables are in
``tests/langchain`` and ``tests/llama_index``). A row either expects a clear exception raised before anything
is sent (the server saw no request; the exception type and a fragment of its message naming the problem are
checked), or a correct result, checked on what the server received and what came back. Every row runs sync
and async. The tables are the module-level lists below; ``test_table_sizes`` counts them.

Decisions these tables pin down:

* Unknown keys in ``options`` of encode, score and extract pass through untouched (protocol section 4.1:
  options are adapter-specific and merged over the profile; unknown ``params`` fields are ignored by the
  server). Unknown top-level chat fields (``model_kwargs`` / ``additional_kwargs`` in the adapters) are
  refused before sending (protocol section 7.1: every unknown key is a hard 400; do not forward blindly).
  Extra keys inside one chat message pass through (vendor fields such as ``reasoning_content``).
* Empty and whitespace-only texts are sent: they are valid strings and the server decides.
* Tool-call arguments that are not JSON, in an assistant turn being replayed, are sent verbatim: they are
  what the model produced, and refusing them would break an agent loop that lets the model correct itself.
* Model ids: encode, score, extract and ``GET /v1/models/{id}`` put the id in the path (slashes literal,
  every segment percent-encoded, ``.``/``..``/empty segments and control characters refused); generate uses
  ``__`` for ``/``; chat puts the id in the JSON body, verbatim, and always posts to ``/v1/chat/completions``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sie_integrations import AsyncSIEClient, Item, SIEClient
from tests.fakes.sie import FakeSIE, decoded, vector_of
from tests.support.hostile import HUGE, INF, MODES, NAN, Case, check_tables, enormous, history_arguments

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@dataclass(frozen=True)
class Refused:
    """A hostile input that must raise ``error`` (message matching ``match``) before any request."""

    id: str
    call: Callable[[Any], Any]
    error: type[Exception]
    match: str


def chat(**fields: Any) -> Callable[[Any], Any]:
    return lambda c: c.chat_completions({**CHAT, **fields})


def chat_messages(*messages: Any) -> Callable[[Any], Any]:
    return lambda c: c.chat_completions({**CHAT, "messages": list(messages)})


def tool(function: dict[str, Any]) -> Callable[[Any], Any]:
    return chat(tools=[{"type": "function", "function": function}])


OBJECT_TOOL = {"type": "object", "properties": {"city": {"type": "string"}}}


CLIENT_REFUSED = [
    # encode
    Refused("encode-items-None", lambda c: c.encode("m", None), TypeError, "items must be a list"),
    Refused("encode-items-a-str", lambda c: c.encode("m", "hello"), TypeError, "items must be a list.*str"),
    Refused("encode-items-bytes", lambda c: c.encode("m", b"hello"), TypeError, "items must be a list.*bytes"),
    Refused("encode-None-item", lambda c: c.encode("m", [None]), TypeError, r"item 0 .*NoneType"),
    Refused("encode-None-among-items", lambda c: c.encode("m", ["ok", "ok", None]), TypeError, r"item 2 .*NoneType"),
    Refused("encode-int-item", lambda c: c.encode("m", [7]), TypeError, r"item 0 .*int"),
    Refused("encode-bytes-item", lambda c: c.encode("m", [b"raw"]), TypeError, r"item 0 .*bytes"),
    Refused("encode-dict-item", lambda c: c.encode("m", [{"text": "x"}]), TypeError, r"item 0 .*dict"),
    Refused("encode-list-item", lambda c: c.encode("m", [["x"]]), TypeError, r"item 0 .*list"),
    Refused("encode-Item-without-text", lambda c: c.encode("m", [Item(id="a")]), ValueError, "neither text, images"),
    Refused("encode-Item-bytes-text", lambda c: c.encode("m", [Item(text=b"x")]), TypeError, "text must be a str"),
    Refused("encode-options-nan", lambda c: c.encode("m", ["x"], options={"t": NAN}), ValueError, r"options\.t .*nan"),
    Refused(
        "encode-options-inf-nested",
        lambda c: c.encode("m", ["x"], options={"muvera": {"scale": INF}}),
        ValueError,
        r"options\.muvera\.scale .*non-finite",
    ),
    Refused(
        "encode-options-minus-inf-in-list",
        lambda c: c.encode("m", ["x"], options={"weights": [1.0, -INF]}),
        ValueError,
        r"options\.weights\[1\] .*-inf",
    ),
    Refused(
        "encode-options-not-serialisable",
        lambda c: c.encode("m", ["x"], options={"hook": object()}),
        TypeError,
        "serialize",
    ),
    Refused(
        "encode-output-types-None",
        lambda c: c.encode("m", ["x"], output_types=["dense", None]),
        ValueError,
        "output_types",
    ),
    Refused("encode-instruction-int", lambda c: c.encode("m", ["x"], instruction=1), TypeError, "instruction must"),
    Refused(
        "encode-output-dtype-float", lambda c: c.encode("m", ["x"], output_dtype=3.5), TypeError, "output_dtype must"
    ),
    # score
    Refused("score-query-None", lambda c: c.score("m", None, ["d"]), TypeError, "query must be a str or an Item"),
    Refused("score-query-int", lambda c: c.score("m", 42, ["d"]), TypeError, "query must be .*int"),
    Refused("score-query-list", lambda c: c.score("m", ["q"], ["d"]), TypeError, "query must be .*list"),
    Refused("score-items-None", lambda c: c.score("m", "q", None), TypeError, "items must be a list"),
    Refused("score-None-item", lambda c: c.score("m", "q", ["a", None]), TypeError, r"item 1 .*NoneType"),
    Refused("score-bytes-item", lambda c: c.score("m", "q", [b"a"]), TypeError, r"item 0 .*bytes"),
    Refused("score-options-nan", lambda c: c.score("m", "q", ["a"], options={"t": NAN}), ValueError, "non-finite"),
    Refused(
        "score-colliding-ids",
        lambda c: c.score("m", "q", ["a", Item(text="b", id="item-0")]),
        ValueError,
        "share the id 'item-0'",
    ),
    Refused("score-instruction-dict", lambda c: c.score("m", "q", ["a"], instruction={}), TypeError, "instruction"),
    # extract
    Refused("extract-None-item", lambda c: c.extract("m", [None]), TypeError, r"item 0 .*NoneType"),
    Refused("extract-dict-item", lambda c: c.extract("m", [{"text": "x"}]), TypeError, r"item 0 .*dict"),
    Refused("extract-labels-a-str", lambda c: c.extract("m", ["x"], labels="person"), TypeError, "labels must"),
    Refused("extract-labels-None", lambda c: c.extract("m", ["x"], labels=["p", None]), TypeError, "labels must"),
    Refused("extract-labels-empty-str", lambda c: c.extract("m", ["x"], labels=[""]), TypeError, "labels must"),
    Refused(
        "extract-options-inf", lambda c: c.extract("m", ["x"], options={"threshold": INF}), ValueError, "non-finite"
    ),
    Refused(
        "extract-output-schema-nan",
        lambda c: c.extract("m", ["x"], output_schema={"properties": {"p": {"default": NAN}}}),
        ValueError,
        r"output_schema\.properties\.p\.default .*non-finite",
    ),
    Refused("extract-instruction-int", lambda c: c.extract("m", ["x"], instruction=3), TypeError, "instruction"),
    # generate
    Refused("generate-prompt-empty", lambda c: c.generate("m", "", max_new_tokens=4), ValueError, "prompt"),
    Refused("generate-prompt-None", lambda c: c.generate("m", None, max_new_tokens=4), ValueError, "prompt"),
    Refused("generate-prompt-bytes", lambda c: c.generate("m", b"go", max_new_tokens=4), ValueError, "prompt"),
    Refused("generate-prompt-list", lambda c: c.generate("m", ["go"], max_new_tokens=4), ValueError, "prompt"),
    Refused(
        "generate-temperature-nan",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=NAN),
        ValueError,
        r"temperature\n  Input should be a finite number",
    ),
    Refused(
        "generate-temperature-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=INF),
        ValueError,
        r"temperature\n  Input should be a finite number",
    ),
    Refused(
        "generate-temperature-minus-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=-INF),
        ValueError,
        r"temperature\n  Input should be a finite number",
    ),
    Refused(
        "generate-temperature-str",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature="0.5"),
        TypeError,
        "temperature must be a number",
    ),
    Refused(
        "generate-temperature-bool",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=True),
        TypeError,
        "temperature must be a number",
    ),
    Refused(
        "generate-top-p-nan",
        lambda c: c.generate("m", "p", max_new_tokens=4, top_p=NAN),
        ValueError,
        r"top_p\n  Input should be (greater|less) than",
    ),
    Refused(
        "generate-top-p-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, top_p=INF),
        ValueError,
        r"top_p\n  Input should be (greater|less) than",
    ),
    Refused(
        "generate-top-p-minus-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, top_p=-INF),
        ValueError,
        r"top_p\n  Input should be (greater|less) than",
    ),
    Refused("generate-max-new-tokens-float", lambda c: c.generate("m", "p", max_new_tokens=2.5), ValueError, "max_new"),
    Refused("generate-max-new-tokens-None", lambda c: c.generate("m", "p", max_new_tokens=None), ValueError, "max_new"),
    Refused("generate-stop-None", lambda c: c.generate("m", "p", max_new_tokens=4, stop=[None]), ValueError, "stop"),
    Refused("generate-stop-empty", lambda c: c.generate("m", "p", max_new_tokens=4, stop=[""]), ValueError, "stop"),
    # chat: messages
    Refused("chat-request-None", lambda c: c.chat_completions(None), ValueError, "invalid chat completion request"),
    Refused("chat-messages-empty", chat(messages=[]), ValueError, "messages"),
    Refused("chat-messages-None", chat(messages=None), ValueError, "messages"),
    Refused("chat-None-message", chat_messages({"role": "user", "content": "x"}, None), ValueError, r"messages\.1"),
    Refused("chat-content-None", chat_messages({"role": "user", "content": None}), ValueError, "needs content"),
    Refused("chat-content-missing", chat_messages({"role": "system"}), ValueError, "'system' message needs content"),
    Refused("chat-content-int", chat_messages({"role": "user", "content": 42}), ValueError, r"messages\.0\.content"),
    Refused("chat-content-bytes", chat_messages({"role": "user", "content": b"hi"}), ValueError, "content"),
    Refused("chat-content-dict", chat_messages({"role": "user", "content": {"text": "x"}}), ValueError, "content"),
    Refused("chat-role-unknown", chat_messages({"role": "robot", "content": "x"}), ValueError, "role"),
    Refused(
        "chat-tool-call-arguments-a-dict",
        chat_messages(
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}]},
        ),
        ValueError,
        "arguments",
    ),
    # chat: sampling options
    Refused("chat-temperature-nan", chat(temperature=NAN), ValueError, "temperature"),
    Refused("chat-temperature-inf", chat(temperature=INF), ValueError, "temperature"),
    Refused("chat-temperature-minus-inf", chat(temperature=-INF), ValueError, "temperature"),
    Refused("chat-top-p-nan", chat(top_p=NAN), ValueError, "top_p"),
    Refused("chat-top-p-inf", chat(top_p=INF), ValueError, "top_p"),
    Refused("chat-frequency-penalty-minus-inf", chat(frequency_penalty=-INF), ValueError, "frequency_penalty"),
    Refused("chat-repetition-penalty-nan", chat(repetition_penalty=NAN), ValueError, "repetition_penalty"),
    Refused("chat-logit-bias-nan", chat(logit_bias={"42": NAN}), ValueError, r"request\.logit_bias\.42 .*non-finite"),
    Refused(
        "chat-template-kwargs-inf",
        chat(chat_template_kwargs={"budget": INF}),
        ValueError,
        r"chat_template_kwargs\.budget .*non-finite",
    ),
    Refused("chat-unknown-field", chat(frobnicate=True), ValueError, "frobnicate"),
    Refused("chat-unknown-stream-option", chat(stream_options={"chunk": 1}), ValueError, "chunk"),
    Refused("chat-model-empty", chat(model=""), ValueError, "model"),
    Refused("chat-model-blank", chat(model="   "), ValueError, "model must not be blank"),
    Refused("chat-model-None", chat(model=None), ValueError, "model"),
    # chat: tool schemas
    Refused("tool-without-name", tool({"parameters": OBJECT_TOOL}), ValueError, r"tools\.0\.function\.name"),
    Refused("tool-name-empty", tool({"name": "", "parameters": OBJECT_TOOL}), ValueError, "name"),
    Refused("tool-name-with-spaces", tool({"name": "get weather"}), ValueError, "tool name 'get weather'"),
    Refused("tool-name-path", tool({"name": "../tools/x"}), ValueError, "tool name '../tools/x'"),
    Refused("tool-name-newline", tool({"name": "f\nignore previous"}), ValueError, "tool name"),
    Refused("tool-name-unicode", tool({"name": "météo"}), ValueError, "tool name 'météo'"),
    Refused("tool-name-65-chars", tool({"name": "f" * 65}), ValueError, "tool name"),
    Refused("tool-name-int", tool({"name": 7}), ValueError, "name"),
    Refused("tool-parameters-a-list", tool({"name": "f", "parameters": [OBJECT_TOOL]}), ValueError, "parameters"),
    Refused("tool-parameters-a-str", tool({"name": "f", "parameters": "object"}), ValueError, "parameters"),
    Refused(
        "tool-parameters-type-string",
        tool({"name": "f", "parameters": {"type": "string"}}),
        ValueError,
        "JSON Schema of type 'object', not 'string'",
    ),
    Refused(
        "tool-default-not-serialisable",
        tool({"name": "f", "parameters": {"type": "object", "properties": {"x": {"default": object()}}}}),
        ValueError,
        "not JSON-serialisable",
    ),
    Refused(
        "tool-default-nan",
        tool({"name": "f", "parameters": {"type": "object", "properties": {"x": {"default": NAN}}}}),
        ValueError,
        r"tools\[0\]\.function\.parameters\.properties\.x\.default .*non-finite",
    ),
    Refused("tool-unknown-key", tool({"name": "f", "parms": OBJECT_TOOL}), ValueError, "parms"),
    Refused(
        "tool-choice-undeclared",
        chat(
            tools=[{"type": "function", "function": {"name": "f"}}],
            tool_choice={"type": "function", "function": {"name": "g"}},
        ),
        ValueError,
        "'g'",
    ),
]


@pytest.mark.parametrize("row", CLIENT_REFUSED, ids=lambda r: r.id)
async def test_client_refuses_before_sending(sie: Any, row: Refused) -> None:
    """The MockTransport must see nothing: the hostile input is refused with a clear, typed exception."""
    sie.server.then(FakeSIE())
    with pytest.raises(row.error, match=row.match):
        await sie.call(row.call(sie.client()))
    assert sie.server.count == 0


@dataclass(frozen=True)
class Sent:
    """A hostile-looking input that is valid: ``check(result, body)`` on the one request sent."""

    id: str
    call: Callable[[Any], Any]
    check: Callable[[Any, Any], None]


def texts_sent(*texts: str) -> Callable[[Any, Any], None]:
    """The items arrived verbatim and each result is its own input's (its vector is the text's)."""

    def check(result: Any, body: Any) -> None:
        assert [item["text"] for item in body["items"]] == list(texts)
        assert len(result) == len(texts)
        if hasattr(result[0], "dense"):
            assert [r.dense.tolist() for r in result] == [vector_of(t) for t in texts]
        elif hasattr(result[0], "index"):
            assert sorted(r.index for r in result) == list(range(len(texts)))
        else:
            assert [r.id for r in result] == [f"item-{i}" for i in range(len(texts))]

    return check


def options_sent(where: str, expected: dict[str, Any]) -> Callable[[Any, Any], None]:
    def check(result: Any, body: Any) -> None:
        options = body["params"]["options"] if where == "params" else body["options"]
        assert options == expected
        assert len(result) == 1

    return check


def chat_sent(predicate: Callable[[dict[str, Any]], bool]) -> Callable[[Any, Any], None]:
    """The chat body satisfies ``predicate``, and the answer came back."""

    def check(result: Any, body: Any) -> None:
        assert predicate(body), body
        assert result.choices[0].message.content == f"{len(body['messages'])} messages"

    return check


def generated(prompt: str) -> Callable[[Any, Any], None]:
    def check(result: Any, body: Any) -> None:
        assert body["prompt"] == prompt
        assert result.text == "ok"

    return check


UNKNOWN_OPTIONS = {"frobnicate": 1, "nested": {"a": [1, 2.5]}, "huge": 1e308, "tiny": -0.0}


CLIENT_SENT = [
    Sent("encode-empty-string", lambda c: c.encode("m", [""]), texts_sent("")),
    Sent("encode-whitespace", lambda c: c.encode("m", [" ", "\t\n", "\u3000"]), texts_sent(" ", "\t\n", "\u3000")),
    Sent("encode-nul-and-emoji", lambda c: c.encode("m", ["a\x00b", "🦜\ud7ff"]), texts_sent("a\x00b", "🦜\ud7ff")),
    Sent("encode-tuple-of-texts", lambda c: c.encode("m", ("a", "b")), texts_sent("a", "b")),
    Sent(
        "encode-unknown-options-pass-through",
        lambda c: c.encode("m", ["x"], options=UNKNOWN_OPTIONS),
        options_sent("params", UNKNOWN_OPTIONS),
    ),
    Sent("score-empty-query", lambda c: c.score("m", "", ["a", "b"]), texts_sent("a", "b")),
    Sent("score-empty-documents", lambda c: c.score("m", "q", ["", " "]), texts_sent("", " ")),
    Sent(
        "score-unknown-options-pass-through",
        lambda c: c.score("m", "q", ["a"], options=UNKNOWN_OPTIONS),
        options_sent("top", UNKNOWN_OPTIONS),
    ),
    Sent("extract-empty-string", lambda c: c.extract("m", ["", "  "], labels=["p"]), texts_sent("", "  ")),
    Sent(
        "extract-unknown-options-pass-through",
        lambda c: c.extract("m", ["x"], options=UNKNOWN_OPTIONS),
        options_sent("params", UNKNOWN_OPTIONS),
    ),
    Sent(
        "generate-whitespace-prompt",
        lambda c: c.generate("m", " \n ", max_new_tokens=1),
        generated(" \n "),
    ),
    Sent(
        "chat-empty-content",
        chat_messages({"role": "user", "content": ""}),
        chat_sent(lambda body: body["messages"] == [{"role": "user", "content": ""}]),
    ),
    Sent(
        "chat-extra-key-in-a-message-passes",
        chat_messages({"role": "user", "content": "x", "x_trace": "t1"}),
        chat_sent(lambda body: body["messages"][0]["x_trace"] == "t1"),
    ),
    Sent(
        "chat-history-tool-arguments-not-json",
        chat_messages(
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Os'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "error: bad arguments"},
        ),
        chat_sent(history_arguments('{"city": "Os')),
    ),
    Sent(
        "tool-name-64-chars-dots-dashes",
        tool({"name": "a" * 60 + ".b-c", "parameters": {}}),
        chat_sent(lambda body: body["tools"][0]["function"]["name"] == "a" * 60 + ".b-c"),
    ),
]


@pytest.mark.parametrize("row", CLIENT_SENT, ids=lambda r: r.id)
async def test_client_sends_valid_odd_input(sie: Any, row: Sent) -> None:
    """The MockTransport receives the input verbatim, once, and the answer maps back to the inputs."""
    sie.server.then(FakeSIE())
    result = await sie.call(row.call(sie.client()))
    assert sie.server.count == 1
    row.check(result, decoded(sie.server.requests[0]))


EMPTY_CALLS = {
    "encode": lambda c: c.encode("m", []),
    "encode-tuple": lambda c: c.encode("m", ()),
    "score": lambda c: c.score("m", "q", []),
    "extract": lambda c: c.extract("m", [], labels=["p"]),
}


@pytest.mark.parametrize("op", list(EMPTY_CALLS))
async def test_client_empty_list_sends_nothing(sie: Any, op: str) -> None:
    """An empty list returns an empty list; the MockTransport sees no request."""
    sie.server.then(FakeSIE())
    assert await sie.call(EMPTY_CALLS[op](sie.client())) == []
    assert sie.server.count == 0


# (model id, raw path segment on the native routes, on /v1/generate); None: refused before sending.
MODEL_IDS: list[tuple[str, str | None, str | None]] = [
    ("org/model", "org/model", "org__model"),
    ("org/sub/model-v1.5_x~y", "org/sub/model-v1.5_x~y", "org__sub__model-v1.5_x~y"),
    ("org/model:profile", "org/model:profile", "org__model:profile"),
    ("a b", "a%20b", "a%20b"),
    ("model?x=1", "model%3Fx%3D1", "model%3Fx%3D1"),
    ("model#frag", "model%23frag", "model%23frag"),
    ("%2e%2e/x", "%252e%252e/x", "%252e%252e__x"),
    ("..%2f..%2fv1%2fpools", "..%252f..%252fv1%252fpools", "..%252f..%252fv1%252fpools"),
    ("a\\..\\b", "a%5C..%5Cb", "a%5C..%5Cb"),
    ("café/模型", "caf%C3%A9/%E6%A8%A1%E5%9E%8B", "caf%C3%A9__%E6%A8%A1%E5%9E%8B"),
    ("...", "...", "..."),
    ("../../v1/pools", None, None),
    ("org/../../v1/pools", None, None),
    ("..", None, None),
    ("./model", None, None),
    ("org/./model", None, None),
    ("org//model", None, None),
    ("/v1/pools", None, None),
    ("org/model/", None, None),
    ("model\r\nX-Injected: 1", None, None),
    ("model\x00", None, None),
    ("", None, None),
    ("   ", None, None),
]


def _route_safe(request: httpx.Request, prefix: str, segment: str) -> None:
    assert request.url.raw_path == f"{prefix}{segment}".encode()  # exact: nothing normalised away
    assert request.url.query == b""
    assert request.url.fragment == ""


@pytest.mark.parametrize(("model", "segment", "generate_segment"), MODEL_IDS, ids=repr)
async def test_model_id_in_native_paths(
    sie: Any, model: str, segment: str | None, generate_segment: str | None
) -> None:
    """The MockTransport receives get_model, encode, score, extract and generate on their own route only."""
    sie.server.then(FakeSIE())
    client = sie.client()
    calls = {
        "/v1/models/": lambda: client.get_model(model),
        "/v1/encode/": lambda: client.encode(model, ["x"]),
        "/v1/score/": lambda: client.score(model, "q", ["x"]),
        "/v1/extract/": lambda: client.extract(model, ["x"]),
        "/v1/generate/": lambda: client.generate(model, "p", max_new_tokens=1),
    }
    if segment is None:
        for call in calls.values():
            with pytest.raises(ValueError, match="model"):
                await sie.call(call())
        assert sie.server.count == 0
        return
    info = await sie.call(calls["/v1/models/"]())
    assert info.name == model  # the server saw the id itself, once decoded
    for call in list(calls.values())[1:]:
        await sie.call(call())
    prefixes = list(calls)
    assert [r.url.path[: len(p)] for r, p in zip(sie.server.requests, prefixes, strict=True)] == prefixes
    for request, prefix in zip(sie.server.requests[:4], prefixes, strict=False):
        _route_safe(request, prefix, segment)
        if request.content:
            assert "model" not in decoded(request)  # native routes carry the id in the path only
    _route_safe(sie.server.requests[4], "/v1/generate/", str(generate_segment))


@pytest.mark.parametrize(("model", "segment", "generate_segment"), MODEL_IDS, ids=repr)
async def test_model_id_in_chat_body(sie: Any, model: str, segment: str | None, generate_segment: str | None) -> None:
    """The MockTransport receives every non-blank id verbatim in the chat body; the path never changes."""
    sie.server.then(FakeSIE())
    client = sie.client()
    if not model.strip():
        with pytest.raises(ValueError, match="model"):
            await sie.call(client.chat_completions({**CHAT, "model": model}))
        assert sie.server.count == 0
        return
    await sie.call(client.chat_completions({**CHAT, "model": model}))
    (request,) = sie.server.requests
    _route_safe(request, "/v1/chat/completions", "")
    assert decoded(request)["model"] == model


def _client_call(op: str) -> Callable[[FakeSIE, str], Awaitable[Any]]:
    async def run(server: FakeSIE, mode: str) -> Any:
        if mode == "sync":
            client: Any = SIEClient("http://sie.test", http_client=server.client())
        else:
            client = AsyncSIEClient("http://sie.test", http_client=server.async_client())
        value = {
            "encode": lambda: client.encode("m", ["short", HUGE]),
            "score-query": lambda: client.score("m", HUGE, ["a"]),
            "score-document": lambda: client.score("m", "q", [HUGE]),
            "extract": lambda: client.extract("m", [HUGE], labels=["p"]),
            "generate": lambda: client.generate("m", HUGE, max_new_tokens=1),
            "chat": lambda: client.chat_completions({**CHAT, "messages": [{"role": "user", "content": HUGE}]}),
        }[op]()
        return value if mode == "sync" else await value

    return run


ENORMOUS = [
    Case("client-encode", _client_call("encode")),
    Case("client-score-query", _client_call("score-query")),
    Case("client-score-document", _client_call("score-document")),
    Case("client-extract", _client_call("extract")),
    Case("client-generate", _client_call("generate")),
    Case("client-chat", _client_call("chat")),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ENORMOUS, ids=lambda r: r.id)
async def test_enormous_text_is_sent_and_input_too_long_is_typed(row: Case, mode: str) -> None:
    await enormous(row, mode)


def test_table_sizes() -> None:
    tables = {
        "refused": CLIENT_REFUSED,
        "sent": CLIENT_SENT,
        "empty": list(EMPTY_CALLS),
        "model ids": MODEL_IDS,
        "enormous": ENORMOUS,
    }
    check_tables(tables, 100)
