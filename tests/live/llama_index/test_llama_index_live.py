"""The LlamaIndex adapters against the real SIE peer (live), replayed from cassettes by default."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, PropertyGraphIndex, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.graph_stores.types import KG_NODES_KEY, KG_RELATIONS_KEY, EntityNode, Relation
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from sie_integrations import RequestError
from sie_integrations.llama_index import SIEChatModel, SIEEmbeddings, SIEExtractor, SIEReranker, SIESparseEmbeddings
from tests.support.live import MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

DOCS = [
    Document(text="The Eiffel Tower is in Paris. It was finished in 1889."),
    Document(text="Paris has mild summers, around 25 degrees Celsius."),
    Document(text="Bananas are rich in potassium. They grow in the tropics."),
    Document(text="Alice met Bob in Rome to talk about rerankers."),
]


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"It is 21 degrees and sunny in {city}."


def test_ingestion_pipeline_into_a_vector_index_and_reranked_query(sie_url: str) -> None:
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, embed_batch_size=2)
    extractor = SIEExtractor(model="sie-fake-full", labels=["person", "city"], base_url=sie_url, batch_size=3)
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0), extractor, embeddings]
    )
    nodes = pipeline.run(documents=DOCS)
    assert len(nodes) == len(DOCS)
    for node in nodes:
        assert node.embedding is not None and len(node.embedding) == 384
        assert {"entities", "entity_relations", "classifications"} <= set(node.metadata)
        assert all(isinstance(e, EntityNode) for e in node.metadata[KG_NODES_KEY])
        assert all(isinstance(r, Relation) for r in node.metadata[KG_RELATIONS_KEY])
        assert "entities" not in node.get_content(metadata_mode="embed")  # type: ignore[arg-type]
    index = VectorStoreIndex(nodes, embed_model=embeddings)
    hits = index.as_retriever(similarity_top_k=2).retrieve("What is the weather like in Paris?")
    assert hits[0].node.get_content().startswith("Paris has mild summers")  # real MiniLM similarity
    engine = index.as_query_engine(
        llm=SIEChatModel(model="tiny-chat", base_url=sie_url, max_tokens=16),
        node_postprocessors=[SIEReranker(model="sie-fake", base_url=sie_url, top_n=1)],
        similarity_top_k=3,
    )
    response = engine.query("What is the weather like in Paris?")
    assert str(response) == "Hello from tiny-chat!"
    assert len(response.source_nodes) == 1
    assert isinstance(response.source_nodes[0].score, float)


async def test_embeddings_as_one_numpy_matrix(sie_url: str) -> None:
    embeddings = SIEEmbeddings(model_name=MINILM, base_url=sie_url, embed_batch_size=2, max_concurrency=2)
    texts = [d.text for d in DOCS]
    matrix = embeddings.get_text_embedding_array(texts)
    assert matrix.shape == (len(texts), 384) and matrix.dtype == np.float32
    assert np.allclose(matrix, np.array(embeddings.get_text_embedding_batch(texts)), atol=1e-6)
    assert np.allclose(await embeddings.aget_text_embedding_array(texts), matrix, atol=1e-6)
    query = embeddings.get_text_embedding_array(["weather in Paris"], is_query=True)
    assert np.allclose(query[0], embeddings.get_query_embedding("weather in Paris"), atol=1e-6)


async def test_async_embeddings_and_reranker(sie_url: str) -> None:
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, embed_batch_size=2, max_concurrency=2)
    texts = [d.text for d in DOCS]
    vectors = await embeddings.aget_text_embedding_batch(texts)
    again = embeddings.get_text_embedding_batch(texts)
    assert np.allclose(np.array(vectors), np.array(again), atol=1e-5)
    query = await embeddings.aget_query_embedding("weather in Paris")
    assert int(np.argmax(np.array(vectors) @ np.array(query))) == 1
    reranker = SIEReranker(model="sie-fake", base_url=sie_url, top_n=2)
    from llama_index.core.schema import NodeWithScore, TextNode

    nodes = [NodeWithScore(node=TextNode(text=t)) for t in texts]
    ranked = await reranker.apostprocess_nodes(nodes, query_str="weather")
    assert [n.score for n in ranked] == sorted((n.score for n in ranked), reverse=True)
    assert len(ranked) == 2


async def test_function_agent_calls_the_tool(sie_url: str) -> None:
    """tiny-tools always calls get_weather(city="Paris"); return_direct ends the loop with the tool's answer."""
    tool = FunctionTool.from_defaults(get_weather, return_direct=True)
    for model in ("tiny-tools", "tiny-tools-rendered"):
        agent = FunctionAgent(tools=[tool], llm=SIEChatModel(model=model, base_url=sie_url, max_tokens=32))
        result = await agent.run("What is the weather in Paris?")
        assert str(result) == "It is 21 degrees and sunny in Paris."
        assert result.tool_calls[0].tool_kwargs == {"city": "Paris"}


def test_chat_with_tools_and_a_tool_result_turn(sie_url: str) -> None:
    tool = FunctionTool.from_defaults(get_weather)
    llm = SIEChatModel(model="tiny-tools-rendered", base_url=sie_url, max_tokens=32)
    response = llm.chat_with_tools([tool], user_msg="Weather in Paris?")
    calls = llm.get_tool_calls_from_response(response)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {"city": "Paris"})]
    streamed = list(llm.stream_chat_with_tools([tool], user_msg="Weather in Paris?"))
    assert [b.tool_kwargs for b in streamed[-1].message.blocks if isinstance(b, ToolCallBlock)] == [{"city": "Paris"}]
    history = [
        ChatMessage(role="user", content="Weather in Paris?"),
        response.message,
        ChatMessage(role="tool", content=get_weather("Paris"), additional_kwargs={"tool_call_id": calls[0].tool_id}),
    ]
    answer = SIEChatModel(model="tiny-chat-rendered", base_url=sie_url, max_tokens=16).chat(history)
    assert answer.message.content == "Hello from tiny-chat!"


@pytest.mark.parametrize("model", ["tiny-chat", "tiny-chat-rendered"])
def test_streaming_usage_reaches_the_token_counter(sie_url: str, model: str) -> None:
    counter = TokenCountingHandler()
    llm = SIEChatModel(model=model, base_url=sie_url, max_tokens=16, callback_manager=CallbackManager([counter]))
    chat = llm.chat([ChatMessage(role="user", content="Hi")])
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Hi")]))
    assert "".join(c.delta or "" for c in chunks) == chat.message.content == "Hello from tiny-chat!"
    usage = chunks[-1].raw["usage"]
    assert usage["prompt_tokens"] > 0
    assert [e.prompt_token_count for e in counter.llm_token_counts] == [
        chat.raw["usage"]["prompt_tokens"],
        usage["prompt_tokens"],
    ]
    assert counter.completion_llm_token_count == chat.raw["usage"]["completion_tokens"] + usage["completion_tokens"]


def test_metadata_from_the_server(sie_url: str) -> None:
    meta = SIEChatModel(model="tiny-chat", base_url=sie_url).metadata
    assert meta.is_chat_model and meta.is_function_calling_model
    assert meta.context_window == 4096  # tiny-chat's max_sequence_length on the server


class Weather(BaseModel):
    city: str
    temp_c: int


@pytest.mark.parametrize("model", ["tiny-json", "tiny-json-rendered"])
def test_structured_predict_on_a_server_that_cannot_constrain(sie_url: str, model: str) -> None:
    """capabilities.grammar is [] on the CPU peer: no response_format; the tool call never comes; the schema in
    the prompt works, and is remembered."""
    llm = SIEChatModel(model=model, base_url=sie_url, max_tokens=32)
    prompt = PromptTemplate("Give the weather in {city} as JSON.")
    paris = Weather(city="Paris", temp_c=21)
    assert llm.structured_predict(Weather, prompt, city="Paris") == paris
    assert llm.structured_output_method == "json_prompt"
    assert asyncio.run(llm.astructured_predict(Weather, prompt, city="Paris")) == paris
    assert list(llm.stream_structured_predict(Weather, prompt, city="Paris"))[-1] == paris

    async def astream() -> list[Any]:
        return [x async for x in await llm.astream_structured_predict(Weather, prompt, city="Paris")]

    assert asyncio.run(astream())[-1] == paris
    structured = llm.as_structured_llm(Weather)
    reply = structured.chat([ChatMessage(role="user", content="Weather in Paris as JSON")])
    assert reply.raw == paris
    streamed = list(structured.stream_chat([ChatMessage(role="user", content="Weather in Paris as JSON")]))
    assert streamed[-1].raw == paris


def test_a_structured_reply_that_does_not_validate_raises_with_the_text(sie_url: str) -> None:
    from llama_index.core.output_parsers.base import OutputParserException

    class Joke(BaseModel):
        setup: str
        punchline: str

    llm = SIEChatModel(model="tiny-json", base_url=sie_url, max_tokens=32)
    with pytest.raises(OutputParserException, match='"temp_c": 21'):
        llm.structured_predict(Joke, PromptTemplate("A joke about {topic}."), topic="cats")


def test_extractor_into_a_property_graph_and_as_a_tool(sie_url: str) -> None:
    extractor = SIEExtractor(model="sie-fake-full", labels=["person", "city"], base_url=sie_url)
    graph = PropertyGraphIndex.from_documents(
        DOCS[3:],
        kg_extractors=[extractor],
        embed_model=SIEEmbeddings(model=MINILM, base_url=sie_url),
        llm=SIEChatModel(model="tiny-chat", base_url=sie_url),
        embed_kg_nodes=False,
    )
    store = graph.property_graph_store
    assert store.graph.relations
    assert any(isinstance(node, EntityNode) for node in store.graph.nodes.values())
    output = extractor.as_tool().call(text="Alice met Bob in Paris.")
    assert {e["label"] for e in output.raw_output["entities"]} <= {"person", "city"}


def test_sync_extraction_inside_a_running_event_loop(sie_url: str) -> None:
    """Jupyter runs a loop: a synchronous call from inside it must still work."""
    extractor = SIEExtractor(model="sie-fake-full", labels=["person"], base_url=sie_url)

    async def notebook_cell() -> list[dict[str, object]]:
        return extractor.extract([DOCS[3]])  # type: ignore[list-item]

    metadata = asyncio.run(notebook_cell())
    assert metadata[0]["classifications"]


def test_sparse_embeddings_for_hybrid_search(sie_url: str) -> None:
    sparse = SIESparseEmbeddings(model="sie-fake-full", base_url=sie_url, batch_size=2)
    indices, values = sparse.encode_documents([d.text for d in DOCS])
    assert len(indices) == len(values) == len(DOCS)
    assert all(len(i) == len(v) > 0 for i, v in zip(indices, values, strict=True))
    q_indices, _ = asyncio.run(sparse.aencode_queries(["weather"]))
    assert len(q_indices) == 1


def test_server_errors_stay_typed(sie_url: str) -> None:
    with pytest.raises(RequestError) as info:
        SIEChatModel(model="tiny-tools", base_url=sie_url).chat_with_tools(
            [FunctionTool.from_defaults(get_weather)], user_msg="Weather?", tool_required=True
        )
    assert info.value.param == "tool_choice"
