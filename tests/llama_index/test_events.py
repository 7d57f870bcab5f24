"""LlamaIndex's events, as core's own classes fire them: one LLM event a request whichever method, structured
prediction events, the ``RERANKING`` callback; and ``pydantic_program_mode`` honoured. On ``FakeSIE``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import (
    CallbackManager,
    CBEventType,
    EventPayload,
    LlamaDebugHandler,
    TokenCountingHandler,
)
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatStartEvent,
    LLMCompletionStartEvent,
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from sie_integrations.llama_index import SIEChatModel, SIEReranker
from tests.fakes.chat import ChatServer, completion, delta, finish, sse
from tests.fakes.sie import FakeSIE, model_entry
from tests.support.calls import COMPLETE, completed
from tests.support.events import recorded


class City(BaseModel):
    name: str


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    with recorded() as seen:
        yield seen


USAGE = {"prompt_tokens": 65, "completion_tokens": 2, "total_tokens": 67}


def answer(request: httpx.Request) -> httpx.Response:
    """A chat answer, streamed when asked, with usage."""
    if json.loads(request.content).get("stream"):
        return sse(delta(role="assistant", content="ok"), finish("stop", usage=USAGE))
    return completion({"content": "ok"}, usage=USAGE)


def counted(server: ChatServer) -> tuple[SIEChatModel, TokenCountingHandler]:
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm = SIEChatModel(model_name="m", callback_manager=CallbackManager([counter]), **server.connection())
    return llm, counter


@pytest.mark.parametrize("how", COMPLETE)
async def test_a_completion_is_one_llm_event(how: str, events: list[BaseEvent]) -> None:
    """Before: ``complete`` called the decorated ``chat``: two LLM events, ``[(65, 2), (65, 2)]`` counted."""
    server = ChatServer(answer)
    llm, counter = counted(server)
    assert await completed(llm, how) == "ok"
    assert len(server.chats) == 1
    assert [(c.prompt_token_count, c.completion_token_count) for c in counter.llm_token_counts] == [(65, 2)]
    starts = [type(e) for e in events if isinstance(e, LLMCompletionStartEvent | LLMChatStartEvent)]
    assert starts == [LLMCompletionStartEvent]


def test_a_chat_is_one_llm_event(events: list[BaseEvent]) -> None:
    llm, counter = counted(ChatServer(answer))
    llm.chat([ChatMessage(role="user", content="hi")])
    assert len(counter.llm_token_counts) == 1
    assert [type(e) for e in events if isinstance(e, LLMCompletionStartEvent | LLMChatStartEvent)] == [
        LLMChatStartEvent
    ]


def _json_city(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("tools"):
        call = {"id": "c1", "type": "function", "function": {"name": "City", "arguments": '{"name": "Paris"}'}}
        return {"content": None, "tool_calls": [call]}
    return {"content": json.dumps({"name": "Paris"})}


GRAMMAR = model_entry("m", [], capabilities={"tools": True, "grammar": ["json_schema"], "streaming": True})


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_structured_predict_fires_its_start_and_end_events(asynchronous: bool, events: list[BaseEvent]) -> None:
    """Before: the non-streamed ``structured_predict`` fired neither event (core's own fires both)."""
    llm = SIEChatModel(model_name="m", **FakeSIE(chat=_json_city, models=[GRAMMAR]).connection())
    prompt = PromptTemplate("Which city is {place}?")
    if asynchronous:
        city = await llm.astructured_predict(City, prompt, place="the capital of France")
    else:
        city = llm.structured_predict(City, prompt, place="the capital of France")
    assert city == City(name="Paris")
    starts = [e for e in events if isinstance(e, LLMStructuredPredictStartEvent)]
    ends = [e for e in events if isinstance(e, LLMStructuredPredictEndEvent)]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0].template_args == {"place": "the capital of France"}
    assert ends[0].output == City(name="Paris")


@pytest.mark.parametrize(
    ("mode", "sent"),
    [
        (PydanticProgramMode.DEFAULT, "response_format"),  # the server constrains decoding: its best method
        (PydanticProgramMode.FUNCTION, "tools"),
        (PydanticProgramMode.LLM, None),  # core's text completion program: the schema in the prompt
    ],
)
def test_pydantic_program_mode_is_honoured(mode: PydanticProgramMode, sent: str | None) -> None:
    """Before: ignored; every mode planned from the server's capabilities."""
    server = FakeSIE(chat=_json_city, models=[GRAMMAR])
    llm = SIEChatModel(model_name="m", pydantic_program_mode=mode, **server.connection())
    assert llm.structured_predict(City, PromptTemplate("Which city is {place}?"), place="it") == City(name="Paris")
    body = server.sent("chat")[0]
    assert [k for k in ("response_format", "tools") if k in body] == ([sent] if sent else [])
    if mode == PydanticProgramMode.LLM:
        assert "name" in json.dumps(body["messages"])  # the schema travels in the prompt


class Fixed(BaseRetriever):
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(text=f"doc {i}", id_=f"n{i}"), score=0.0) for i in range(4)]


def test_a_reranking_shows_in_a_query_engines_debug_handler() -> None:
    """Before: no ``RERANKING`` event (core's ``SentenceTransformerRerank`` and Cohere's fire one)."""
    debug = LlamaDebugHandler()
    server = FakeSIE()
    engine = RetrieverQueryEngine.from_args(
        Fixed(),
        llm=SIEChatModel(model_name="chat", context_window=4096, **server.connection()),
        node_postprocessors=[SIEReranker(model_name="m", top_n=2, **server.connection())],
        callback_manager=CallbackManager([debug]),
    )
    engine.query("which doc?")
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 1
    start, end = pairs[0]
    assert start.payload is not None and end.payload is not None
    assert start.payload[EventPayload.QUERY_STR] == "which doc?"
    assert (start.payload[EventPayload.TOP_K], start.payload[EventPayload.MODEL_NAME]) == (2, "m")
    assert [n.node.node_id for n in end.payload[EventPayload.NODES]] == ["n3", "n2"]
