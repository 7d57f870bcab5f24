"""Load and cancellation against the real SIE peer: live tier only (no cassettes for load).

Bounded: 1,000 concurrent embeds, 200 concurrent chat streams, a three-round soak; loopback only.
"""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from sie_integrations import AsyncSIEClient, SIEClient

pytestmark = pytest.mark.live


@pytest.fixture(autouse=True)
def _live_only(live: bool) -> None:
    if not live:
        pytest.skip("load tests run against a real server only (./dev live)")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_1000_concurrent_async_embeds_lose_nothing(sie_url: str) -> None:
    texts = [f"load test sentence number {i}" for i in range(1000)]
    with SIEClient(sie_url) as sync:  # the peer takes at most 512 items per request
        reference = np.stack([r.dense for part in (texts[:500], texts[500:]) for r in sync.encode("sie-fake", part)])  # type: ignore[misc]
    fds_before = _open_fds()
    rss: list[float] = []

    async def round_trip(client: AsyncSIEClient) -> np.ndarray:
        results = await asyncio.gather(*(client.encode("sie-fake", [t]) for t in texts))
        return np.stack([r[0].dense for r in results])  # type: ignore[misc]

    async def soak() -> None:
        async with AsyncSIEClient(sie_url) as client:
            for _ in range(3):
                vectors = await round_trip(client)
                assert vectors.shape == (1000, 384)
                assert np.array_equal(vectors, reference)  # every answer, in its place
                rss.append(_rss_mb())

    asyncio.run(soak())
    assert rss[-1] - rss[0] < 30, f"memory grew over the soak: {rss}"
    assert _open_fds() <= fds_before + 2, "connections leaked"


def test_batches_past_the_server_queue_limit_are_waited_out(sie_url: str, sleeps: list[float]) -> None:
    """8 batches of 512 at once against a queue of 512 items: QUEUE_FULL is waited out, nothing is lost."""
    from sie_integrations.langchain import SIEEmbeddings

    texts = [f"queue pressure text {i} " + "word " * 40 for i in range(4096)]
    embeddings = SIEEmbeddings(model="sie-fake", base_url=sie_url, batch_size=512, max_concurrency=8)
    matrix = embeddings.embed_documents_array(texts)
    assert sleeps, "the peer never answered QUEUE_FULL: the test did not exercise the wait"
    assert matrix.shape == (4096, 384)
    with SIEClient(sie_url) as sync:
        for i in (0, 511, 512, 2047, 4095):
            assert np.array_equal(matrix[i], sync.encode_dense("sie-fake", [texts[i]])[0])  # each in its place
    embeddings.close()


def test_a_fresh_adapters_first_burst_finds_the_peers_queue(sie_url: str, sleeps: list[float]) -> None:
    """The adaptive default sends 16 requests at once; the peer holds 512 items (2 requests of 256) and refuses the
    rest: the limit falls to what it held, the refused requests wait out QUEUE_FULL, and every vector comes back."""
    from sie_integrations.langchain import SIEEmbeddings

    texts = [f"burst text {i} " + "word " * 20 for i in range(16 * 256)]
    embeddings = SIEEmbeddings(model="sie-fake", base_url=sie_url)
    matrix = embeddings.embed_documents_array(texts)
    assert sleeps, "the peer never answered QUEUE_FULL: the burst did not reach its queue"
    assert embeddings._adaptive.value <= 3  # what the peer held (2), or one more after a round without queue
    assert matrix.shape == (4096, 384)
    with SIEClient(sie_url) as sync:
        for i in (0, 255, 256, 2048, 4095):
            assert np.array_equal(matrix[i], sync.encode_dense("sie-fake", [texts[i]])[0])
    embeddings.close()


def test_200_concurrent_chat_streams(sie_url: str) -> None:
    fds_before = _open_fds()

    async def one(client: AsyncSIEClient, i: int) -> str:
        request = {"model": "tiny-chat", "messages": [{"role": "user", "content": f"Hi {i}"}], "max_tokens": 16}
        chunks = [c async for c in client.stream_chat_completions(request)]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    async def run() -> list[str]:
        async with AsyncSIEClient(sie_url) as client:
            return await asyncio.gather(*(one(client, i) for i in range(200)))

    answers = asyncio.run(run())
    assert answers == ["Hello from tiny-chat!"] * 200
    assert _open_fds() <= fds_before + 2


def test_leaving_streams_early_closes_their_connections(sie_url: str) -> None:
    request = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16}
    with SIEClient(sie_url) as client:
        client.list_models()  # open the pool once
        baseline = _open_fds()
        for _ in range(50):
            for _chunk in client.stream_chat_completions(request):
                break  # leave after the first chunk
        assert _open_fds() <= baseline + 2

        async def cancel_midway() -> None:
            async with AsyncSIEClient(sie_url) as aclient:

                async def consume() -> None:
                    async for _ in aclient.stream_chat_completions(request):
                        await asyncio.sleep(10)

                tasks = [asyncio.create_task(consume()) for _ in range(20)]
                await asyncio.sleep(0.5)
                for task in tasks:
                    task.cancel()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                assert all(isinstance(r, asyncio.CancelledError) for r in results)
                # The client stays usable after the cancellations.
                assert (await aclient.encode("sie-fake", ["still fine"]))[0].dense is not None

        asyncio.run(cancel_midway())
    assert _open_fds() <= baseline + 2


def _in_flight(client: AsyncSIEClient) -> int:
    """Requests the client's httpx pool (this loop's) holds now: queued or waiting on a response."""
    pool = client._http()._transport._pool  # type: ignore[attr-defined]  # httpcore.AsyncConnectionPool
    return len(pool._requests)


async def _settled_in_flight(client: AsyncSIEClient) -> int:
    """``_in_flight`` once it reaches 0, or after 2 s.

    A cancelled consumer abandons the nested async generators of ``astream``; the loop's finalizer
    hook closes them one level per turn, and with them the response.
    """
    for _ in range(200):
        if _in_flight(client) == 0:
            return 0
        await asyncio.sleep(0.01)
    return _in_flight(client)


def test_agents_cancelled_mid_loop_leave_no_request_open(sie_url: str) -> None:
    """A LangChain tool loop and a LlamaIndex FunctionAgent, cancelled in a tool and in a model call."""
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.tools import FunctionTool

    from sie_integrations.langchain import SIEChatModel as LangChainChat
    from sie_integrations.llama_index import SIEChatModel as LlamaIndexChat

    fds_before = _open_fds()

    async def scenario() -> None:
        in_tool = asyncio.Event()

        async def get_weather(city: str) -> str:
            """Get the weather for a city."""
            in_tool.set()
            await asyncio.sleep(60)
            return f"It is 21 degrees and sunny in {city}."

        lc_model = LangChainChat(model="tiny-tools", base_url=sie_url, max_tokens=32)
        bound = lc_model.bind_tools([tool(get_weather)])

        async def lc_loop() -> None:
            messages: list[BaseMessage] = [HumanMessage("Weather in Paris?")]
            for _ in range(5):
                ai = await bound.ainvoke(messages)
                messages.append(ai)
                for call in ai.tool_calls:
                    messages.append(ToolMessage(await get_weather(**call["args"]), tool_call_id=call["id"]))

        # 1. cancelled while its tool runs, after a model call
        task = asyncio.create_task(lc_loop())
        await asyncio.wait_for(in_tool.wait(), 30)
        task.cancel()
        assert isinstance((await asyncio.gather(task, return_exceptions=True))[0], asyncio.CancelledError)
        assert await _settled_in_flight(lc_model.async_client) == 0

        # 2. cancelled while the model streams its answer
        mid_stream = asyncio.Event()

        async def lc_stream() -> None:
            async for _ in bound.astream("Weather in Paris?"):
                mid_stream.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(lc_stream())
        await asyncio.wait_for(mid_stream.wait(), 30)
        assert _in_flight(lc_model.async_client) == 1  # the probe sees an open stream
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await _settled_in_flight(lc_model.async_client) == 0
        for delay in (0.0, 0.01, 0.02):  # cancelled before, while and after the request is sent
            task = asyncio.create_task(lc_stream())
            await asyncio.sleep(delay)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert await _settled_in_flight(lc_model.async_client) == 0
        assert (await bound.ainvoke("Weather in Paris?")).tool_calls  # the model stays usable
        await lc_model.aclose()

        # 3. a LlamaIndex FunctionAgent, cancelled in its tool and in a model call
        li_model = LlamaIndexChat(model="tiny-tools", base_url=sie_url, max_tokens=32, context_window=4096)
        agent = FunctionAgent(tools=[FunctionTool.from_defaults(async_fn=get_weather)], llm=li_model)
        in_tool.clear()
        handler = agent.run("What is the weather in Paris?")
        await asyncio.wait_for(in_tool.wait(), 30)
        await handler.cancel_run()
        assert await _settled_in_flight(li_model.async_client) == 0
        for delay in (0.005, 0.02):
            handler = agent.run("What is the weather in Paris?")
            await asyncio.sleep(delay)
            await handler.cancel_run()
            await asyncio.sleep(0)
            assert await _settled_in_flight(li_model.async_client) == 0
        await li_model.aclose()

    asyncio.run(scenario())
    assert _open_fds() <= fds_before + 2, "connections leaked"


def test_50_concurrent_streams_wait_out_a_busy_upstream(sie_url: str, sleeps: list[float]) -> None:
    """tiny-chat-rendered's upstream admits 8 at once; the other 42 get 503 RESOURCE_EXHAUSTED first.

    That 503 comes before any stream opens (nothing was generated), so each is waited out and sent again.
    """
    fds_before = _open_fds()

    async def one(client: AsyncSIEClient, i: int) -> str:
        request = {
            "model": "tiny-chat-rendered",
            "messages": [{"role": "user", "content": f"Hi {i}"}],
            "max_tokens": 16,
        }
        chunks = [c async for c in client.stream_chat_completions(request)]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    async def run() -> list[str]:
        async with AsyncSIEClient(sie_url) as client:
            return await asyncio.gather(*(one(client, i) for i in range(50)))

    assert asyncio.run(run()) == ["Hello from tiny-chat!"] * 50
    assert sleeps, "the upstream never refused: the test did not exercise the wait"
    assert _open_fds() <= fds_before + 2, "connections leaked"


def test_24_concurrent_langchain_tool_loops_on_a_busy_upstream(sie_url: str, sleeps: list[float]) -> None:
    """24 two-turn tool loops at once on tiny-agent-rendered (8 admitted at a time): every loop ends right."""
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    from sie_integrations.langchain import SIEChatModel

    calls: list[str] = []

    @tool
    def get_weather(location: str) -> str:
        """Get the weather at a location."""
        calls.append(location)
        return f"It is sunny in {location}."

    fds_before = _open_fds()
    llm = SIEChatModel(model="tiny-agent-rendered", base_url=sie_url, max_tokens=64)
    bound = llm.bind_tools([get_weather])

    async def loop(i: int) -> str:
        messages: list[BaseMessage] = [HumanMessage(f"What is the weather in Paris? ({i})")]
        ai = await bound.ainvoke(messages)
        messages.append(ai)
        for call in ai.tool_calls:
            messages.append(await get_weather.ainvoke(call))
        assert isinstance(messages[-1], ToolMessage)
        final = await bound.ainvoke(messages)
        assert final.tool_calls == []
        return str(final.content)

    async def run() -> list[str]:
        answers = await asyncio.gather(*(loop(i) for i in range(24)))
        await llm.aclose()
        return answers

    assert asyncio.run(run()) == ["It is sunny in Paris today."] * 24
    assert calls == ["Paris"] * 24
    assert sleeps, "the upstream never refused: the test did not exercise the wait"
    assert _open_fds() <= fds_before + 2, "connections leaked"
