"""Load and cancellation against the real SIE peer: live tier only (no cassettes for load).

Bounded: 1,000 concurrent embeds, 200 concurrent chat streams, a three-round soak; loopback only.
"""

from __future__ import annotations

import asyncio
import os
import resource

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
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
