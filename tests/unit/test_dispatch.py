"""Batches sent with a limit in flight (``run_batches`` / ``arun_batches`` / ``Gate``), and the load each
batch reports to it (``_core/load.py``), against ``httpx.MockTransport`` servers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from sie_integrations import AsyncSIEClient, SIEClient
from sie_integrations._core.concurrency import Limit, Sample
from sie_integrations._core.load import watching
from sie_integrations._http.dispatch import Gate, arun_batches, run_batches


class Recording(Limit):
    """A limit that records the samples it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.samples: list[Sample] = []

    def done(self, ticket: int, sample: Sample) -> None:
        self.samples.append(sample)
        super().done(ticket, sample)


class InFlight:
    """Counts the calls running at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def one(batch: int) -> int:
    return batch


@pytest.mark.parametrize("pinned", [1, 3, 8])
def test_threads_keep_the_pinned_limit_and_batch_order(pinned: int) -> None:
    counter = InFlight()

    def run(batch: int) -> int:
        with counter:
            time.sleep(0.002 * (batch % 3))  # finish out of order
        return batch * 10

    assert list(run_batches(run, range(30), Limit(pinned=pinned), float)) == [b * 10 for b in range(30)]
    assert counter.most <= pinned
    assert pinned == 1 or counter.most > 1


def test_tasks_keep_the_pinned_limit_and_batch_order() -> None:
    counter = InFlight()

    async def run(batch: int) -> int:
        with counter:
            await asyncio.sleep(0.001 * (batch % 3))
        return batch * 10

    assert asyncio.run(arun_batches(run, list(range(30)), Limit(pinned=4), float)) == [b * 10 for b in range(30)]
    assert 1 < counter.most <= 4


def test_an_adaptive_limit_is_followed_as_it_grows() -> None:
    limit = Recording()
    counter = InFlight()

    def run(batch: int) -> int:
        with counter, watching() as load:
            time.sleep(0.001)
            load.work, load.queued = 10.0, 0.0  # the server says: all work, no queue (so no real timing matters)
        return batch

    assert list(run_batches(run, range(60), limit, float)) == list(range(60))
    assert limit.value > 4 and counter.most > 2  # it grew from 2 and more went out at once
    assert len(limit.samples) == 60


def test_a_gate_lets_at_most_the_limit_through() -> None:
    counter = InFlight()

    async def run(batch: int) -> int:
        with counter:
            await asyncio.sleep(0.002)
        return batch

    async def main() -> list[int]:
        gate = Gate(Limit(pinned=3))
        return await asyncio.gather(*(gate.run(run, b, 1.0) for b in range(20)))

    assert asyncio.run(main()) == list(range(20))
    assert counter.most == 3


def test_a_single_batch_runs_on_the_calling_thread() -> None:
    assert list(run_batches(lambda b: threading.current_thread(), [0], Limit(), float)) == [threading.current_thread()]


# --- what the server says reaches the limit ------------------------------------------------------

ENCODED = {"model": "m", "items": [{"dense": {"dims": 2, "dtype": "float32", "values": [0.5, 0.5]}}]}
TIMING = {"x-queue-time": "40.00", "x-total-time": "50.00"}


def refusing_then_answering(refusals: int) -> httpx.MockTransport:
    """A MockTransport server: ``refusals`` 503 QUEUE_FULL (Retry-After 0.01), then answers with timing headers."""
    sent: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if len(sent) <= refusals:
            body = {"detail": {"code": "QUEUE_FULL", "message": "Queue full"}}
            return httpx.Response(503, json=body, headers={"Retry-After": "0.01"})
        return httpx.Response(200, json=ENCODED, headers=TIMING)

    return httpx.MockTransport(answer)


def test_refusals_and_work_time_reach_the_sample() -> None:
    limit = Recording()
    client = SIEClient(
        "http://sie.test", http_client=httpx.Client(transport=refusing_then_answering(2)), wire_format="json"
    )
    list(run_batches(lambda texts: client.encode("m", texts), [["a"]], limit, lambda b: 7.0))
    (sample,) = limit.samples
    assert sample.refused and sample.work == pytest.approx(0.010) and sample.cost == 7.0
    assert sample.latency < 0.5  # the two waits after refusals are not counted


def test_async_refusals_and_work_time_reach_the_sample() -> None:
    limit = Recording()

    async def main() -> None:
        transport = refusing_then_answering(1)
        async with AsyncSIEClient(
            "http://sie.test", http_client=httpx.AsyncClient(transport=transport), wire_format="json"
        ) as c:
            run: Callable[[list[str]], Awaitable[Any]] = lambda texts: c.encode("m", texts)  # noqa: E731
            await arun_batches(run, [["a"], ["b"]], limit, lambda b: 1.0)

    asyncio.run(main())
    assert [s.refused for s in limit.samples].count(True) == 1
    assert all(s.work == pytest.approx(0.010) for s in limit.samples)


def test_an_answer_without_timing_headers_leaves_work_unknown() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=ENCODED))
    client = SIEClient("http://sie.test", http_client=httpx.Client(transport=transport), wire_format="json")
    with watching() as load:
        client.encode("m", ["a"])
    assert load.work is None and load.refusals == 0
    client.encode("m", ["a"])  # outside watching(): nothing to report to, nothing fails
