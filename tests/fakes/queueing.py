"""A discrete-event model of an SIE server with parallel slots, in virtual time, driving a ``Limit``.

Every time here is simulated, so results are exact and the same on any machine: no test asserts a timing.
The server runs up to ``slots`` batches at once, first come first served, and sends its work time with each
answer (as ``X-Total-Time`` less ``X-Queue-Time``) unless ``timing=False``. A batch takes
``base + per_item * items + per_char * items * longest`` seconds (the server pads to the longest text). It
refuses a batch (503 ``QUEUE_FULL``, ``Retry-After: 1``) when its pending items (running and queued) would pass
``pending_items`` per slot, as a standalone server does past 512, or when ``queue_per_slot`` times its slots
are already waiting, as a cluster's gateway may. The client keeps ``limit.value`` batches in flight, like
``run_batches``: a refused batch gives up its place, waits ``retry_wait`` seconds, then takes the next place
free before any new batch. ``resize`` changes the number of slots mid-run. With ``client`` set, each answer
takes the client ``client`` CPU seconds, and ``client_item`` more an item, to decode, one answer at a time (one
interpreter), and the ``Limit`` is told that CPU time. The ``Limit`` runs on the model's clock (its probe included).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sie_integrations._core.concurrency import Limit, Sample

Batch = tuple[int, int]  # (items, longest text in characters)


def mixed_corpus(count: int, seed: int = 0) -> list[int]:
    """Text lengths in characters: 75% of 40-100, 25% of 500-1,000 (like the benchmark's mixed corpus)."""
    rng = random.Random(seed)
    return [rng.randint(40, 100) if rng.random() < 0.75 else rng.randint(500, 1000) for _ in range(count)]


def length_sorted_batches(lengths: list[int], size: int) -> list[Batch]:
    """``(items, longest)`` of each batch, shortest first, as the client plans them."""
    ordered = sorted(lengths)
    return [(len(ordered[i : i + size]), max(ordered[i : i + size])) for i in range(0, len(ordered), size)]


@dataclass(frozen=True)
class Server:
    """The model's parameters (the default service times are those of a mid-size model on one GPU)."""

    slots: int
    pending_items: int = 512
    base: float = 0.005
    per_char: float = 2.3e-6
    per_item: float = 0.0
    overhead: float = 0.001
    retry_wait: float = 1.25
    queue_per_slot: int | None = None
    client: float = 0.0
    client_item: float = 0.0

    def service(self, batch: Batch) -> float:
        return self.base + self.per_item * batch[0] + self.per_char * batch[0] * batch[1]


HEADERLESS = Server(1, pending_items=10**9, base=0.05, per_char=0.0, per_item=0.0002, retry_wait=1.0, queue_per_slot=2)
"""The benchmarks' cluster without timing headers (``benchmarks/run.py --only headerless``), on one slot."""


@dataclass
class Job:
    batch: Batch
    ticket: int
    sent: float
    waited: float = 0.0
    arrived: float = 0.0
    queued: float = 0.0


@dataclass(frozen=True)
class Run:
    """What one simulated run did."""

    seconds: float
    texts: int
    refusals: int
    limits: list[int]

    @property
    def throughput(self) -> float:
        return self.texts / self.seconds


class Simulation:
    """One client (its ``Limit``) against one modelled server."""

    def __init__(self, server: Server, limit: Limit, *, timing: bool = True) -> None:
        self.server, self.limit, self.timing = server, limit, timing
        self.slots = server.slots
        self.clock = 0.0
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._busy = self._pending = 0
        self._queue: deque[Job] = deque()
        self._todo: deque[Batch] = deque()
        self._returning: deque[Job] = deque()
        self._in_flight = self._answered = 0
        self._client_free = 0.0
        self._rise_due = False
        self.refusals = 0
        self.limits: list[int] = []
        limit.clock = lambda: self.clock

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (self.clock + delay, next(self._order), action))

    def resize(self, after: float, slots: int) -> None:
        """The server has ``slots`` slots from ``after`` seconds on."""

        def change() -> None:
            self.slots = slots
            while self._queue and self._busy < self.slots:
                self._start(self._queue.popleft())

        self._at(after, change)

    def _start(self, job: Job) -> None:
        self._busy += 1
        job.queued = self.clock - job.arrived
        work = self.server.service(job.batch)
        self._at(work, lambda: self._end(job, work))

    def _end(self, job: Job, work: float) -> None:
        self._busy -= 1
        self._pending -= job.batch[0]
        if self._queue and self._busy < self.slots:
            self._start(self._queue.popleft())
        self._at(self.server.overhead, lambda: self._answer(job, work))

    def _full(self, items: int) -> bool:
        server = self.server
        if self._pending + items > server.pending_items * self.slots:
            return True
        waiting = self._busy >= self.slots and len(self._queue) >= (server.queue_per_slot or 0) * self.slots
        return server.queue_per_slot is not None and waiting

    def _arrive(self, job: Job) -> None:
        if self._full(job.batch[0]):
            self.refusals += 1
            self._at(self.server.overhead, lambda: self._refused(job))
            return
        self._pending += job.batch[0]
        job.arrived = self.clock
        if self._busy < self.slots:
            self._start(job)
        else:
            self._queue.append(job)

    def _refused(self, job: Job) -> None:
        self._in_flight -= 1
        self.limit.refused(job.ticket, self._in_flight)
        job.waited += self.server.retry_wait + 2 * self.server.overhead
        self._at(self.server.retry_wait, lambda: self._back(job))
        self._fill()

    def _back(self, job: Job) -> None:
        self._returning.append(job)
        self._fill()

    def _answer(self, job: Job, work: float) -> None:
        if not self.server.client:
            self._decoded(job, work, None)
            return
        busy = self.server.client + self.server.client_item * job.batch[0]
        self._client_free = max(self.clock, self._client_free) + busy
        self._at(self._client_free - self.clock, lambda: self._decoded(job, work, busy))

    def _decoded(self, job: Job, work: float, busy: float | None) -> None:
        latency = self.clock - job.sent - job.waited
        items, longest = job.batch
        told = (work, job.queued) if self.timing else (None, None)
        full = self._in_flight >= self.limit.value  # the whole limit in use as it is answered
        sample = Sample(latency, *told, cost=items * longest, refused=job.waited > 0, full=full, busy=busy)
        self.limit.done(job.ticket, sample)
        self._in_flight -= 1
        self._answered += 1
        self._fill()

    def _send(self, job: Job) -> None:
        self._in_flight += 1
        self.limits.append(self.limit.value)
        self._at(self.server.overhead, lambda: self._arrive(job))

    def _fill(self) -> None:
        while self._returning and self._in_flight < self.limit.value:
            self._send(self._returning.popleft())
        while self._todo and self._in_flight + len(self._returning) < self.limit.value:
            self._send(Job(self._todo.popleft(), self.limit.sent(), self.clock))
        rises_in = self.limit.rises_in()
        if rises_in is not None and not self._rise_due:  # the probe runs out: look again then
            self._rise_due = True
            self._at(rises_in, self._rise)

    def _rise(self) -> None:
        self._rise_due = False
        self._fill()

    def call(self, batches: list[Batch]) -> None:
        """One embedding call: its batches, until the last answer."""
        self._todo.extend(batches)
        self._answered = 0
        self._fill()
        while self._answered < len(batches):
            self.clock, _, action = heapq.heappop(self._events)
            action()


def simulate(
    server: Server,
    calls: list[list[Batch]],
    limit: Limit,
    *,
    timing: bool = True,
    resize: tuple[float, int] | None = None,
) -> Run:
    """The calls one after another, on one ``Limit`` (as an adapter keeps it between calls); ``resize`` is
    ``(after, slots)``."""
    simulation = Simulation(server, limit, timing=timing)
    if resize:
        simulation.resize(*resize)
    for batches in calls:
        simulation.call(batches)
    texts = sum(items for batches in calls for items, _ in batches)
    return Run(simulation.clock, texts, simulation.refusals, simulation.limits)
