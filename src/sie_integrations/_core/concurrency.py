"""How many requests to keep in flight: found from the server's answers, or pinned.

``Limit`` starts with a burst, then follows the server's answers:

- The first ``INITIAL`` requests go at once. A cluster with that many free slots is busy from the start; a
  smaller one refuses what it cannot hold, at once and before any work (429, 503 ``QUEUE_FULL``).
- A refusal (``refused``) says the server holds no more of the caller's requests than it has now: the limit
  falls to that count, and to ``BACKOFF`` of itself at most once per round trip; the count is also the
  ceiling. A refused request gives up its place while it waits out the refusal (the dispatcher's business),
  so the others keep the server busy.
- Each answer gives the queueing: the time a request waited (its latency less the server's work time and the
  least overhead seen) over that work time; where the server also says how long it sat in its queue, that
  counts too. A server with a free slot gives about 0; one with ``k`` requests queued on ``n`` busy slots
  gives about ``k / n``. Only answers that come while the whole limit is in use (``Sample.full``) count.
- A whole round of answers with no queue at all (below ``IDLE``, or ``IDLE_TOLD`` as the server reports it)
  doubles the limit, up to the ceiling; at the ceiling, once ``patience`` such rounds were spent there, it
  steps past it (the cluster has grown). A step past it that is refused doubles the patience.
- A queue below ``LOW`` grows it by one a round trip, up to the ceiling; above ``HIGH`` it shrinks towards
  the limit that would queue ``LOW``, once per round trip.

When the server sends no timing (or a work time longer than the request took, which is not this request's),
the latency per unit of cost (``batches.cost``: items times the longest text) stands in: its least value
among the answers of about the same cost (within ``SIMILAR`` squared) is taken as the server's speed with no
queue.
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass
from typing import cast

INITIAL = 16
"""The limit before the first answer: the first burst."""
DEFAULT_CAP = 128
"""The most requests in flight an adaptive limit reaches."""
LOW = 0.5
"""Queueing below which the limit grows (half a request's work time spent waiting)."""
IDLE = 0.6
"""Queueing below which a round's typical answer (the median, the higher of two) counts as idle, measured by the
client: its own noise is in it, and the time it takes to send a burst (up to about half a request's work)."""
IDLE_TOLD = 0.1
"""Queueing below which a round's typical answer counts as idle, as the server reports it."""
HIGH = 2.0
"""Queueing above which the limit is cut."""
BACKOFF = 0.75
"""The share of the limit kept after a refusal."""
MOST_PATIENCE = 64
"""The most idle rounds at the ceiling before stepping past it again, after steps past it were refused."""
SMOOTHING = 0.2
"""Weight of the newest answer in the running mean of the server's work time."""
SIMILAR = 1.5
"""Costs within this factor of each other count as about the same, when the server gives no timing."""


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
    """The server refused it at least once before taking it (already counted by ``Limit.refused``)."""
    full: bool = True
    """The whole limit was in use as it was answered: only such answers say anything of the limit."""


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
        self.initial = pinned or min(max(1, initial), self.cap)
        self._limit = float(self.initial)
        self._ceiling = float(self.cap)
        self._sent = 0
        self._cut_before = 0
        self._round: list[tuple[float, float, float]] = []
        self._rounds = 0
        self._patience = 1
        self._probing = False
        self._overhead = math.inf
        self._work: float | None = None
        self._least: dict[int, float] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[Limit], tuple[int, int, int | None]]:
        return (Limit, (self.initial, self.cap, self.pinned))  # a copy starts afresh (the lock cannot be copied)

    def __repr__(self) -> str:
        kind = "pinned" if self.pinned else "adaptive"
        return f"Limit({self.value}, {kind})"

    @property
    def value(self) -> int:
        """The number of requests to keep in flight now."""
        return max(1, int(self._limit))

    def sent(self) -> int:
        """Note a request sent; the ticket to hand back to ``refused`` and ``done``."""
        with self._lock:
            self._sent += 1
            return self._sent

    def refused(self, ticket: int, holding: int) -> None:
        """The request of ``ticket`` was refused while ``holding`` other requests of the caller were in flight."""
        if self.pinned:
            return
        with self._lock:
            if self._probing:
                self._patience = min(MOST_PATIENCE, 2 * self._patience)
            self._round.clear()
            self._rounds = 0
            self._probing = False
            limit = min(self._limit, float(max(1, holding)))
            if ticket > self._cut_before:
                self._cut_before = self._sent
                limit = min(limit, max(1.0, self._limit * BACKOFF))
            self._limit = limit
            self._ceiling = max(limit, min(self._ceiling, float(max(1, holding))))

    def done(self, ticket: int, sample: Sample) -> None:
        """Adjust the limit to how the request of ``ticket`` went."""
        if self.pinned or sample.refused:  # a refused request's latency includes its second queueing
            return
        with self._lock:
            own, smoothed = self._queueing(sample)
            told = sample.queued / sample.work if sample.queued is not None and sample.work else None
            if told is not None and self._work:
                smoothed = max(smoothed, cast(float, sample.queued) / max(cast(float, sample.work), self._work))
            if not sample.full:  # fewer in flight than the limit: says nothing of it
                self._round.clear()
                return
            self._round.append((own, told or 0.0, smoothed))
            if len(self._round) >= self._limit:  # a round trip's answers, all with the whole limit in use
                self._round_done(ticket)

    def _round_done(self, ticket: int) -> None:
        """Judge a round by its typical answer (the median, the higher of two): one slow answer is noise."""
        own = statistics.median_high(own for own, _, _ in self._round)
        told = statistics.median_high(told for _, told, _ in self._round)
        queueing = statistics.median_high(smoothed for _, _, smoothed in self._round)
        self._round.clear()
        if queueing > HIGH:
            self._cut(ticket, self._limit * max(0.5, (1 + LOW) / (1 + queueing)))
        elif own < IDLE and told < IDLE_TOLD:
            self._idle_round()
        elif own < LOW and told < LOW:
            self._limit = min(max(self._limit, self._ceiling), self._limit + 1)

    def _idle_round(self) -> None:
        """A whole round at the limit with no queue at all: room for twice as many, past the ceiling once
        ``patience`` such rounds were spent at it (doubled each time that step was refused)."""
        if self._probing:  # the last step past the ceiling went without a refusal
            self._patience = 1
        self._probing = False
        if self._limit >= self._ceiling:
            self._rounds += 1
            if self._rounds < self._patience:
                return
            self._rounds = 0
            self._ceiling = float(self.cap)
            self._probing = True
        self._limit = min(self._ceiling, 2 * self._limit)

    def _queueing(self, sample: Sample) -> tuple[float, float]:
        """How long it waited, relative to its own work and to the recent work (the larger of the two)."""
        if sample.work is not None and 0 < sample.work <= sample.latency:
            overhead = sample.latency - sample.work
            self._overhead = min(self._overhead, overhead)
            self._work = sample.work if self._work is None else self._work + SMOOTHING * (sample.work - self._work)
            waited = overhead - self._overhead
            return waited / sample.work, waited / max(sample.work, self._work)
        unit = sample.latency / max(sample.cost, 1e-9)
        size = round(math.log(max(sample.cost, 1.0), SIMILAR))
        self._least[size] = min(self._least.get(size, unit), unit)
        least = min(self._least.get(near, math.inf) for near in (size - 1, size, size + 1))
        queueing = max(0.0, unit / least - 1) if least > 0 else 0.0
        return queueing, queueing

    def _cut(self, ticket: int, limit: float) -> None:
        if ticket <= self._cut_before:
            return
        self._cut_before = self._sent
        self._limit = max(1.0, limit)
