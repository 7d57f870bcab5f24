"""LlamaIndex's events against the real SIE peer (live): one LLM event a request, structured prediction events,
the ``RERANKING`` callback, ``pydantic_program_mode``; replayed from cassettes by default."""

from __future__ import annotations

from collections.abc import Iterator

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
from llama_index.core.instrumentation.events.llm import LLMStructuredPredictEndEvent, LLMStructuredPredictStartEvent
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from sie_integrations.llama_index import SIELLM, SIEChatModel, SIEReranker
from tests.support.events import recorded
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]


class CityTemp(BaseModel):
    city: str
    temp_c: int


@pytest.fixture
def events() -> Iterator[list[BaseEvent]]:
    with recorded() as seen:
        yield seen


@pytest.mark.parametrize("streamed", [False, True])
def test_one_completion_is_counted_once(sie_url: str, streamed: bool) -> None:
    """Before: ``[(65, 2), (65, 2)]`` for one ``complete``."""
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm = SIEChatModel(
        model_name="tiny-chat", base_url=sie_url, api_key=LIVE_API_KEY, callback_manager=CallbackManager([counter])
    )
    text = [r.text for r in llm.stream_complete("Hello")][-1] if streamed else llm.complete("Hello").text
    assert text == "Hello from tiny-chat!"
    assert len(counter.llm_token_counts) == 1
    assert counter.llm_token_counts[0].prompt_token_count > 0


@pytest.mark.parametrize("mode", [PydanticProgramMode.DEFAULT, PydanticProgramMode.LLM])
async def test_structured_predict_events_and_program_mode(
    sie_url: str, mode: PydanticProgramMode, events: list[BaseEvent]
) -> None:
    llm = SIEChatModel(model_name="tiny-json", base_url=sie_url, api_key=LIVE_API_KEY, pydantic_program_mode=mode)
    prompt = PromptTemplate("The weather in {city}?")
    assert llm.structured_predict(CityTemp, prompt, city="Paris") == CityTemp(city="Paris", temp_c=21)
    assert await llm.astructured_predict(CityTemp, prompt, city="Paris") == CityTemp(city="Paris", temp_c=21)
    assert sum(isinstance(e, LLMStructuredPredictStartEvent) for e in events) == 2
    assert [e.output for e in events if isinstance(e, LLMStructuredPredictEndEvent)] == [
        CityTemp(city="Paris", temp_c=21)
    ] * 2
    assert llm.structured_output_method == ("json_prompt" if mode == PydanticProgramMode.DEFAULT else None)


def test_a_reranking_fires_the_reranking_callback(sie_url: str) -> None:
    debug = LlamaDebugHandler()
    reranker = SIEReranker(
        model_name="sie-fake",
        top_n=2,
        base_url=sie_url,
        api_key=LIVE_API_KEY,
        callback_manager=CallbackManager([debug]),
    )
    nodes = [NodeWithScore(node=TextNode(text=t, id_=t), score=0.0) for t in ("red", "green", "blue")]
    ranked = reranker.postprocess_nodes(nodes, query_bundle=QueryBundle("a colour"))
    ((start, end),) = debug.get_event_pairs(CBEventType.RERANKING)
    assert start.payload is not None and end.payload is not None
    assert start.payload[EventPayload.MODEL_NAME] == "sie-fake"
    assert [n.node.node_id for n in end.payload[EventPayload.NODES]] == [n.node.node_id for n in ranked]
    assert len(ranked) == 2


@pytest.mark.parametrize("streamed", [False, True])
def test_a_completion_models_chat_is_counted_once(sie_url: str, streamed: bool) -> None:
    """``SIELLM.chat`` called the decorated ``complete``: two LLM events for one request."""
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm = SIELLM(
        model_name="tiny-chat", base_url=sie_url, api_key=LIVE_API_KEY, callback_manager=CallbackManager([counter])
    )
    messages = [ChatMessage(role="user", content="Hello")]
    reply = [r for r in llm.stream_chat(messages)][-1] if streamed else llm.chat(messages)
    assert reply.message.content
    assert len(counter.llm_token_counts) == 1
