"""How many requests to keep in flight: found from the server's answers, or pinned.

``Limit`` probes, bursts, then follows the server's answers:

- The first request goes alone, for up to ``PROBE`` seconds. Answered sooner with most of its time spent on the
  client's own work (``CLIENT_BOUND``), more requests in flight would only contend for the client's one
  interpreter: the limit stays at 1. Otherwise the first ``INITIAL`` requests go at once. A cluster with that many
  free slots is busy from the start; a smaller one refuses what it cannot hold, at once and before any work (429,
  503 ``QUEUE_FULL``).
- A refusal (``refused``) says the server holds no more of the caller's requests than it has now: the limit
  falls to that count, and to ``BACKOFF`` of itself at most once per round trip; the count is also the
  ceiling. A refused request gives up its place while it waits out the refusal (the dispatcher's business),
  so the others keep the server busy.
- Each answer gives the queueing: the time a request waited (its latency less the server's work time and the
  least overhead seen) over that work time; where the server also says how long it sat in its queue, that
  counts too. A server with a free slot gives about 0; one with ``k`` requests queued on ``n`` busy slots
  gives about ``k / n``. Only answers that come while the whole limit is in use (``Sample.full``) count.
- A round whose typical answer spent ``CLIENT_BOUND`` of its time on the client's own work does not grow the
  limit: the requests wait for the client, not the server.
- A round in which the sending threads together kept the client's interpreter busy ``SATURATED`` of the time,
  with no queue told by the server, counts as idle: its latencies are the client's own waits (for the
  interpreter, its garbage collector), not the server's queue, and more requests in flight keep the server
  busy while the client catches up. A server that holds no more refuses, as above.
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, cast

PROBE = 0.01
"""Seconds the first request goes alone before the burst follows, unless it is answered sooner."""
INITIAL = 16
"""The first burst: the limit after the probe, unless the client's own work took most of the probe's time."""
CLIENT_BOUND = 0.6
"""Share of a request's latency spent on its own thread's CPU at and above which the client, not the server, is
what requests wait for (its interpreter runs one thread at a time): the limit does not grow. Measured on an
instant server: 0.8 to 0.9 for a process's first request (its connection opened), 0.9 and more after."""
SATURATED = 0.7
"""Share of a round's time the sending threads' CPU took together, at and above which the client is saturated. Measured
on a cluster without timing headers, 256 short texts a request: 0.2 to 0.5 on 4 slots (the server the bottleneck),
0.7 to 1.0 on 16 and 64 (the client)."""
DEFAULT_CAP = 128
"""The most requests in flight an adaptive limit reaches, and the connections an adapter's own pool keeps alive."""
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
    busy: float | None = None
    """CPU seconds the sending thread spent on it (decoding its answer included), when it had a thread of its own."""

    @property
    def client_share(self) -> float:
        """The share of its latency spent on the client's own work (0 when unknown)."""
        return self.busy / self.latency if self.busy is not None and self.latency > 0 else 0.0

    @property
    def client_bound(self) -> bool:
        """Whether the client's own work took ``CLIENT_BOUND`` of its latency."""
        return _client_bound(self.client_share)


def _client_bound(share: float) -> bool:
    return share >= CLIENT_BOUND


class _Answer(NamedTuple):
    """One answer of a round, as judged."""

    own: float
    told: float
    queueing: float
    client_share: float
    busy: float
    """CPU seconds its thread spent on it (0 when unknown)."""
    at: float
    """When it came (``Limit.clock``)."""
    fresh: bool
    """Its request was sent at the current limit."""


class Limit:
    """The number of requests to keep in flight; safe to share between threads.

    Args:
        initial: The first burst.
        cap: The most it grows to.
        pinned: A fixed limit: answers change nothing.
        probe: Seconds the first request goes alone (0: the burst goes at once).
    """

    def __init__(
        self, initial: int = INITIAL, cap: int = DEFAULT_CAP, pinned: int | None = None, probe: float = PROBE
    ) -> None:
        if pinned is not None and pinned < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.pinned = pinned
        self.cap = max(1, cap)
        self.initial = pinned or min(max(1, initial), self.cap)
        self.probe = 0.0 if pinned else probe
        self.clock: Callable[[], float] = time.monotonic
        """What times the probe (a simulation sets its own)."""
        self._probe_out = self.probe > 0
        """The first request (ticket 1) is the probe, and has not been answered or refused yet."""
        self._alone_since: float | None = None
        """When the probe was sent, while it goes alone."""
        self._limit = 1.0 if self._probe_out else float(self.initial)
        self._ceiling = float(self.cap)
        self._sent = 0
        self._cut_before = 0
        self._changed_before = 0
        self._round: list[_Answer] = []
        self._rounds = 0
        self._patience = 1
        self._probing = False
        self._overhead = math.inf
        self._work: float | None = None
        self._least: dict[int, float] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[Limit], tuple[int, int, int | None, float]]:
        return (Limit, (self.initial, self.cap, self.pinned, self.probe))  # a copy starts afresh (the lock cannot)

    def __repr__(self) -> str:
        kind = "pinned" if self.pinned else "adaptive"
        return f"Limit({self.value}, {kind})"

    @property
    def value(self) -> int:
        """The number of requests to keep in flight now."""
        self._run_out()
        return max(1, int(self._limit))

    def rises_in(self) -> float | None:
        """Seconds until the limit rises by itself (when the probe runs out), if it will."""
        self._run_out()
        since = self._alone_since
        return None if since is None else max(0.0, since + self.probe - self.clock())

    def _run_out(self) -> None:
        """The probe has gone unanswered for ``probe`` seconds: the burst follows."""
        if self._alone_since is not None and self.clock() - self._alone_since >= self.probe:
            with self._lock:
                if self._alone_since is not None:
                    self._alone_since = None
                    self._set(float(self.initial))

    def sent(self) -> int:
        """Note a request sent; the ticket to hand back to ``refused`` and ``done``."""
        with self._lock:
            self._sent += 1
            if self._probe_out and self._sent == 1:
                self._alone_since = self.clock()
            return self._sent

    def _probed(self, client_bound: bool) -> bool:
        """The probe is answered: a client that took most of its time keeps one in flight, even after the burst;
        otherwise the burst goes, if it has not. Whether that set the limit (else it is an answer like any other)."""
        alone = self._alone_since is not None
        self._probe_out = False
        self._alone_since = None
        if client_bound or alone:
            self._set(1.0 if client_bound else float(self.initial))
        return client_bound or alone

    def _set(self, limit: float) -> None:
        """A new limit: answers to the requests already sent say nothing of it."""
        if limit != self._limit:
            self._limit = limit
            self._changed_before = self._sent
            self._round.clear()

    def refused(self, ticket: int, holding: int) -> None:
        """The request of ``ticket`` was refused while ``holding`` other requests of the caller were in flight."""
        if self.pinned:
            return
        with self._lock:
            if self._probe_out and ticket == 1:
                self._probe_out = False
                self._alone_since = None
            if self._probing:
                self._patience = min(MOST_PATIENCE, 2 * self._patience)
            self._round.clear()
            self._rounds = 0
            self._probing = False
            limit = min(self._limit, float(max(1, holding)))
            if ticket > self._cut_before:
                self._cut_before = self._sent
                limit = min(limit, max(1.0, self._limit * BACKOFF))
            self._set(limit)
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
            if self._probe_out and ticket == 1 and self._probed(sample.client_bound):
                return
            if not sample.full:  # fewer in flight than the limit: says nothing of it
                self._round.clear()
                return
            fresh = ticket > self._changed_before
            answer = _Answer(own, told or 0.0, smoothed, sample.client_share, sample.busy or 0.0, self.clock(), fresh)
            self._round.append(answer)
            if len(self._round) >= self._limit:  # a round trip's answers, all with the whole limit in use
                self._round_done(ticket)

    def _round_done(self, ticket: int) -> None:
        """Judge a round by its typical answer (the median, the higher of two): one slow answer is noise. Answers to
        requests sent at the current limit speak for it, when there are some."""
        judged = [answer for answer in self._round if answer.fresh] or self._round
        own = statistics.median_high(answer.own for answer in judged)
        told = statistics.median_high(answer.told for answer in judged)
        queueing = statistics.median_high(answer.queueing for answer in judged)
        share = statistics.median_high(answer.client_share for answer in judged)
        saturated = told < IDLE_TOLD and _load(self._round) >= SATURATED
        self._round.clear()
        if queueing > HIGH and not saturated:
            self._cut(ticket, self._limit * max(0.5, (1 + LOW) / (1 + queueing)))
        elif _client_bound(share):
            return
        elif saturated or (own < IDLE and told < IDLE_TOLD):
            self._idle_round()
        elif own < LOW and told < LOW:
            self._set(min(max(self._limit, self._ceiling), self._limit + 1))

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
        self._set(min(self._ceiling, 2 * self._limit))

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
        self._set(max(1.0, limit))


def _load(answers: list[_Answer]) -> float:
    """The share of the time from the first answer to the last that the later ones' threads spent on the CPU."""
    span = answers[-1].at - answers[0].at if answers else 0.0
    return sum(answer.busy for answer in answers[1:]) / span if span > 0 else 0.0
