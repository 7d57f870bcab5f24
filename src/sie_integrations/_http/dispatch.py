"""Sending many batches with ``limit.value`` of them in flight; the results in the order of the batches.

Each batch is timed and watched (``_core/load.py``), and how it went, with its ``cost``, adjusts the limit
(``_core/concurrency.py``). A batch the server refuses gives up its place while it waits out the refusal, so
the others keep the server busy, and then takes the next free place before any new batch; with a pinned
limit it keeps its place (at most that many requests, sent or waiting). The first failure stops the batches
not yet sent and is raised.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
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


class Abandoned(Exception):
    """The call that sent a refused batch has ended: the batch is not sent again."""


class _Count:
    """Places in flight: held by batches being sent, wanted back by refused batches that waited."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.active = 0
        self.returning = 0
        self.backlog = False
        """Batches are waiting for a place: the limit, not the call, holds them back."""

    def room(self) -> bool:
        """Whether a new batch may take a place (refused batches back from their wait go first)."""
        return self.active + self.returning < self.limit.value

    def open(self) -> bool:
        """Whether a refused batch back from its wait may take a place."""
        return self.active < self.limit.value

    def enter(self) -> None:
        """Take a place."""
        self.active += 1

    def full(self) -> bool:
        """Whether the whole limit is in use (or would be, but for a place being handed on)."""
        return self.backlog or self.active >= self.limit.value

    def leave(self, ticket: int) -> None:
        """The batch of ``ticket`` was refused: it gives up its place."""
        self.active -= 1
        self.limit.refused(ticket, self.active)


class Places(_Count):
    """The places of one ``run_batches`` call, shared by its threads."""

    def __init__(self, limit: Limit) -> None:
        super().__init__(limit)
        self._news = False
        self._closed = False
        self._changed = threading.Condition()

    def take(self) -> None:
        """A place for a new batch."""
        with self._changed:
            self.enter()

    def free(self) -> None:
        """A batch is done with its place."""
        with self._changed:
            self.active -= 1
            self._tell()

    def away(self, ticket: int) -> None:
        with self._changed:
            self.leave(ticket)
            self._tell()

    def back(self) -> None:
        """Wait for a place again, after waiting out a refusal."""
        with self._changed:
            self.returning += 1
            self._changed.wait_for(lambda: self._closed or self.open())
            self.returning -= 1
            if self._closed:
                raise Abandoned("the call ended while this batch waited out a refusal")
            self.enter()

    def news(self, _: object = None) -> None:
        """Something happened that the dispatcher should look at (a batch's thread ended)."""
        with self._changed:
            self._tell()

    def wait(self) -> None:
        """Until there is news, or the limit rises by itself."""
        with self._changed:
            self._changed.wait_for(lambda: self._news, self.limit.rises_in())
            self._news = False

    def close(self) -> None:
        """The call has ended: refused batches waiting for a place are abandoned."""
        with self._changed:
            self._closed = True
            self._tell()

    def _tell(self) -> None:
        self._news = True
        self._changed.notify_all()


class Seat:
    """One batch's place, for the client to give up and take back around a refusal (``Load.seat``)."""

    def __init__(self, places: Places | Gate, ticket: int) -> None:
        self.places, self.ticket = places, ticket
        self.holding = True

    def leave(self) -> None:
        """Refused: wait without the place (a pinned limit keeps it)."""
        if not self.places.limit.pinned:
            self.holding = False
            self.places.away(self.ticket)

    def back(self) -> Awaitable[None] | None:
        """Take a place again: blocks on threads; to be awaited on a gate."""
        if self.holding:
            return None
        if isinstance(self.places, Gate):
            return self._aback(self.places)
        self.places.back()
        self.holding = True
        return None

    async def _aback(self, gate: Gate) -> None:
        await gate.back()
        self.holding = True


@contextmanager
def _timed(seat: Seat, cost: float, *, own_thread: bool) -> Iterator[None]:
    """Time and watch the batch of ``seat`` sent inside the block, and tell its limit how it went (a batch that
    failed, only when it was refused until the wait budget ran out). On a thread of its own, its CPU time too."""
    places, started, cpu = seat.places, time.perf_counter(), time.thread_time()

    def sample(load: Load) -> Sample:
        latency = time.perf_counter() - started - load.waited
        busy = time.thread_time() - cpu if own_thread else None
        return Sample(latency, load.work, load.queued, cost, load.refusals > 0, places.full(), busy)

    with watching(seat) as load:
        try:
            yield
        except BaseException:
            if load.refusals:
                places.limit.done(seat.ticket, sample(load))
            raise
    places.limit.done(seat.ticket, sample(load))


def _send(run: Run[T, R], batch: Batch[T], places: Places) -> R:
    seat = Seat(places, places.limit.sent())
    try:
        with _timed(seat, batch.cost, own_thread=True):
            return run(batch)
    finally:
        if seat.holding:
            places.free()


def run_batches(run: Run[T, R], batches: Iterable[Batch[T]], limit: Limit) -> Generator[R, None, None]:
    """``run`` over ``batches`` on threads, up to ``limit.value`` at once; the results in batch order."""
    places = Places(limit)
    if isinstance(batches, Sequence) and len(batches) <= 1:
        for batch in batches:  # one request: no thread
            places.take()
            yield _send(run, batch, places)
        return
    todo = iter(batches)
    workers = limit.pinned or 2 * limit.cap  # refused batches wait on threads of their own
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sie-batch")
    running: dict[Future[R], int] = {}
    finished: dict[int, R] = {}
    sent = given = 0
    more = True
    left = False
    try:
        while True:
            for future in [future for future in running if future.done()]:
                finished[running.pop(future)] = future.result()
            while more and places.room() and len(running) < workers and sent - given < _ahead(limit):
                batch = next(todo, _END)
                if batch is _END:
                    more = False
                    break
                places.take()
                future = pool.submit(_send, run, cast(Batch[T], batch), places)
                future.add_done_callback(places.news)
                running[future] = sent
                sent += 1
            places.backlog = more
            while given in finished:
                yield finished.pop(given)
                given += 1
            if not running:
                if not more:
                    return
                continue
            places.wait()
    except GeneratorExit:  # the caller stopped reading: the requests in flight end on their own, unwaited
        left = True
        raise
    finally:
        places.close()
        for future in running:
            future.cancel()
        pool.shutdown(wait=not left)


def _ahead(limit: Limit) -> int:
    return AHEAD * max(limit.value, limit.initial)


class Gate(_Count):
    """The places of one event loop's calls: each batch waits until there is one.

    For calls a framework starts all at once, so they stay under the limit together.
    """

    def __init__(self, limit: Limit) -> None:
        super().__init__(limit)
        self._waiters: list[asyncio.Future[None]] = []

    async def run(self, run: Run[T, Awaitable[R]], batch: Batch[T]) -> R:
        """``run(batch)`` once there is a place, timed and watched."""
        await self._until(self.room)
        self.enter()
        seat = Seat(self, self.limit.sent())
        try:
            with _timed(seat, batch.cost, own_thread=False):  # the loop's thread is every task's
                return await run(batch)
        finally:
            if seat.holding:
                self.active -= 1
            self._wake()

    def away(self, ticket: int) -> None:
        self.leave(ticket)
        self._wake()

    async def back(self) -> None:
        """Wait for a place again, after waiting out a refusal."""
        self.returning += 1
        try:
            await self._until(self.open)
        finally:
            self.returning -= 1
        self.enter()

    async def run_all(self, run: Run[T, Awaitable[R]], batches: Sequence[Batch[T]]) -> list[R]:
        """``run`` over every batch, each once there is a place; the results in batch order.

        The first failure cancels the batches still waiting or in flight, and is raised.
        """
        tasks = [asyncio.ensure_future(self.run(run, batch)) for batch in batches]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            self._waiters.append(waiter)
            self.backlog = True
            rises_in = self.limit.rises_in()
            timer = None if rises_in is None else loop.call_later(rises_in, self._wake)
            try:
                await waiter
            finally:
                if timer is not None:
                    timer.cancel()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        self.backlog = False
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def aiter_batches(
    run: Run[T, Awaitable[R]], batches: Sequence[Batch[T]], limit: Limit, gate: Gate | None = None
) -> AsyncGenerator[R, None]:
    """``run`` over ``batches`` as tasks, up to ``limit.value`` at once (and no further ahead of the results handed
    on than ``run_batches`` goes); each result in batch order, as soon as it and those before it are in. Through
    ``gate``, when given, so calls a framework starts at once stay under the limit together."""
    gate = gate or Gate(limit)
    finished: dict[int, R] = {}
    running: dict[asyncio.Task[R], int] = {}
    sent = given = 0
    try:
        while given < len(batches):
            while sent < len(batches) and sent - given < _ahead(limit):
                running[asyncio.ensure_future(gate.run(run, batches[sent]))] = sent
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
