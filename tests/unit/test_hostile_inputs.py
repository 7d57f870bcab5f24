"""Hostile input from users, table by table, against a server simulated with ``httpx.MockTransport``.

Every row is one hostile input to one public entry point (the client, the LangChain and the LlamaIndex
adapters). A row either expects a clear exception raised before anything is sent (the MockTransport saw no
request; the exception type and a fragment of its message naming the problem are checked), or a correct
result, checked on what the MockTransport received and what came back. Every row runs sync and async.

The tables are the module-level lists below; ``TABLES`` counts them.

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

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import msgpack
import pytest
from langchain_core import exceptions as lc_exceptions
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel, Field

from sie_integrations import AsyncSIEClient, InputTooLongError, Item, SIEClient
from sie_integrations.langchain import SIEChatModel as LCChat
from sie_integrations.langchain import SIEEmbeddings as LCEmbeddings
from sie_integrations.langchain import SIEExtractor as LCExtractor
from sie_integrations.langchain import SIEReranker as LCReranker
from sie_integrations.llama_index import SIEChatModel as LIChat
from sie_integrations.llama_index import SIEEmbeddings as LIEmbeddings
from sie_integrations.llama_index import SIEReranker as LIReranker
from tests.fakes.scripted import sync_or_async

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")

NAN, INF = math.nan, math.inf
MODES = ["sync", "async"]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
HUGE = "x" * (5 * 2**20)  # 5 MiB of text: sent as is, refused by the (simulated) server
HUGE_MESSAGE = "input of 1310720 tokens exceeds the model's 8192"


# --- a correct server, behind httpx.MockTransport ----------------------------------------------


def decoded(request: httpx.Request) -> Any:
    """The body the MockTransport received, msgpack or JSON."""
    if not request.content:
        return None
    if "msgpack" in request.headers.get("content-type", ""):
        return msgpack.unpackb(request.content, raw=False)
    return json.loads(request.content)


def answer(request: httpx.Request) -> httpx.Response:
    """What a correct server answers, sized to the request. Dense vectors are ``[position, len(text)]``."""
    path, body = request.url.path, decoded(request)
    if path.startswith("/v1/encode/"):
        items = [
            {"dense": {"dims": 2, "dtype": "float32", "values": [float(i), float(len(item.get("text", "")))]}}
            for i, item in enumerate(body["items"])
        ]
        return httpx.Response(200, json={"model": "m", "items": items})
    if path.startswith("/v1/score/"):
        items = body["items"]
        scores = [
            {"item_id": item.get("id", f"item-{i}"), "score": float(len(items) - i), "rank": i}
            for i, item in enumerate(items)
        ]
        return httpx.Response(200, json={"model": "m", "query_id": None, "scores": scores})
    if path.startswith("/v1/extract/"):
        items = [
            {"id": f"item-{i}", "entities": [], "relations": [], "classifications": [], "objects": [], "data": {}}
            for i in range(len(body["items"]))
        ]
        return httpx.Response(200, json={"model": "m", "items": items})
    if path == "/v1/chat/completions":
        message = {"role": "assistant", "content": f"{len(body['messages'])} messages"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return httpx.Response(200, json={"id": "c1", "model": body["model"], "choices": [choice]})
    if path.startswith("/v1/generate/"):
        return httpx.Response(200, json={"model": "m", "text": "ok", "finish_reason": "stop"})
    if path.startswith("/v1/models/"):
        raw = request.url.raw_path.decode("ascii").split("?")[0]  # url.path is already percent-decoded
        return httpx.Response(200, json={"name": unquote(raw[len("/v1/models/") :]), "max_sequence_length": 512})
    raise AssertionError(f"the MockTransport has no route {request.method} {path}")


def too_long(request: httpx.Request) -> httpx.Response:
    """A 400 INPUT_TOO_LONG in the route's envelope: OpenAI-style on chat, ``detail`` on the native routes."""
    fields = {"code": "INPUT_TOO_LONG", "message": HUGE_MESSAGE}
    if request.url.path == "/v1/chat/completions":
        return httpx.Response(400, json={"error": {**fields, "type": "invalid_request_error", "param": "messages"}})
    return httpx.Response(400, json={"detail": fields})


class Rig:
    """Adapters wired to one MockTransport handler (sync and async); records what reaches the server."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] = answer) -> None:
        self.reply = reply
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    @property
    def bodies(self) -> list[Any]:
        return [decoded(r) for r in self.requests]

    @property
    def kw(self) -> dict[str, Any]:
        return {
            "base_url": "http://sie.test",
            "http_client": httpx.Client(transport=httpx.MockTransport(self)),
            "http_async_client": httpx.AsyncClient(transport=httpx.MockTransport(self)),
        }


# --- the client: refused before sending -------------------------------------------------------


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
    Refused("encode-Item-without-text", lambda c: c.encode("m", [Item(id="a")]), ValueError, "neither text nor"),
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
        "temperature must be a finite",
    ),
    Refused(
        "generate-temperature-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=INF),
        ValueError,
        "temperature must be a finite",
    ),
    Refused(
        "generate-temperature-minus-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, temperature=-INF),
        ValueError,
        "temperature must be a finite",
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
        "generate-top-p-nan", lambda c: c.generate("m", "p", max_new_tokens=4, top_p=NAN), ValueError, r"top_p .*\(0, 1"
    ),
    Refused(
        "generate-top-p-inf", lambda c: c.generate("m", "p", max_new_tokens=4, top_p=INF), ValueError, r"top_p .*\(0, 1"
    ),
    Refused(
        "generate-top-p-minus-inf",
        lambda c: c.generate("m", "p", max_new_tokens=4, top_p=-INF),
        ValueError,
        r"top_p .*\(0, 1",
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
    sie.server.then(answer)
    with pytest.raises(row.error, match=row.match):
        await sie.call(row.call(sie.client()))
    assert sie.server.count == 0


# --- the client: sent, and answered correctly --------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A hostile-looking input that is valid: ``check(result, body)`` on the one request sent."""

    id: str
    call: Callable[[Any], Any]
    check: Callable[[Any, Any], None]


def texts_sent(*texts: str) -> Callable[[Any, Any], None]:
    """The items arrived verbatim and each result names its own input (``dense[0]`` is its position)."""

    def check(result: Any, body: Any) -> None:
        assert [item["text"] for item in body["items"]] == list(texts)
        assert len(result) == len(texts)
        if hasattr(result[0], "dense"):
            assert [(r.dense[0], r.dense[1]) for r in result] == [(i, len(t)) for i, t in enumerate(texts)]
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


def history_arguments(arguments: str) -> Callable[[dict[str, Any]], bool]:
    """The replayed assistant turn (message 1) carries these tool-call arguments, verbatim."""
    return lambda body: body["messages"][1]["tool_calls"][0]["function"]["arguments"] == arguments


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
    sie.server.then(answer)
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
    sie.server.then(answer)
    assert await sie.call(EMPTY_CALLS[op](sie.client())) == []
    assert sie.server.count == 0


# --- model ids ---------------------------------------------------------------------------------

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
    sie.server.then(answer)
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
    sie.server.then(answer)
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


# --- the adapters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile input to an adapter: ``run(rig, mode)``; refused with ``error``/``match``, or ``check``ed."""

    id: str
    run: Callable[[Rig, str], Awaitable[Any]]
    error: type[Exception] | None = None
    match: str = ""
    check: Callable[[Any, list[Any]], None] | None = None


def lc_embeddings(rig: Rig, **kwargs: Any) -> LCEmbeddings:
    return LCEmbeddings(model=kwargs.pop("model", "m"), **rig.kw, **kwargs)


def lc_reranker(rig: Rig) -> LCReranker:
    return LCReranker(model="m", top_n=None, **rig.kw)


def lc_chat(rig: Rig, **kwargs: Any) -> LCChat:
    return LCChat(model=kwargs.pop("model", "m"), **rig.kw, **kwargs)


def lc_extractor(rig: Rig, **kwargs: Any) -> LCExtractor:
    return LCExtractor(model="m", labels=kwargs.pop("labels", ["person"]), **rig.kw, **kwargs)


def li_embeddings(rig: Rig, **kwargs: Any) -> LIEmbeddings:
    return LIEmbeddings(model_name=kwargs.pop("model_name", "m"), **rig.kw, **kwargs)


def li_reranker(rig: Rig) -> LIReranker:
    return LIReranker(model_name="m", top_n=10, **rig.kw)


def li_chat(rig: Rig, **kwargs: Any) -> LIChat:
    return LIChat(model_name="m", context_window=4096, **rig.kw, **kwargs)


def docs(*texts: str) -> list[Document]:
    return [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(texts)]


def nodes(*texts: str) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=t)) for t in texts]


def li_user(text: str = "hi") -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return city


class NanDefault(BaseModel):
    """A tool whose schema has a NaN default."""

    scale: float = NAN


class OpaqueDefault(BaseModel):
    """A tool whose schema has a default JSON cannot carry."""

    when: Any = Field(default_factory=lambda: None, json_schema_extra={"default": object()})


def lc_bind(rig: Rig, tools: list[Any], mode: str) -> Awaitable[Any]:
    return sync_or_async(lc_chat(rig).bind_tools(tools), "invoke", mode, "weather?")


def li_tools(rig: Rig, tools: list[Any], mode: str, **kwargs: Any) -> Awaitable[Any]:
    return sync_or_async(li_chat(rig), "chat_with_tools", mode, tools, user_msg="weather?", **kwargs)


LC_BAD_ARGS = AIMessage(
    content="",
    invalid_tool_calls=[{"type": "invalid_tool_call", "id": "c1", "name": "get_weather", "args": '{"city": "Os'}],
)
LC_LEGACY_BAD_ARGS = AIMessage(
    content="",
    additional_kwargs={
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{oops"}}]
    },
)
LI_BAD_ARGS = ChatMessage(
    role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="get_weather", tool_kwargs="{oops")]
)
LI_LEGACY_BAD_ARGS = ChatMessage(
    role=MessageRole.ASSISTANT,
    content="",
    additional_kwargs={
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{oops"}}]
    },
)
LI_TOOL_REPLY = ChatMessage(role=MessageRole.TOOL, content="bad arguments", additional_kwargs={"tool_call_id": "c1"})


ADAPTER_REFUSED = [
    # LangChain SIEEmbeddings
    Case(
        "lc-embed-documents-None",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-documents-a-str",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, "hello"),
        TypeError,
        "list",
    ),
    Case(
        "lc-embed-documents-None-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, ["a", None]),
        TypeError,
        r"item 1 .*NoneType",
    ),
    Case(
        "lc-embed-documents-int-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [3]),
        TypeError,
        r"item 0 .*int",
    ),
    Case(
        "lc-embed-documents-bytes-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [b"a"]),
        TypeError,
        r"item 0 .*bytes",
    ),
    Case(
        "lc-embed-documents-dict-item",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [{"text": "a"}]),
        TypeError,
        r"item 0 .*dict",
    ),
    Case(
        "lc-embed-documents-None-in-a-later-batch",
        lambda r, m: sync_or_async(lc_embeddings(r, batch_size=2), "embed_documents", m, ["a", "b", "c", None]),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-query-None",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "lc-embed-query-list", lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, ["a"]), TypeError, "list"
    ),
    Case(
        "lc-embed-model-path-traversal",
        lambda r, m: sync_or_async(lc_embeddings(r, model="../../v1/pools"), "embed_query", m, "x"),
        ValueError,
        "invalid model id",
    ),
    # LangChain SIEReranker
    Case(
        "lc-rerank-query-None",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("a"), None),
        TypeError,
        "query must be",
    ),
    Case(
        "lc-rerank-query-int",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("a"), 5),
        TypeError,
        "query must be",
    ),
    Case(
        "lc-rerank-documents-None",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, None, "q"),
        TypeError,
        "documents must be a list",
    ),
    Case(
        "lc-rerank-None-document",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, [*docs("a"), None], "q"),
        TypeError,
        "document 1 must be a Document, not NoneType",
    ),
    Case(
        "lc-rerank-str-documents",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, ["a", "b"], "q"),
        TypeError,
        "document 0 must be a Document, not str",
    ),
    # LangChain SIEChatModel
    Case("lc-invoke-None", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, None), ValueError, "Invalid input type"),
    Case("lc-invoke-int", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, 7), ValueError, "Invalid input type"),
    Case("lc-invoke-no-messages", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, []), ValueError, "messages"),
    Case(
        "lc-temperature-nan",
        lambda r, m: sync_or_async(lc_chat(r, temperature=NAN), "invoke", m, "x"),
        ValueError,
        "temperature",
    ),
    Case("lc-top-p-inf", lambda r, m: sync_or_async(lc_chat(r, top_p=INF), "invoke", m, "x"), ValueError, "top_p"),
    Case(
        "lc-call-temperature-minus-inf",
        lambda r, m: sync_or_async(lc_chat(r), "invoke", m, "x", temperature=-INF),
        ValueError,
        "temperature",
    ),
    Case(
        "lc-model-kwargs-unknown-field",
        lambda r, m: sync_or_async(lc_chat(r, model_kwargs={"frobnicate": 1}), "invoke", m, "x"),
        ValueError,
        "frobnicate",
    ),
    Case(
        "lc-model-kwargs-logit-bias-nan",
        lambda r, m: sync_or_async(lc_chat(r, model_kwargs={"logit_bias": {"7": NAN}}), "invoke", m, "x"),
        ValueError,
        "non-finite",
    ),
    Case("lc-model-blank", lambda r, m: sync_or_async(lc_chat(r, model=" "), "invoke", m, "x"), ValueError, "blank"),
    Case(
        "lc-audio-content-block",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage(content=[{"type": "audio", "data": "AA=="}])]
        ),
        ValueError,
        "'audio'",
    ),
    Case(
        "lc-bind-tool-without-name",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"parameters": OBJECT_TOOL}}], m),
        ValueError,
        "name",
    ),
    Case(
        "lc-bind-tool-name-with-spaces",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"name": "get weather"}}], m),
        ValueError,
        "tool name 'get weather'",
    ),
    Case(
        "lc-bind-json-schema-titled-with-spaces",
        lambda r, m: lc_bind(r, [{"title": "Get Weather!", "description": "d", **OBJECT_TOOL}], m),
        ValueError,
        "tool name 'Get Weather!'",
    ),
    Case(
        "lc-bind-tool-parameters-not-an-object",
        lambda r, m: lc_bind(r, [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}], m),
        ValueError,
        "type 'object'",
    ),
    Case("lc-bind-tool-nan-default", lambda r, m: lc_bind(r, [NanDefault], m), ValueError, "non-finite"),
    Case(
        "lc-bind-model-unserialisable-default",  # refused by pydantic while LangChain builds the schema
        lambda r, m: lc_bind(r, [OpaqueDefault], m),
        ValueError,
        "serialize unknown type",
    ),
    Case(
        "lc-bind-dict-tool-unserialisable-default",
        lambda r, m: lc_bind(
            r,
            [{"type": "function", "function": {"name": "f", "parameters": {**OBJECT_TOOL, "default": object()}}}],
            m,
        ),
        ValueError,
        "not JSON-serialisable",
    ),
    # LangChain SIEExtractor
    Case(
        "lc-extract-None", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": None}), ValueError, "text"
    ),
    Case("lc-extract-int", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": 7}), ValueError, "text"),
    Case(
        "lc-extract-no-text", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"txt": "a"}), ValueError, "text"
    ),
    Case(
        "lc-extract-empty-label",
        lambda r, m: sync_or_async(lc_extractor(r, labels=[""]), "invoke", m, "a"),
        TypeError,
        "labels",
    ),
    # LlamaIndex SIEEmbeddings
    Case(
        "li-embed-batch-None",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, None),
        TypeError,
        "NoneType",
    ),
    Case(
        "li-embed-batch-None-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, ["a", None]),
        TypeError,
        r"item 1 .*NoneType",
    ),
    Case(
        "li-embed-batch-int-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [1]),
        TypeError,
        r"item 0 .*int",
    ),
    Case(
        "li-embed-batch-bytes-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [b"a"]),
        TypeError,
        r"item 0 .*bytes",
    ),
    Case(
        "li-embed-batch-list-item",
        lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [["a"]]),
        TypeError,
        r"item 0 .*list",
    ),
    Case(
        "li-embed-model-path-traversal",
        lambda r, m: sync_or_async(li_embeddings(r, model_name="a/../b"), "get_text_embedding_batch", m, ["x"]),
        ValueError,
        "invalid model id",
    ),
    # LlamaIndex SIEReranker
    Case(
        "li-rerank-no-query",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes("a")),
        ValueError,
        "needs a query",
    ),
    Case(
        "li-rerank-nodes-None",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, None, query_str="q"),
        ValueError,
        "nodes",
    ),
    Case(
        "li-rerank-None-node",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, [None], query_str="q"),
        ValueError,
        "nodes",
    ),
    # LlamaIndex SIEChatModel
    Case("li-chat-no-messages", lambda r, m: sync_or_async(li_chat(r), "chat", m, []), ValueError, "messages"),
    Case("li-chat-None", lambda r, m: sync_or_async(li_chat(r), "chat", m, None), ValueError, "messages"),
    Case("li-chat-None-message", lambda r, m: sync_or_async(li_chat(r), "chat", m, [None]), ValueError, "messages"),
    Case(
        "li-temperature-nan",
        lambda r, m: sync_or_async(li_chat(r, temperature=NAN), "chat", m, li_user()),
        ValueError,
        "temperature",
    ),
    Case(
        "li-call-top-p-inf",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user(), top_p=INF),
        ValueError,
        "top_p",
    ),
    Case(
        "li-additional-kwargs-unknown-field",
        lambda r, m: sync_or_async(li_chat(r, additional_kwargs={"frobnicate": 1}), "chat", m, li_user()),
        ValueError,
        "frobnicate",
    ),
    Case(
        "li-additional-kwargs-logit-bias-inf",
        lambda r, m: sync_or_async(li_chat(r, additional_kwargs={"logit_bias": {"5": INF}}), "chat", m, li_user()),
        ValueError,
        "non-finite",
    ),
    Case(
        "li-tool-message-without-call-id",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [ChatMessage(role=MessageRole.TOOL, content="42")]),
        ValueError,
        "tool_call_id",
    ),
    Case(
        "li-tool-nan-default",
        lambda r, m: li_tools(r, [FunctionTool.from_defaults(fn=get_weather, name="scale", fn_schema=NanDefault)], m),
        ValueError,
        "non-finite",
    ),
]


def embedded(*texts: str) -> Callable[[Any, list[Any]], None]:
    """One vector per text, in input order; every text arrived verbatim."""

    def check(result: Any, bodies: list[Any]) -> None:
        sent = [item["text"] for body in bodies for item in body["items"]]
        assert sorted(sent) == sorted(texts)  # batches may be in flight together, in any order
        assert [v[1] for v in result] == [float(len(t)) for t in texts]

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


ADAPTER_SENT = [
    Case(
        "lc-embed-empty-string",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [""]),
        check=embedded(""),
    ),
    Case(
        "lc-embed-whitespace",
        lambda r, m: sync_or_async(lc_embeddings(r, batch_size=1), "embed_documents", m, [" ", "\n", "\t "]),
        check=embedded(" ", "\n", "\t "),
    ),
    Case(
        "lc-embed-query-empty",
        lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, ""),
        check=holds(lambda v, bodies: v == [0.0, 0.0] and bodies[0]["params"]["options"] == {"is_query": True}),
    ),
    Case(
        "lc-rerank-empty-query-and-document",
        lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs("", "b"), ""),
        check=holds(
            lambda out, bodies: bodies[0]["query"] == {"text": ""} and sorted(d.metadata["i"] for d in out) == [0, 1]
        ),
    ),
    Case(
        "lc-invoke-empty-string",
        lambda r, m: sync_or_async(lc_chat(r), "invoke", m, ""),
        check=chat_body(lambda body: body["messages"] == [{"role": "user", "content": ""}]),
    ),
    Case(
        "lc-history-invalid-tool-call-replayed",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage("w?"), LC_BAD_ARGS, ToolMessage("bad", tool_call_id="c1")]
        ),
        check=chat_body(history_arguments('{"city": "Os')),
    ),
    Case(
        "lc-history-legacy-tool-call-replayed",
        lambda r, m: sync_or_async(
            lc_chat(r), "invoke", m, [HumanMessage("w?"), LC_LEGACY_BAD_ARGS, ToolMessage("bad", tool_call_id="c1")]
        ),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "lc-chat-model-id-odd",
        lambda r, m: sync_or_async(lc_chat(r, model="../../v1/pools?x=1#f"), "invoke", m, "x"),
        check=chat_body(lambda body: body["model"] == "../../v1/pools?x=1#f"),
    ),
    Case(
        "lc-extract-empty-text",
        lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, {"text": ""}),
        check=holds(lambda out, bodies: bodies[0]["items"] == [{"text": ""}] and out["entities"] == []),
    ),
    Case(
        "li-embed-empty-and-whitespace",
        lambda r, m: sync_or_async(
            li_embeddings(r, embed_batch_size=2), "get_text_embedding_batch", m, ["", " ", "\u00a0"]
        ),
        check=embedded("", " ", "\u00a0"),
    ),
    Case(
        "li-rerank-empty-query-and-node",
        lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes("", "b"), query_str=""),
        check=holds(lambda out, bodies: bodies[0]["query"] == {"text": ""} and len(out) == 2),
    ),
    Case(
        "li-chat-empty-content",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user("")),
        check=chat_body(lambda body: body["messages"] == [{"role": "user", "content": ""}]),
    ),
    Case(
        "li-history-tool-arguments-not-json",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [*li_user(), LI_BAD_ARGS, LI_TOOL_REPLY]),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-history-legacy-tool-arguments-not-json",
        lambda r, m: sync_or_async(li_chat(r), "chat", m, [*li_user(), LI_LEGACY_BAD_ARGS, LI_TOOL_REPLY]),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-chat-with-tools-history-not-json",
        lambda r, m: li_tools(
            r, [FunctionTool.from_defaults(fn=get_weather)], m, chat_history=[*li_user(), LI_BAD_ARGS, LI_TOOL_REPLY]
        ),
        check=chat_body(history_arguments("{oops")),
    ),
    Case(
        "li-tool-name-with-spaces-is-sanitised",  # LlamaIndex rewrites the name itself, to a valid one
        lambda r, m: li_tools(r, [FunctionTool.from_defaults(fn=get_weather, name="get weather")], m),
        check=chat_body(lambda body: body["tools"][0]["function"]["name"] == "get_weather"),
    ),
]

ADAPTER_EMPTY = [
    Case("lc-embed-documents", lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [])),
    Case("lc-compress-documents", lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, [], "q")),
    Case(
        "li-get-text-embedding-batch", lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [])
    ),
    Case("li-postprocess-nodes", lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, [], query_str="q")),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ADAPTER_REFUSED, ids=lambda r: r.id)
async def test_adapter_refuses_before_sending(row: Case, mode: str) -> None:
    """The MockTransport behind the adapter must see nothing."""
    rig = Rig()
    assert row.error is not None
    with pytest.raises(row.error, match=row.match):
        await row.run(rig, mode)
    assert rig.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ADAPTER_SENT, ids=lambda r: r.id)
async def test_adapter_sends_valid_odd_input(row: Case, mode: str) -> None:
    """The MockTransport receives the input verbatim and the adapter maps the answer back in order."""
    rig = Rig()
    result = await row.run(rig, mode)
    assert row.check is not None
    row.check(result, rig.bodies)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ADAPTER_EMPTY, ids=lambda r: r.id)
async def test_adapter_empty_list_sends_nothing(row: Case, mode: str) -> None:
    """An empty list returns an empty list; the MockTransport sees no request."""
    rig = Rig()
    assert list(await row.run(rig, mode)) == []
    assert rig.requests == []


# --- enormous input: sent as is, the server's INPUT_TOO_LONG comes back typed ---------------------


def _client_call(op: str) -> Callable[[Rig, str], Awaitable[Any]]:
    async def run(rig: Rig, mode: str) -> Any:
        if mode == "sync":
            client: Any = SIEClient("http://sie.test", http_client=rig.kw["http_client"])
        else:
            client = AsyncSIEClient("http://sie.test", http_client=rig.kw["http_async_client"])
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


HUGE_INPUTS = [
    Case("client-encode", _client_call("encode")),
    Case("client-score-query", _client_call("score-query")),
    Case("client-score-document", _client_call("score-document")),
    Case("client-extract", _client_call("extract")),
    Case("client-generate", _client_call("generate")),
    Case("client-chat", _client_call("chat")),
    Case("lc-embed-documents", lambda r, m: sync_or_async(lc_embeddings(r), "embed_documents", m, [HUGE])),
    Case("lc-embed-query", lambda r, m: sync_or_async(lc_embeddings(r), "embed_query", m, HUGE)),
    Case("lc-rerank", lambda r, m: sync_or_async(lc_reranker(r), "compress_documents", m, docs(HUGE), "q")),
    Case("lc-chat", lambda r, m: sync_or_async(lc_chat(r), "invoke", m, HUGE)),
    Case("lc-extract", lambda r, m: sync_or_async(lc_extractor(r), "invoke", m, HUGE)),
    Case("li-embed-batch", lambda r, m: sync_or_async(li_embeddings(r), "get_text_embedding_batch", m, [HUGE])),
    Case("li-rerank", lambda r, m: sync_or_async(li_reranker(r), "postprocess_nodes", m, nodes(HUGE), query_str="q")),
    Case("li-chat", lambda r, m: sync_or_async(li_chat(r), "chat", m, li_user(HUGE))),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", HUGE_INPUTS, ids=lambda r: r.id)
async def test_enormous_text_is_sent_and_input_too_long_is_typed(row: Case, mode: str) -> None:
    """A 5 MiB text reaches the MockTransport whole, once; its 400 INPUT_TOO_LONG becomes InputTooLongError."""
    rig = Rig(too_long)
    with pytest.raises(InputTooLongError) as caught:
        await row.run(rig, mode)
    error = caught.value
    assert (error.status_code, error.code) == (400, "INPUT_TOO_LONG")
    assert HUGE_MESSAGE in error.message
    assert len(rig.requests) == 1  # a 400 is never retried
    assert len(rig.requests[0].content) > len(HUGE)
    assert HUGE in json.dumps(decoded(rig.requests[0]))  # the whole text, not a truncated one
    if row.id == "lc-chat":  # LangChain's own error class too, where langchain-core has it
        core = getattr(lc_exceptions, "ContextOverflowError", None)
        assert core is None or isinstance(error, core)


# --- the size of every table -------------------------------------------------------------------

TABLES = {
    "client refused": CLIENT_REFUSED,
    "client sent": CLIENT_SENT,
    "client empty": list(EMPTY_CALLS),
    "model ids": MODEL_IDS,
    "adapters refused": ADAPTER_REFUSED,
    "adapters sent": ADAPTER_SENT,
    "adapters empty": ADAPTER_EMPTY,
    "enormous text": HUGE_INPUTS,
}
HOSTILE_INPUTS = sum(len(rows) for rows in TABLES.values())


def test_table_sizes() -> None:
    """Every table has rows and unique ids (so each row is one distinct hostile input)."""
    for name, rows in TABLES.items():
        ids = [getattr(r, "id", r) for r in rows]
        assert ids, name
        assert len(set(map(repr, ids))) == len(ids), name
    assert HOSTILE_INPUTS >= 200
