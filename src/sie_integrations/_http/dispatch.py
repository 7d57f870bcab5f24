"""Sending many batches with ``limit.value`` of them in flight; the results in the order of the batches.

Each batch is timed and watched (``_core/load.py``), and how it went, with its ``cost``, adjusts the limit
(``_core/concurrency.py``). The first failure stops the batches not yet sent and is raised.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar, cast

from .._core.batches import Batch
from .._core.concurrency import Limit, Sample
from .._core.load import Load, watching
from ..types import ItemLike

T = TypeVar("T", bound=ItemLike)
R = TypeVar("R")
Run = Callable[[Batch[T]], R]

_END = object()
AHEAD = 4
"""How many rounds of batches may finish ahead of the oldest one still running (bounds the results held)."""


def _sample(load: Load, started: float, cost: float, full: bool) -> Sample:
    latency = time.perf_counter() - started - load.waited
    return Sample(latency, load.work, load.queued, cost, load.refusals > 0, full)


def _timed(run: Run[T, R], batch: Batch[T], limit: Limit, full: bool) -> R:
    ticket, started, cost = limit.sent(), time.perf_counter(), batch.cost
    with watching() as load:
        try:
            result = run(batch)
        except BaseException:
            if load.refusals:  # refused until the wait budget ran out
                limit.done(ticket, _sample(load, started, cost, full))
            raise
    limit.done(ticket, _sample(load, started, cost, full))
    return result


async def _atimed(run: Run[T, Awaitable[R]], batch: Batch[T], limit: Limit, full: bool) -> R:
    ticket, started, cost = limit.sent(), time.perf_counter(), batch.cost
    with watching() as load:
        try:
            result = await run(batch)
        except BaseException:
            if load.refusals:
                limit.done(ticket, _sample(load, started, cost, full))
            raise
    limit.done(ticket, _sample(load, started, cost, full))
    return result


def run_batches(run: Run[T, R], batches: Iterable[Batch[T]], limit: Limit) -> Generator[R, None, None]:
    """``run`` over ``batches`` on threads, up to ``limit.value`` at once; the results in batch order."""
    if isinstance(batches, Sequence) and len(batches) <= 1:
        for batch in batches:  # one request: no thread
            yield _timed(run, batch, limit, True)
        return
    todo = iter(batches)
    pool = ThreadPoolExecutor(max_workers=limit.pinned or limit.cap, thread_name_prefix="sie-batch")
    running: dict[Future[R], int] = {}
    finished: dict[int, R] = {}
    sent = given = 0
    more = True
    left = False
    try:
        while True:
            while more and len(running) < limit.value and sent - given < AHEAD * limit.value:
                batch = next(todo, _END)
                if batch is _END:
                    more = False
                    break
                full = len(running) + 1 >= limit.value
                running[pool.submit(_timed, run, cast(Batch[T], batch), limit, full)] = sent
                sent += 1
            while given in finished:
                yield finished.pop(given)
                given += 1
            if not running:
                if not more:
                    return
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                finished[running.pop(future)] = future.result()
    except GeneratorExit:  # the caller stopped reading: the requests in flight end on their own, unwaited
        left = True
        raise
    finally:
        for future in running:
            future.cancel()
        pool.shutdown(wait=not left)


async def aiter_batches(
    run: Run[T, Awaitable[R]], batches: Sequence[Batch[T]], limit: Limit, gate: Gate | None = None
) -> AsyncGenerator[R, None]:
    """``run`` over ``batches`` as tasks, up to ``limit.value`` at once (and no further ahead of the results handed
    on than ``run_batches`` goes); each result in batch order, as soon as it and those before it are in. Through
    ``gate``, when given, so calls a framework starts at once stay under the limit together."""
    finished: dict[int, R] = {}
    running: dict[asyncio.Task[R], int] = {}
    sent = given = 0
    try:
        while given < len(batches):
            while sent < len(batches) and len(running) < limit.value and sent - given < AHEAD * limit.value:
                full = len(running) + 1 >= limit.value
                sending = gate.run(run, batches[sent]) if gate else _atimed(run, batches[sent], limit, full)
                running[asyncio.ensure_future(sending)] = sent
                sent += 1
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                finished[running.pop(task)] = task.result()
            while given in finished:
                yield finished.pop(given)
                given += 1
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)


async def arun_batches(run: Run[T, Awaitable[R]], batches: Sequence[Batch[T]], limit: Limit) -> list[R]:
    """``run`` over ``batches`` as tasks, up to ``limit.value`` at once; the results in batch order."""
    return [result async for result in aiter_batches(run, batches, limit)]


class Gate:
    """For calls a framework starts all at once: each waits until fewer than ``limit.value`` are in flight."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._in_flight = 0
        self._changed = asyncio.Condition()

    async def run(self, run: Run[T, Awaitable[R]], batch: Batch[T]) -> R:
        """``run(batch)`` once there is room, timed like the batches of ``arun_batches``."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_flight < self.limit.value)
            self._in_flight += 1
            full = self._in_flight >= self.limit.value
        try:
            return await _atimed(run, batch, self.limit, full)
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    async def run_all(self, run: Run[T, Awaitable[R]], batches: Sequence[Batch[T]]) -> list[R]:
        """``run`` over every batch, each once there is room; the results in batch order.

        The first failure cancels the batches still waiting or in flight, and is raised.
        """
        tasks = [asyncio.ensure_future(self.run(run, batch)) for batch in batches]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


class LoopGates:
    """One ``Gate`` per event loop, so calls on every loop stay under the limit."""

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Gate] = weakref.WeakKeyDictionary()

    def __reduce__(self) -> tuple[type[LoopGates], tuple[()]]:
        return (LoopGates, ())

    def get(self, limit: Limit) -> Gate:
        """The running loop's gate for ``limit`` (a pinned limit of the same value keeps its gate)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        same = gate is not None and (gate.limit is limit or (limit.pinned and gate.limit.pinned == limit.pinned))
        if gate is None or not same:
            gate = self._gates[loop] = Gate(limit)
        return gate
