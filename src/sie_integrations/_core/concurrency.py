"""How many requests to keep in flight: found from the server's answers, or pinned.

``Limit`` grows while the server answers without making requests wait, and shrinks when they wait
long or the server refuses them:

- Each answer gives the queueing: the time a request waited (its latency less the server's work
  time and the least overhead seen) over that work time. A server with a free slot gives about 0;
  one with ``k`` requests queued on ``n`` busy slots gives about ``k / n``. Where the server also
  says how long the request sat in its queue, that counts too: it has none of the client's noise.
- Below ``LOW`` the limit grows, but only on answers to requests sent with the whole limit in use:
  by one per answer at first (doubling every round trip) until the server reports any queue
  (``SLOW_START_EXIT``; a server that sends no timing: until an answer waits ``LOW``, since the client's own
  noise is in its latencies), then by one per round trip.
- Above ``HIGH`` it shrinks towards the limit that would queue ``LOW``.
- A refusal (429, 503 ``QUEUE_FULL``) cuts it by ``BACKOFF``, and the limit then creeps past that
  point only once every ``PROBE_EVERY`` good answers.
- After a cut, the answers to requests sent before it cut no further.

When the server sends no timing, the latency per unit of cost (``batches.cost``: items times the longest
text) stands in: its least value seen is taken as the server's speed with no queue.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

INITIAL = 2
"""The limit before the first answer."""
DEFAULT_CAP = 32
"""The most requests in flight an adaptive limit reaches."""
LOW = 0.5
"""Queueing below which the limit grows (half a request's work time spent waiting)."""
SLOW_START_EXIT = 0.1
"""Queueing the server reports that ends the doubling."""
HIGH = 2.0
"""Queueing above which the limit is cut."""
BACKOFF = 0.75
"""The share of the limit kept after a refusal."""
PROBE_EVERY = 256
"""Good answers between two tries past the limit of the last refusal."""
SMOOTHING = 0.2
"""Weight of the newest answer in the running mean of the server's work time."""
WINDOW = 64
"""Answers over which the least latency per unit of cost is taken, when the server gives no timing."""


@dataclass(frozen=True)
class Sample:
    """How one request went."""

    latency: float
    """Seconds from sending it to its answer, without the waits after refusals."""
    work: float | None = None
    """Seconds the server says it worked on it, when it says."""
    queued: float | None = None
    """Seconds the server says it waited in its queue, when it says."""
    cost: float = 1.0
    """Its size (items times the longest text), to compare latencies when the server gives no timing."""
    refused: bool = False
    """The server refused it at least once before taking it."""
    full: bool = True
    """It was sent with the whole limit in use (the last of ``value`` in flight): only such answers grow the limit."""


class Limit:
    """The number of requests to keep in flight; safe to share between threads.

    Args:
        initial: The limit before the first answer.
        cap: The most it grows to.
        pinned: A fixed limit: answers change nothing.
    """

    def __init__(self, initial: int = INITIAL, cap: int = DEFAULT_CAP, pinned: int | None = None) -> None:
        if pinned is not None and pinned < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.pinned = pinned
        self.cap = max(1, cap)
        self._limit = float(pinned or min(max(1, initial), self.cap))
        self._ceiling = float(self.cap)
        self._slow_start = True
        self._sent = 0
        self._cut_before = 0
        self._probes = 0
        self._overhead = math.inf
        self._work: float | None = None
        self._units: deque[float] = deque(maxlen=WINDOW)
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[Limit], tuple[int, int, int | None]]:
        return (Limit, (INITIAL, self.cap, self.pinned))  # a copy starts afresh (the lock cannot be copied)

    def __repr__(self) -> str:
        kind = "pinned" if self.pinned else "adaptive"
        return f"Limit({self.value}, {kind})"

    @property
    def value(self) -> int:
        """The number of requests to keep in flight now."""
        return max(1, int(self._limit))

    def sent(self) -> int:
        """Note a request sent; the ticket to hand back to ``done``."""
        with self._lock:
            self._sent += 1
            return self._sent

    def done(self, ticket: int, sample: Sample) -> None:
        """Adjust the limit to how the request of ``ticket`` went."""
        if self.pinned:
            return
        with self._lock:
            if sample.refused:
                ceiling = max(1.0, self._limit - 1)
                if self._cut(ticket, self._limit * BACKOFF):
                    self._ceiling = ceiling
                return
            own, smoothed = self._queueing(sample)
            told = sample.queued / sample.work if sample.queued is not None and sample.work else None
            if smoothed > HIGH:
                self._cut(ticket, self._limit * max(0.5, (1 + LOW) / (1 + smoothed)))
            else:
                if (told is not None and told > SLOW_START_EXIT) or own > LOW:
                    self._slow_start = False
                if (told is None or told < LOW) and own < LOW and sample.full:
                    self._grow()

    def _queueing(self, sample: Sample) -> tuple[float, float]:
        """How long it waited, relative to its own work and to the recent work (the larger of the two)."""
        if sample.work is not None and sample.work > 0:
            overhead = max(0.0, sample.latency - sample.work)
            self._overhead = min(self._overhead, overhead)
            self._work = sample.work if self._work is None else self._work + SMOOTHING * (sample.work - self._work)
            waited = overhead - self._overhead
            return waited / sample.work, waited / max(sample.work, self._work)
        self._units.append(sample.latency / max(sample.cost, 1e-9))
        least = min(self._units)
        queueing = self._units[-1] / least - 1 if least > 0 else 0.0
        return queueing, queueing

    def _grow(self) -> None:
        step = 1.0 if self._slow_start else 1.0 / self._limit
        if self._limit + step > self._ceiling:
            if self._limit < self._ceiling:
                self._limit = self._ceiling
                return
            self._probes += 1
            if self._probes < PROBE_EVERY:
                return
            self._probes = 0
            self._ceiling += 1
        self._limit = min(float(self.cap), self._limit + step)

    def _cut(self, ticket: int, limit: float) -> bool:
        self._slow_start = False
        if ticket <= self._cut_before:
            return False
        self._cut_before = self._sent
        self._limit = max(1.0, limit)
        return True
