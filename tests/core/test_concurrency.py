"""The adaptive limit of requests in flight: the controller alone, then against a modelled server.

The model (``tests/fakes/queueing.py``) runs in virtual time, so its throughputs are exact; nothing here times
real requests.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace

import pytest

from sie_integrations._core.concurrency import BACKOFF, DEFAULT_CAP, INITIAL, PROBE, Limit, Sample
from tests.fakes.queueing import HEADERLESS, Server, length_sorted_batches, mixed_corpus, simulate

IDLE = Sample(latency=0.101, work=0.1)  # answered with no wait beyond the usual overhead


def queued(ratio: float) -> Sample:
    """An answer that waited ``ratio`` times its work time in the server's queue, as the server says."""
    return Sample(latency=0.101 + 0.1 * ratio, work=0.1, queued=0.1 * ratio)


def answer(limit: Limit, sample: Sample, count: int = 1) -> None:
    for _ in range(count):
        limit.done(limit.sent(), sample)


def test_a_pinned_limit_never_moves() -> None:
    limit = Limit(pinned=3)
    answer(limit, IDLE, 50)
    limit.refused(limit.sent(), 0)
    answer(limit, Sample(1.0, 0.1, refused=True), 5)
    assert limit.value == 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def probing() -> tuple[Limit, Clock]:
    limit, clock = Limit(), Clock()
    limit.clock = clock
    return limit, clock


def test_the_first_request_goes_alone_and_the_burst_follows_when_the_probe_runs_out() -> None:
    limit, clock = probing()
    assert limit.value == 1 and limit.rises_in() is None
    ticket = limit.sent()
    clock.now = PROBE / 2
    assert limit.value == 1 and limit.rises_in() == pytest.approx(PROBE / 2)
    clock.now = PROBE
    assert limit.value == INITIAL and limit.rises_in() is None
    limit.done(ticket, Sample(0.1, busy=0.001))  # mostly the server's time: the burst stands
    assert limit.value == INITIAL


def test_a_probe_answered_late_that_took_the_client_most_of_its_time_still_keeps_one_in_flight() -> None:
    """A first request that went slowly through the client's own work (its connection, its imports, a large
    answer to decode) let the burst go; its answer still says what more in flight would do."""
    limit, clock = probing()
    ticket = limit.sent()
    clock.now = 2 * PROBE
    assert limit.value == INITIAL
    limit.done(ticket, Sample(2 * PROBE, busy=1.8 * PROBE))
    assert limit.value == 1


def test_a_probe_answered_in_time_by_a_server_bursts() -> None:
    limit, clock = probing()
    ticket = limit.sent()
    clock.now = PROBE / 2
    limit.done(ticket, Sample(PROBE / 2, busy=PROBE / 10))  # most of its time in the server
    assert limit.value == INITIAL


def test_a_probe_that_took_the_client_most_of_its_time_keeps_one_in_flight() -> None:
    """An instant server: more requests in flight would only contend for the client's interpreter."""
    limit, clock = probing()
    ticket = limit.sent()
    clock.now = 0.004
    limit.done(ticket, Sample(0.004, cost=12_800, busy=0.0035))
    assert limit.value == 1 and limit.rises_in() is None
    answer(limit, Sample(0.004, cost=12_800, busy=0.0035), 50)  # idle rounds, but the client is what they wait for
    assert limit.value == 1
    answer(limit, Sample(0.05, work=0.046, cost=12_800, busy=0.0035), 2)  # the server got slower: room for more
    assert limit.value == 2


def test_a_refused_probe_ends_it_at_one() -> None:
    limit, _ = probing()
    limit.refused(limit.sent(), 0)
    assert limit.value == 1 and limit.rises_in() is None


def test_a_round_after_a_change_is_judged_by_the_requests_sent_at_the_new_limit() -> None:
    """Answers to requests sent before the limit doubled saw the smaller limit's queue: a round mostly of them
    would double it again into a standing queue."""
    limit = Limit(initial=4, probe=0)
    tickets = [limit.sent() for _ in range(9)]
    for ticket in tickets[:4]:
        limit.done(ticket, IDLE)
    assert limit.value == 8
    for ticket in tickets[4:]:  # five sent before the change, with no queue at the old limit
        limit.done(ticket, IDLE)
    answer(limit, queued(1.0), 3)  # the new limit's own requests queue behind the slots
    assert limit.value == 8


def answered_apart(limit: Limit, clock: Clock, sample: Sample, count: int, apart: float) -> None:
    for _ in range(count):
        clock.now += apart
        limit.done(limit.sent(), sample)


@pytest.mark.parametrize(
    ("busy", "told", "after"),
    [(0.02, False, 8), (0.005, False, 2), (0.02, True, 2)],
    ids=["saturated: grows", "not saturated: cut", "the server tells its queue: cut"],
)
def test_a_round_that_kept_the_client_busy_counts_as_idle_unless_the_server_tells_a_queue(
    busy: float, told: bool, after: int
) -> None:
    """A client whose threads kept its interpreter busy ``SATURATED`` of a round's time waited for itself (its
    interpreter, its garbage collector): the latency says nothing of the server, and more in flight keep it busy."""
    limit, clock = Limit(initial=4, probe=0), Clock()
    limit.clock = clock
    answer(limit, Sample(0.1, full=False))  # the least latency: 0.1 s
    slow = queued(4.0) if told else Sample(0.5)  # four times the work spent waiting
    answered_apart(limit, clock, replace(slow, busy=busy), 4, apart=0.025)  # busy 0.8 or 0.2 of the round
    assert limit.value == after


def test_it_starts_with_a_burst_and_doubles_after_each_round_with_no_queue() -> None:
    limit = Limit(probe=0)
    assert limit.value == INITIAL == 16
    answer(limit, IDLE, 15)
    assert limit.value == 16  # not before the whole round is in
    answer(limit, IDLE)
    assert limit.value == 32
    answer(limit, IDLE, 32)
    assert limit.value == 64


def test_it_never_passes_its_cap() -> None:
    limit = Limit(probe=0)
    answer(limit, IDLE, 1000)
    assert limit.value == DEFAULT_CAP == 128


def test_answers_sent_below_the_limit_do_not_grow_it() -> None:
    limit = Limit(probe=0)
    answer(limit, IDLE, INITIAL)  # the first burst counts as using the whole limit
    assert limit.value == 2 * INITIAL
    answer(limit, Sample(0.101, 0.1, full=False), 200)  # the caller had fewer batches than the limit
    assert limit.value == 2 * INITIAL


def test_a_queue_of_about_one_batch_holds_the_limit() -> None:
    limit = Limit(probe=0)
    answer(limit, queued(1.0), 200)
    assert limit.value == INITIAL


def test_a_short_queue_grows_it_by_one_a_round() -> None:
    limit = Limit(initial=8, probe=0)
    answer(limit, queued(0.3), 9)  # waited, but under LOW: one more per round trip
    assert limit.value == 9
    answer(limit, queued(0.3), 10)
    assert limit.value == 10


def test_long_waits_cut_the_limit_once_per_round() -> None:
    limit = Limit(probe=0)
    answer(limit, queued(5.0), 16)  # a round whose typical answer waited five times its work
    assert limit.value == 8  # (1 + LOW) / (1 + 5) = 0.25, but never below half
    answer(limit, queued(5.0), 8)
    assert limit.value == 4


def test_one_slow_answer_in_a_round_is_noise() -> None:
    limit = Limit(probe=0)
    answer(limit, queued(5.0), 3)
    answer(limit, IDLE, 13)
    assert limit.value == 32


def test_a_refusal_brings_it_down_to_what_the_server_holds() -> None:
    """A burst of 16 to a server that holds 3: each refusal says how many it holds, and that is the limit."""
    limit = Limit(probe=0)
    tickets = [limit.sent() for _ in range(16)]
    holding = 15
    for ticket in tickets[3:]:  # 13 refused, one after another, each giving up its place
        limit.refused(ticket, holding)
        holding -= 1
    assert limit.value == 3
    answer(limit, queued(2.0), 100)  # the server's queue, of 2, shows in every answer
    assert limit.value == 3


def test_after_a_refusal_it_grows_back_to_the_ceiling_and_no_further_until_a_round_is_idle() -> None:
    limit = Limit(initial=8, probe=0)
    limit.refused(limit.sent(), 7)  # a server that holds 7
    assert limit.value == int(8 * BACKOFF) == 6
    answer(limit, queued(0.3), 200)  # a short queue: one more a round trip, up to what the server held
    assert limit.value == 7
    answer(limit, IDLE, 14)  # a whole round with no queue at all: the cluster has grown
    assert limit.value == 14


def test_refusals_count_when_they_happen_not_when_the_request_ends() -> None:
    limit = Limit(probe=0)
    answer(limit, Sample(5.0, 0.1, refused=True), 20)  # the latencies of refused requests say nothing
    assert limit.value == INITIAL


def test_without_server_timing_latency_per_unit_of_cost_stands_in() -> None:
    limit = Limit(initial=8, probe=0)
    answer(limit, Sample(0.1, None, cost=1000), 8)
    assert limit.value == 16
    answer(limit, Sample(0.2, None, cost=2000), 16)  # twice the size, twice the time: no queue
    assert limit.value == 32
    answer(limit, Sample(0.8, None, cost=1000), 32)  # eight times the time for the same size
    assert limit.value < 32


def test_without_timing_batches_of_other_sizes_are_not_compared() -> None:
    """Length-sorted batches cost more and more through a job; a batch is compared with those of about its own
    cost. Before, the least latency per unit of cost came from the biggest batches (whose fixed overhead is spread
    thinnest), so every queue looked like none, and a one-slot server refused 918 of 1,000 requests."""
    limit = Limit(initial=4, probe=0)
    answer(limit, Sample(0.05, None, cost=100), 4)  # small batches: 0.5 ms a unit
    answer(limit, Sample(0.25, None, cost=1000), 8)  # ten times the cost, 0.25 ms a unit: not a faster server
    assert limit.value == 16
    answer(limit, Sample(0.75, None, cost=1000), 16)  # three times its peers: a queue
    assert limit.value == 16  # holds (the doubling needs a round with no queue)
    answer(limit, Sample(2.5, None, cost=1000), 16)  # ten times: cut
    assert limit.value < 16


def test_without_timing_the_clients_noise_does_not_stop_the_doubling() -> None:
    """With no timing headers the latency per unit of cost is all there is, the client's own noise in it: an
    answer 20% slower than the best is noise, not a queue."""
    limit = Limit(initial=4, probe=0)
    answer(limit, Sample(latency=0.10, cost=1000), 1)
    answer(limit, Sample(latency=0.12, cost=1000), 3)
    assert limit.value == 8
    answer(limit, Sample(latency=0.16, cost=1000), 8)  # waited over half its work: a queue, the doubling ends
    assert limit.value == 8


def test_a_work_time_longer_than_the_request_is_not_trusted() -> None:
    """A work time longer than the whole round trip is not this request's (a replay, a cache): latency per unit of
    cost stands in, as if the server sent no timing."""
    limit = Limit(initial=4, probe=0)
    answer(limit, Sample(latency=0.01, work=0.5, cost=10), 4)
    assert limit.value == 8
    answer(limit, Sample(latency=0.05, work=0.5, cost=10), 8)  # five times the others: a queue
    assert limit.value < 8


def test_a_copy_or_pickle_starts_afresh_with_the_same_settings() -> None:
    limit = Limit(initial=4, cap=8, probe=0)
    answer(limit, IDLE, 10)
    for clone in (copy.deepcopy(limit), pickle.loads(pickle.dumps(limit))):
        assert clone.value == 4 and clone.cap == 8
    assert pickle.loads(pickle.dumps(Limit(pinned=5))).value == 5


def test_a_pinned_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        Limit(pinned=0)


# --- against the modelled server ---------------------------------------------------------------

FIXED = (1, 2, 4, 8, 16, 32, 64, 128)
WORKLOADS = {
    "one call of 20,000 texts, 256 per request": [length_sorted_batches(mixed_corpus(20_000), 256)],
    "one call of 20,000 texts, 64 per request": [length_sorted_batches(mixed_corpus(20_000), 64)],
    "five calls of 5,000 texts, 256 per request": [length_sorted_batches(mixed_corpus(5_000), 256)] * 5,
    "five calls of 5,000 texts, 64 per request": [length_sorted_batches(mixed_corpus(5_000), 64)] * 5,
}


def best_fixed(server: Server, calls: list[list[tuple[int, int]]], **how: object) -> float:
    return max(simulate(server, calls, Limit(pinned=n), **how).throughput for n in FIXED)  # type: ignore[arg-type]


@pytest.mark.parametrize("timing", [True, False], ids=["timing", "no timing"])
@pytest.mark.parametrize("slots", [1, 4, 16])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_adaptive_reaches_nine_tenths_of_the_best_fixed_limit(slots: int, workload: str, timing: bool) -> None:
    """Or, where the first call is over before a refusal's ``Retry-After`` (the whole call of 20 requests on 4
    slots takes 0.75 s), within that one wait of it: the first burst's refused requests wait it out at the end."""
    server, calls = Server(slots), WORKLOADS[workload]
    adaptive = simulate(server, calls, Limit(), timing=timing)
    best = best_fixed(server, calls, timing=timing)
    first = best_fixed(server, calls[:1], timing=timing)
    short = sum(items for items, _ in calls[0]) / first < server.retry_wait
    texts = sum(items for batches in calls for items, _ in batches)
    assert adaptive.seconds <= texts / best / 0.9 + (server.retry_wait if short and adaptive.refusals else 0)
    assert adaptive.throughput >= 0.95 * simulate(server, calls, Limit(pinned=2)).throughput  # the old default


@pytest.mark.parametrize(
    ("requests", "slots"), [(64, 1), (64, 4), (64, 16), (1000, 1), (1000, 4), (1000, 16), (1000, 64)]
)
def test_a_cluster_without_timing_headers_is_found_in_one_job(requests: int, slots: int) -> None:
    """The benchmarks' headerless cluster (50 ms + 0.2 ms an item, ``QUEUE_FULL`` past 2 x N waiting, no timing
    headers): a fresh limit reaches 0.9 of the best fixed setting within the job."""
    server, calls = replace(HEADERLESS, slots=slots), [[(256, 60)] * requests]
    adaptive = simulate(server, calls, Limit(), timing=False)
    assert adaptive.throughput >= 0.9 * best_fixed(server, calls, timing=False)
    assert adaptive.refusals <= max(0, INITIAL - 3 * slots)  # only the first burst's, past what the server holds


@pytest.mark.parametrize(("before", "after"), [(4, 16), (16, 4)])
def test_it_follows_a_cluster_that_grows_or_shrinks_mid_job(before: int, after: int) -> None:
    server, calls = replace(HEADERLESS, slots=before), [[(256, 60)] * 1000]
    resize = (2.0, after)
    adaptive = simulate(server, calls, Limit(), timing=False, resize=resize)
    assert adaptive.throughput >= 0.9 * best_fixed(server, calls, timing=False, resize=resize)
    settled = adaptive.limits[-100:]
    assert min(settled) >= after and max(settled) <= 3 * after  # every new slot busy, within the server's queue


@pytest.mark.parametrize("slots", [1, 4, 16])
def test_adaptive_settles_between_the_slot_count_and_the_server_queue(slots: int) -> None:
    calls = WORKLOADS["one call of 20,000 texts, 64 per request"]
    run = simulate(Server(slots), calls, Limit())
    settled = run.limits[len(run.limits) // 2 :]
    assert min(settled) >= min(slots, 2)  # every slot kept busy (2 pipelines a single slot)
    assert max(settled) <= 2 * slots + 2  # no standing queue of more than a round
    assert run.refusals <= INITIAL


def test_adaptive_backs_off_a_server_that_refuses() -> None:
    # A queue of 256 items per slot: every limit above 4 batches of 64 on one slot is refused.
    server = Server(1, pending_items=256)
    calls = WORKLOADS["five calls of 5,000 texts, 64 per request"]
    pinned = simulate(server, calls, Limit(pinned=16))
    adaptive = simulate(server, calls, Limit())
    assert pinned.refusals > 100
    assert adaptive.refusals <= INITIAL - 4  # the first burst's only
    assert max(adaptive.limits[len(adaptive.limits) // 4 :]) <= 4


def test_without_timing_a_length_sorted_job_does_not_hammer_one_slot() -> None:
    """Before, 918 refusals in 1,000 requests: growing batches looked faster per unit of cost than the first."""
    calls = [length_sorted_batches(mixed_corpus(64_000), 64)]
    run = simulate(Server(1), calls, Limit(), timing=False)
    assert run.refusals <= INITIAL


def test_a_server_that_refuses_rather_than_queue_is_probed_less_and_less_often() -> None:
    """No queue at all: every answer looks idle, so each round would double into refusals. Each step past the last
    refusal that is refused again doubles the idle rounds spent before the next (up to ``MOST_PATIENCE``)."""
    server, calls = replace(HEADERLESS, slots=4, queue_per_slot=0), [[(256, 60)] * 1000]
    adaptive = simulate(server, calls, Limit(), timing=False)
    best = max(simulate(server, calls, Limit(pinned=n), timing=False).throughput for n in (2, 4, 8))
    assert adaptive.throughput >= 0.9 * best
    assert adaptive.refusals <= 50  # a round every 2, 4, ... 64 rounds, of 250; the first burst's 12


def test_a_client_slower_than_the_cluster_keeps_it_busy() -> None:
    """16 slots without timing headers, and a client that spends 11.5 ms on each answer (256 short texts, as
    measured): the client is the bottleneck, its answers wait for it, and their latencies would cut the limit to
    the slot count, where the cluster idles while the client decodes a round of answers at once."""
    server, calls = replace(HEADERLESS, slots=16, client=0.0115), [[(256, 60)] * 1000]
    run = simulate(server, calls, Limit(), timing=False)
    assert min(run.limits[INITIAL + 1 :]) >= INITIAL  # never cut below the burst
    assert max(run.limits) >= 4 * 16  # the answers waiting for the client are not the server's queue
    assert run.refusals <= 3 * INITIAL


INSTANT = Server(
    1, pending_items=10**9, base=0.0001, per_char=0.0, per_item=1e-6, overhead=0.00003, client=6e-4, client_item=11e-6
)
"""The replay server, as measured: it answers at once, and the client's own work on a request (0.6 ms, and 11 µs a
vector to decode) is most of it."""


@pytest.mark.parametrize("warmed", [False, True], ids=["first call", "after a one-request call"])
def test_a_server_faster_than_the_client_gets_one_request_at_a_time(warmed: bool) -> None:
    """The replay server's case: the requests would only contend for the client's interpreter."""
    calls = ([[(4, 60)]] if warmed else []) + [[(256, 60)] * 20]
    run = simulate(INSTANT, calls, Limit(), timing=False)
    assert set(run.limits) == {1}


def test_a_call_of_one_request_outlasting_the_probe_ends_it() -> None:
    """With nothing more to send, the probe runs out all the same (before, a wait for it spun on a timeout of 0)."""
    run = simulate(HEADERLESS, [[(4, 60)], [(256, 60)] * 4], Limit(), timing=False)
    assert run.limits[:2] == [1, INITIAL]  # the next call bursts at once


def test_a_cluster_that_answers_a_fresh_limit_after_the_probe_gets_the_burst_then() -> None:
    server, calls = replace(HEADERLESS, slots=16), [[(256, 60)] * 64]
    run = simulate(server, calls, Limit(), timing=False)
    assert run.limits[:2] == [1, INITIAL]  # the probe's request, then the burst when it runs out
