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
from sie_integrations._core.batches import Batch, singles
from sie_integrations._core.concurrency import Limit, Sample
from sie_integrations._core.load import watching
from sie_integrations._http.dispatch import Abandoned, Gate, Places, Seat, arun_batches, run_batches
from tests.fakes.sie import FakeSIE


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


def numbered(count: int) -> list[Batch[str]]:
    """``count`` batches of one item each, the item its number."""
    return singles([str(i) for i in range(count)])


def number(batch: Batch[str]) -> int:
    return int(batch.items[0])


@pytest.mark.parametrize("pinned", [1, 3, 8])
def test_threads_keep_the_pinned_limit_and_batch_order(pinned: int) -> None:
    counter = InFlight()

    def run(batch: Batch[str]) -> int:
        with counter:
            time.sleep(0.002 * (number(batch) % 3))  # finish out of order
        return number(batch) * 10

    assert list(run_batches(run, iter(numbered(30)), Limit(pinned=pinned))) == [b * 10 for b in range(30)]
    assert counter.most <= pinned
    assert pinned == 1 or counter.most > 1


def test_tasks_keep_the_pinned_limit_and_batch_order() -> None:
    counter = InFlight()

    async def run(batch: Batch[str]) -> int:
        with counter:
            await asyncio.sleep(0.001 * (number(batch) % 3))
        return number(batch) * 10

    assert asyncio.run(arun_batches(run, numbered(30), Limit(pinned=4))) == [b * 10 for b in range(30)]
    assert 1 < counter.most <= 4


def test_an_adaptive_limit_is_followed_as_it_grows() -> None:
    limit = Recording()
    counter = InFlight()

    def run(batch: Batch[str]) -> int:
        with counter, watching() as load:
            time.sleep(0.001)
            load.work, load.queued = 10.0, 0.0  # the server says: all work, no queue (so no real timing matters)
        return number(batch)

    assert list(run_batches(run, iter(numbered(60)), limit)) == list(range(60))
    assert limit.value > 4 and counter.most > 2  # it grew from 2 and more went out at once
    assert len(limit.samples) == 60


def test_threads_send_the_burst_when_the_probe_runs_out_unanswered() -> None:
    """The first batch waits (as on a slow server) until the second has started: only the probe running out
    can start it."""
    second = threading.Event()

    def run(batch: Batch[str]) -> int:
        if number(batch) == 0:
            assert second.wait(10), "nothing else was sent while the probe's request waited"
        else:
            second.set()
        return number(batch)

    limit = Limit()
    assert list(run_batches(run, iter(numbered(20)), limit)) == list(range(20))
    assert limit.value > 1


def test_a_gate_sends_the_burst_when_the_probe_runs_out_unanswered() -> None:
    async def main() -> list[int]:
        second = asyncio.Event()

        async def run(batch: Batch[str]) -> int:
            if number(batch) == 0:
                await asyncio.wait_for(second.wait(), 10)
            else:
                second.set()
            return number(batch)

        return await arun_batches(run, numbered(20), Limit())

    assert asyncio.run(main()) == list(range(20))


def test_threads_tell_the_limit_their_cpu_time_and_tasks_do_not() -> None:
    """A batch's thread is its own, so its CPU time is the client's work on it; an event loop's thread is every
    task's."""

    def spin(batch: Batch[str]) -> int:
        until = time.thread_time() + 0.002
        while time.thread_time() < until:
            pass
        return number(batch)

    threads = Recording(probe=0)
    assert list(run_batches(spin, iter(numbered(4)), threads)) == [0, 1, 2, 3]
    assert all(s.busy is not None and 0.002 <= s.busy <= s.latency + 0.001 for s in threads.samples)

    async def arun(batch: Batch[str]) -> int:
        return spin(batch)

    tasks = Recording(probe=0)
    assert asyncio.run(arun_batches(arun, numbered(4), tasks)) == [0, 1, 2, 3]
    assert [s.busy for s in tasks.samples] == [None] * 4


def test_a_gate_lets_at_most_the_limit_through() -> None:
    counter = InFlight()

    async def run(batch: Batch[str]) -> int:
        with counter:
            await asyncio.sleep(0.002)
        return number(batch)

    async def main() -> list[int]:
        gate = Gate(Limit(pinned=3))
        return await asyncio.gather(*(gate.run(run, b) for b in numbered(20)))

    assert asyncio.run(main()) == list(range(20))
    assert counter.most == 3


def test_a_gate_runs_all_in_batch_order_and_the_first_failure_cancels_the_rest() -> None:
    counter, finished = InFlight(), []

    async def run(batch: Batch[str]) -> int:
        with counter:
            await asyncio.sleep(0.001 * (number(batch) % 3))
        if number(batch) == 5:
            raise ValueError("batch 5")
        finished.append(number(batch))
        return number(batch)

    async def main(count: int) -> list[int]:
        return await Gate(Limit(pinned=2)).run_all(run, numbered(count))

    assert asyncio.run(main(5)) == list(range(5))
    assert counter.most == 2
    finished.clear()
    with pytest.raises(ValueError, match="batch 5"):
        asyncio.run(main(40))
    assert len(finished) < 39  # the batches after the failure were never run


def test_a_single_batch_runs_on_the_calling_thread() -> None:
    assert list(run_batches(lambda b: threading.current_thread(), numbered(1), Limit())) == [threading.current_thread()]


# --- what the server says reaches the limit ------------------------------------------------------


def refusing_then_answering(refusals: int) -> FakeSIE:
    """``refusals`` 503 QUEUE_FULL (Retry-After 0.01), then answers with timing headers (40 ms queued, 50 in all)."""

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if number > refusals:
            return None
        body = {"detail": {"code": "QUEUE_FULL", "message": "Queue full"}}
        return httpx.Response(503, json=body, headers={"Retry-After": "0.01"})

    return FakeSIE(refuse=refuse, timing=(40.0, 50.0))


def test_refusals_and_work_time_reach_the_sample() -> None:
    limit = Recording()
    client = SIEClient("http://sie.test", http_client=refusing_then_answering(2).client())
    list(run_batches(lambda batch: client.encode("m", batch.items), [Batch([0], ["abcdefg"])], limit))
    (sample,) = limit.samples
    assert sample.refused and sample.work == pytest.approx(0.010) and sample.cost == 7.0  # 1 item of 7 characters
    assert sample.latency < 0.5  # the two waits after refusals are not counted


def test_async_refusals_and_work_time_reach_the_sample() -> None:
    limit = Recording()

    async def main() -> None:
        async with AsyncSIEClient("http://sie.test", http_client=refusing_then_answering(1).async_client()) as c:
            run: Callable[[Batch[str]], Awaitable[Any]] = lambda batch: c.encode("m", batch.items)  # noqa: E731
            await arun_batches(run, numbered(2), limit)

    asyncio.run(main())
    assert [s.refused for s in limit.samples].count(True) == 1
    assert all(s.work == pytest.approx(0.010) for s in limit.samples)


def test_an_answer_without_timing_headers_leaves_work_unknown() -> None:
    client = SIEClient("http://sie.test", http_client=FakeSIE().client())
    with watching() as load:
        client.encode("m", ["a"])
    assert load.work is None and load.refusals == 0
    client.encode("m", ["a"])  # outside watching(): nothing to report to, nothing fails


# --- a refused batch gives up its place while it waits --------------------------------------------


def holding(capacity: int) -> tuple[FakeSIE, list[tuple[str, str]]]:
    """A server that works on at most ``capacity`` requests at once (20 ms each) and refuses the rest at once with
    503 QUEUE_FULL, Retry-After 0.05; and what it did with each request, in order: ``("taken" | "refused", text)``."""
    server, events, lock = FakeSIE(delay=0.02), [], threading.Lock()

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        with lock:
            text = body["items"][0]["text"]
            if server.in_flight > capacity:
                events.append(("refused", text))
                body = {"detail": {"code": "QUEUE_FULL", "message": "Queue full"}}
                return httpx.Response(503, json=body, headers={"Retry-After": "0.05"})
            events.append(("taken", text))
            return None

    server.refuse = refuse
    return server, events


class Lowest(Limit):
    """An adaptive limit that keeps its lowest value after a refusal."""

    lowest = 1000

    def refused(self, ticket: int, holding: int) -> None:
        super().refused(ticket, holding)
        self.lowest = min(self.lowest, self.value)


def taken_while_the_first_refused_waited(events: list[tuple[str, str]]) -> list[str]:
    first = next(text for what, text in events if what == "refused")
    at = events.index(("refused", first))
    back = next(i for i, (_, text) in enumerate(events) if i > at and text == first)
    return [text for what, text in events[at:back] if what == "taken"]


def test_threads_a_refused_batch_gives_up_its_place_and_the_limit_falls_to_what_the_server_holds() -> None:
    server, events = holding(3)
    limit = Lowest()
    client = SIEClient("http://sie.test", http_client=server.client())
    results = list(run_batches(lambda batch: client.encode("m", batch.items), numbered(40), limit))
    assert [r[0].dense is not None for r in results] == [True] * 40
    assert sorted((text for what, text in events if what == "taken"), key=int) == [str(i) for i in range(40)]
    assert any(what == "refused" for what, _ in events)  # the first burst of 16 found a server holding 3
    assert taken_while_the_first_refused_waited(events)  # the others went on meanwhile
    assert 2 <= limit.lowest <= 3  # what the server holds (or a quarter less, once a round trip)


def test_tasks_a_refused_batch_gives_up_its_place_and_the_limit_falls_to_what_the_server_holds() -> None:
    server, events = holding(3)
    limit = Lowest()

    async def main() -> list[Any]:
        async with AsyncSIEClient("http://sie.test", http_client=server.async_client()) as client:
            run: Callable[[Batch[str]], Awaitable[Any]] = lambda batch: client.encode("m", batch.items)  # noqa: E731
            return await arun_batches(run, numbered(40), limit)

    assert len(asyncio.run(main())) == 40
    assert server.max_in_flight <= 16
    assert taken_while_the_first_refused_waited(events)
    assert 2 <= limit.lowest <= 3  # what the server holds (or a quarter less, once a round trip)


def test_a_pinned_limit_keeps_the_place_of_a_refused_batch() -> None:
    server, events = holding(3)
    client, counter = SIEClient("http://sie.test", http_client=server.client()), InFlight()

    def run(batch: Batch[str]) -> Any:
        with counter:  # from sending the batch to its answer, its waits after refusals included
            return client.encode("m", batch.items)

    assert len(list(run_batches(run, numbered(40), Limit(pinned=8)))) == 40
    assert any(what == "refused" for what, _ in events)
    assert counter.most == 8  # never more batches sent or waiting to be sent again than the pinned limit


def test_a_batch_waiting_for_its_place_is_abandoned_when_the_call_ends() -> None:
    limit = Limit(initial=2)
    places = Places(limit)
    places.take()
    places.take()
    seat = Seat(places, limit.sent())
    seat.leave()  # refused while one other was in flight: the limit falls to 1, which that one holds
    assert limit.value == 1
    failures: list[BaseException] = []

    def come_back() -> None:
        try:
            seat.back()
        except Abandoned as error:
            failures.append(error)

    thread = threading.Thread(target=come_back)
    thread.start()
    places.close()
    thread.join(5)
    assert not thread.is_alive() and len(failures) == 1 and not seat.holding
