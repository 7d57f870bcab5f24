"""Every client method against the real SIE peer (live), replayed from cassettes by default."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from sie_integrations import (
    AsyncSIEClient,
    ChatCompletionRequest,
    Item,
    ModelLoadingError,
    ModelNotFoundError,
    PoolError,
    RequestError,
    ServerError,
    SIEClient,
)
from tests.support.live import MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- models and health -------------------------------------------------------------------


def test_health_reports_a_ready_standalone_server(client: SIEClient) -> None:
    health = client.health()
    assert health.ok
    assert health.kind == "server"


def test_list_and_get_models(client: SIEClient) -> None:
    names = {m.name for m in client.list_models()}
    assert {"sie-fake", "sie-fake-full", MINILM, "tiny-chat", "tiny-tools"} <= names
    minilm = client.get_model(MINILM)
    assert minilm.name == MINILM
    assert minilm.dims["dense"] == 384
    assert "dense" in minilm.outputs
    with pytest.raises(ModelNotFoundError) as info:
        client.get_model("sentence-transformers__all-MiniLM-L6-v2")
    assert info.value.status_code == 404


# --- encode ------------------------------------------------------------------------------


def test_encode_dense_real_model_has_meaning(client: SIEClient) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."]
    vectors = [r.dense for r in client.encode(MINILM, texts)]
    assert all(v is not None and v.shape == (384,) and v.dtype == np.float32 for v in vectors)
    assert abs(np.linalg.norm(vectors[0]) - 1.0) < 1e-4
    related, unrelated = _cos(vectors[0], vectors[1]), _cos(vectors[0], vectors[2])
    assert related > 0.7 > 0.1 > unrelated


def test_encode_keeps_input_order(client: SIEClient) -> None:
    texts = [f"sentence number {i}" for i in range(40)]
    batch = client.encode("sie-fake", texts)
    singles = [client.encode("sie-fake", [t])[0] for t in texts[::13]]
    for k, single in enumerate(singles):
        assert np.array_equal(batch[k * 13].dense, single.dense)
    assert len({r.dense.tobytes() for r in batch}) == len(texts)  # type: ignore[union-attr]


def test_encode_all_output_types_msgpack_and_json_agree(client: SIEClient, sie_url: str) -> None:
    kinds = ["dense", "sparse", "multivector"]
    packed = client.encode("sie-fake-full", ["hello world", Item(text="second item", id="b")], output_types=kinds)
    with SIEClient(sie_url, wire_format="json") as json_client:
        plain = json_client.encode("sie-fake-full", ["hello world"], output_types=kinds)
    first = packed[0]
    assert first.dense is not None and first.dense.shape == (384,)
    assert first.sparse is not None and first.sparse.indices.shape == first.sparse.values.shape
    assert first.sparse.dims == 30522
    assert first.multivector is not None and first.multivector.ndim == 2 and first.multivector.shape[1] == 128
    assert packed[1].id == "b"
    assert np.allclose(plain[0].dense, first.dense)
    assert np.array_equal(plain[0].sparse.indices, first.sparse.indices)  # type: ignore[union-attr]
    assert np.allclose(plain[0].multivector, first.multivector)


def test_encode_dense_matrix_matches_per_item_results(client: SIEClient, sie_url: str) -> None:
    texts = [f"sentence number {i}" for i in range(40)] + ["A man is eating food."]
    matrix = client.encode_dense(MINILM, texts)
    per_item = np.stack([r.dense for r in client.encode(MINILM, texts)])  # type: ignore[misc]
    assert matrix.shape == (41, 384) and matrix.dtype == np.float32
    assert np.allclose(matrix, per_item, atol=1e-6)
    with SIEClient(sie_url, wire_format="json") as json_client:
        assert np.allclose(json_client.encode_dense(MINILM, texts[:3]), matrix[:3], atol=1e-5)
    assert client.encode_dense(MINILM, []).shape == (0, 0)
    with SIEClient(sie_url, http2=True) as h2_client:  # plain http:// stays HTTP/1.1
        assert np.allclose(h2_client.encode_dense(MINILM, texts[:2]), matrix[:2], atol=1e-6)


def test_encode_query_mode_and_empty_input(client: SIEClient) -> None:
    query = client.encode(MINILM, ["how do sparse vectors work?"], is_query=True)
    assert query[0].dense is not None and query[0].dense.shape == (384,)
    assert client.encode(MINILM, []) == []


def test_encode_errors_from_the_server(client: SIEClient) -> None:
    with pytest.raises(ModelNotFoundError):
        client.encode("no-such-model", ["x"])
    with pytest.raises(RequestError) as unsupported:
        client.encode("sie-fake", ["x"], output_types=["sparse"])
    assert unsupported.value.status_code == 400
    assert unsupported.value.code == "INVALID_INPUT"
    with pytest.raises(RequestError) as profile:
        client.encode("sie-fake", ["x"], options={"profile": "no-such-profile"})
    assert "no-such-profile" in profile.value.message


def test_model_loading_is_waited_out(client: SIEClient, sleeps: list[float]) -> None:
    cold = client.get_model("sie-fake:slow-load").state != "loaded"
    result = client.encode("sie-fake:slow-load", ["wake up"])
    assert result[0].dense is not None
    if cold:
        assert sleeps, "a cold model answers 503 MODEL_LOADING first: the client must have waited"
        assert all(delay == 5.0 for delay in sleeps)  # the server's Retry-After


def test_model_loading_without_waiting_raises(sie_url: str, sleeps: list[float]) -> None:
    with SIEClient(sie_url, wait_for_capacity=False) as impatient:
        if impatient.get_model("sie-fake:small-a").state == "loaded":
            pytest.skip("sie-fake:small-a is already warm; restart the peer to see MODEL_LOADING")
        with pytest.raises(ModelLoadingError) as info:
            impatient.encode("sie-fake:small-a", ["x"])
    assert info.value.status_code == 503
    assert info.value.retry_after == 5.0
    assert "wait_for_capacity is off" in str(info.value)
    assert sleeps == []


def test_injected_oom_is_recovered_by_the_server(client: SIEClient) -> None:
    results = [client.encode("sie-fake:oom-3rd", [f"text {i}"]) for i in range(4)]
    assert all(r[0].dense is not None for r in results)


# --- score and extract -------------------------------------------------------------------


def test_score_maps_results_to_input_positions(client: SIEClient, sie_url: str) -> None:
    docs = ["SIE is an inference engine", "bananas are yellow", "unrelated"]
    entries = client.score("sie-fake", "what is sie?", docs)
    assert sorted(e.index for e in entries) == [0, 1, 2]
    assert [e.rank for e in entries] == [0, 1, 2]
    assert [e.score for e in entries] == sorted((e.score for e in entries), reverse=True)
    with SIEClient(sie_url, wire_format="json") as json_client:
        again = json_client.score("sie-fake", "what is sie?", docs)
    assert [(e.index, e.score) for e in again] == [(e.index, e.score) for e in entries]
    with_ids = client.score("sie-fake", "what is sie?", [Item(text=d, id=f"doc-{i}") for i, d in enumerate(docs)])
    assert {e.item_id: e.index for e in with_ids} == {"doc-0": 0, "doc-1": 1, "doc-2": 2}


def test_score_on_a_model_without_scoring(client: SIEClient) -> None:
    with pytest.raises(RequestError) as info:
        client.score(MINILM, "q", ["a"])
    assert info.value.code == "INVALID_INPUT"
    assert "does not support scoring" in info.value.message


def test_extract_entities_relations_classifications(client: SIEClient) -> None:
    texts = ["Alice met Bob in Paris.", "Nothing here."]
    results = client.extract("sie-fake-full", texts, labels=["person", "city"])
    assert [r.id for r in results] == ["item-0", "item-1"]
    first = results[0]
    assert {e.label for e in first.entities} <= {"person", "city"}
    for entity in first.entities:
        assert entity.start is not None and entity.end is not None
        assert texts[0][entity.start : entity.end] == entity.text
    assert {c.label for c in first.classifications} == {"person", "city"}
    assert all(r.relation for r in first.relations)
    with pytest.raises(RequestError) as info:
        client.extract("sie-fake", ["x"], labels=["a"])
    assert "does not support extraction" in info.value.message


# --- generate ----------------------------------------------------------------------------


def test_generate_and_stream_generate_agree(client: SIEClient) -> None:
    result = client.generate("sie-fake", "Say hello", max_new_tokens=5)
    assert result.model == "sie-fake"
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 5
    chunks = list(client.stream_generate("sie-fake", "Say hello", max_new_tokens=5))
    assert "".join(c.text_delta for c in chunks) == result.text
    assert chunks[-1].done and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_generate_errors(client: SIEClient) -> None:
    with pytest.raises(RequestError) as info:
        client.generate("sie-fake", "x", max_new_tokens=100_000)
    assert info.value.code == "context_exceeded"
    assert info.value.param == "max_new_tokens"
    with pytest.raises(ModelNotFoundError):
        client.generate("no-such-model", "x", max_new_tokens=2)


# --- chat --------------------------------------------------------------------------------


def test_chat_plain(client: SIEClient) -> None:
    completion = client.chat_completions(
        {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16}
    )
    assert completion.choices[0].message.content == "Hello from tiny-chat!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


@pytest.mark.parametrize("model", ["tiny-tools", "tiny-tools-rendered"])
def test_chat_tool_call(client: SIEClient, model: str) -> None:
    request = ChatCompletionRequest(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],  # type: ignore[list-item]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice="auto",
        max_tokens=32,
    )
    completion = client.chat_completions(request)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id


@pytest.mark.parametrize("model", ["tiny-tools", "tiny-tools-rendered"])
def test_chat_stream_tool_call_deltas_accumulate(client: SIEClient, model: str) -> None:
    request = {
        "model": model,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER_TOOL],
        "max_tokens": 32,
        "stream_options": {"include_usage": True},
    }
    names, arguments, finish, usage = [], "", None, None
    for chunk in client.stream_chat_completions(request):
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                assert delta.index == 0
                if delta.function and delta.function.name:
                    names.append(delta.function.name)
                arguments += (delta.function.arguments or "") if delta.function else ""
    assert names == ["get_weather"]
    assert json.loads(arguments) == {"city": "Paris"}
    assert finish == "tool_calls"
    assert usage is not None and usage.total_tokens > 0


@pytest.mark.parametrize("model", ["tiny-chat", "tiny-chat-rendered"])
def test_chat_stream_text_with_usage(client: SIEClient, model: str) -> None:
    request = {
        "model": model,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 16,
        "stream_options": {"include_usage": True},
    }
    chunks = list(client.stream_chat_completions(request))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from tiny-chat!"
    assert [c.usage for c in chunks if c.usage][-1].prompt_tokens > 0  # type: ignore[union-attr]


def test_chat_tool_result_turn(client: SIEClient) -> None:
    completion = client.chat_completions(
        {
            "model": "tiny-chat-rendered",
            "messages": [
                {"role": "system", "content": "You answer about weather."},
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
            ],
            "tools": [WEATHER_TOOL],
            "max_tokens": 16,
        }
    )
    assert completion.choices[0].message.content == "Hello from tiny-chat!"


def test_chat_errors_from_the_server(client: SIEClient) -> None:
    hi = [{"role": "user", "content": "Hi"}]
    with pytest.raises(RequestError) as forced:
        client.chat_completions(
            {"model": "tiny-tools", "messages": hi, "tools": [WEATHER_TOOL], "tool_choice": "required"}
        )
    assert (forced.value.status_code, forced.value.code, forced.value.param) == (
        400,
        "unsupported_field",
        "tool_choice",
    )
    with pytest.raises(ServerError) as upstream:
        client.chat_completions(
            {"model": "tiny-tools-rendered", "messages": hi, "tools": [WEATHER_TOOL], "tool_choice": "required"}
        )
    assert (upstream.value.status_code, upstream.value.code) == (502, "upstream_error")
    with pytest.raises(RequestError) as schema:
        client.chat_completions(
            {
                "model": "tiny-json",
                "messages": hi,
                "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
            }
        )
    assert schema.value.param == "response_format"
    with pytest.raises(ServerError) as no_chat:
        client.chat_completions({"model": "sie-fake", "messages": hi})
    assert (no_chat.value.status_code, no_chat.value.code) == (501, "unsupported_operation")
    with pytest.raises(RequestError) as extension:
        client.chat_completions({"model": "tiny-chat", "messages": hi, "routing_key": "tenant-a"})
    assert extension.value.param == "routing_key"  # a gateway field the standalone server refuses
    with pytest.raises(ModelNotFoundError):
        client.chat_completions({"model": "no-such-model", "messages": hi})


def test_stream_left_early_then_reused(client: SIEClient) -> None:
    request = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16}
    with client.stream_chat_completions(request) as stream:
        first = next(iter(stream))
    assert first.choices
    assert client.chat_completions(request).choices[0].message.content == "Hello from tiny-chat!"


# --- pools -------------------------------------------------------------------------------


def test_pools_need_a_gateway(client: SIEClient) -> None:
    for action in (lambda: client.get_pool("eval"), lambda: client.create_pool("eval", gpus={"l4": 1})):
        with pytest.raises(PoolError) as info:
            action()
        assert "gateway" in info.value.message
        assert info.value.status_code == 404


# --- async -------------------------------------------------------------------------------


async def test_async_client_surface(aclient: AsyncSIEClient) -> None:
    health = await aclient.health()
    assert health.ok
    vectors = await aclient.encode(MINILM, ["A man is eating food.", "A man is eating a piece of bread."])
    assert _cos(vectors[0].dense, vectors[1].dense) > 0.7  # type: ignore[arg-type]
    matrix = await aclient.encode_dense(MINILM, ["A man is eating food.", "A man is eating a piece of bread."])
    assert matrix.shape == (2, 384) and np.allclose(matrix[1], vectors[1].dense, atol=1e-6)
    entries = await aclient.score("sie-fake", "q", ["a", "b"])
    assert sorted(e.index for e in entries) == [0, 1]
    extracted = await aclient.extract("sie-fake-full", ["Alice met Bob."], labels=["person"])
    assert extracted[0].classifications[0].label == "person"
    generated = await aclient.generate("sie-fake", "Say hello", max_new_tokens=3)
    streamed = [c async for c in aclient.stream_generate("sie-fake", "Say hello", max_new_tokens=3)]
    assert "".join(c.text_delta for c in streamed) == generated.text
    completion = await aclient.chat_completions({"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}]})
    assert completion.choices[0].message.content == "Hello from tiny-chat!"
    async with aclient.stream_chat_completions(
        {"model": "tiny-tools-rendered", "messages": [{"role": "user", "content": "Weather?"}], "tools": [WEATHER_TOOL]}
    ) as stream:
        deltas = [d for c in [c async for c in stream] for ch in c.choices for d in ch.delta.tool_calls or []]
    assert json.loads("".join(d.function.arguments or "" for d in deltas if d.function)) == {"city": "Paris"}
    assert [m.name for m in await aclient.list_models()]
    with pytest.raises(PoolError):
        await aclient.delete_pool("eval")


def test_async_client_survives_two_event_loops(sie_url: str, sleeps: list[float]) -> None:
    sie = AsyncSIEClient(sie_url)

    async def embed() -> int:
        return len(await sie.encode("sie-fake", ["x", "y"]))

    assert asyncio.run(embed()) == 2
    assert asyncio.run(embed()) == 2  # a new loop: a new connection pool, no "Event loop is closed"
    asyncio.run(sie.aclose())


# --- routing headers ---------------------------------------------------------------------


def test_machine_profile_is_checked_by_a_standalone_server(sie_url: str, sleeps: list[float]) -> None:
    with SIEClient(sie_url, gpu="eval-pool/l4") as routed:
        with pytest.raises(RequestError) as encode:
            routed.encode("sie-fake", ["x"])
        with pytest.raises(RequestError) as chat:
            routed.chat_completions({"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}]})
    for error in (encode.value, chat.value):
        assert (error.status_code, error.code) == (400, "INVALID_INPUT")
        assert "machine profile 'l4'" in error.message
    with SIEClient(sie_url, pool="eval-pool") as pooled:  # X-SIE-Pool alone is ignored by a standalone server
        assert pooled.encode("sie-fake", ["x"])[0].dense is not None


def test_more_generation_errors_and_edges(client: SIEClient) -> None:
    hi = [{"role": "user", "content": "Hi"}]
    with pytest.raises(ServerError) as undeclared:
        client.chat_completions({"model": "tiny-tools", "messages": hi, "tools": [WEATHER_TOOL], "tool_choice": "none"})
    assert (undeclared.value.status_code, undeclared.value.code) == (502, "upstream_error")
    with pytest.raises(RequestError) as json_mode:
        client.chat_completions({"model": "tiny-json", "messages": hi, "response_format": {"type": "json_object"}})
    assert json_mode.value.param == "response_format"
    raw = client.generate("tiny-tools", "Weather in Paris?", max_new_tokens=8)
    assert raw.text == ""  # mlx_lm strips the tool markup on /v1/generate
    assert client.generate("tiny-chat", "Hi", max_new_tokens=8).usage.completion_tokens > 0


# --- what the server said besides the results ---------------------------------------------------


def test_results_keep_the_peers_timing_and_usage(sie_url: str) -> None:
    """The peer's encode answer has a ``timing`` body, its score and extract answers ``usage`` bodies and timing
    headers: every result keeps them (they used to be dropped)."""
    with SIEClient(sie_url) as client:
        encoded = client.encode(MINILM, ["hello world", "vector search"])
        scored = client.score("sie-fake", "what is sie?", ["SIE is an inference engine", "bananas"])
        extracted = client.extract("sie-fake-full", ["Alice met Bob in Paris."], labels=["person"])
    timing_keys = {"queue_ms", "tokenization_ms", "inference_ms", "total_ms"}
    assert encoded[0].report is encoded[1].report and set(encoded[0].report.timing) == timing_keys
    assert encoded[0].report.timing["total_ms"] >= encoded[0].report.timing["inference_ms"] > 0
    assert set(scored[0].report.timing) == timing_keys and scored[0].report.usage["input_tokens"] > 0
    assert extracted[0].report.usage["input_tokens"] > 0 and "total_ms" in extracted[0].report.timing


def test_generate_takes_every_field_of_the_route(sie_url: str) -> None:
    """``seed``, the penalties, ``logit_bias`` and the gateway hints go through (the standalone server takes them,
    dropping the hints); ``lora_adapter`` is refused by it, typed."""
    with SIEClient(sie_url) as client:
        result = client.generate(
            "sie-fake",
            "Say hello",
            max_new_tokens=3,
            seed=7,
            frequency_penalty=0.5,
            presence_penalty=-0.5,
            logit_bias={"5": 1.0},
            routing_key="tenant-a",
            prompt_cache_key="faq",
            safety_identifier="user-1",
            options={"profile": "default"},
        )
        assert result.usage.completion_tokens == 3
        with pytest.raises(RequestError, match=r"unsupported field\(s\): \['lora_adapter'\]"):
            client.generate("sie-fake", "Say hello", max_new_tokens=3, lora_adapter="legal")
