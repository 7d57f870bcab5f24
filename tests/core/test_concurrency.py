"""The adaptive limit of requests in flight: the controller alone, then against a modelled server.

The model (``queueing_model.py``) runs in virtual time, so its throughputs are exact; nothing here times
real requests.
"""

from __future__ import annotations

import copy
import pickle

import pytest

from sie_integrations._core.concurrency import BACKOFF, DEFAULT_CAP, INITIAL, PROBE_EVERY, Limit, Sample
from tests.fakes.queueing import Server, length_sorted_batches, mixed_corpus, simulate

IDLE = Sample(latency=0.101, work=0.1)  # answered with no wait beyond the usual overhead


def queued(ratio: float) -> Sample:
    """An answer that waited ``ratio`` times its work time."""
    return Sample(latency=0.101 + 0.1 * ratio, work=0.1)


def answer(limit: Limit, sample: Sample, count: int = 1) -> None:
    for _ in range(count):
        limit.done(limit.sent(), sample)


def test_a_pinned_limit_never_moves() -> None:
    limit = Limit(pinned=3)
    answer(limit, IDLE, 50)
    answer(limit, Sample(1.0, 0.1, refused=True), 5)
    assert limit.value == 3


def test_it_starts_at_two_and_doubles_each_round_while_nothing_waits() -> None:
    limit = Limit()
    assert limit.value == INITIAL == 2
    answer(limit, IDLE, 2)
    assert limit.value == 4
    answer(limit, IDLE, 4)
    assert limit.value == 8


def test_it_never_passes_its_cap() -> None:
    limit = Limit()
    answer(limit, IDLE, 500)
    assert limit.value == DEFAULT_CAP


def test_answers_sent_below_the_limit_do_not_grow_it() -> None:
    limit = Limit()
    answer(limit, Sample(0.101, 0.1, full=False), 20)  # the caller had fewer batches than the limit
    assert limit.value == INITIAL


def test_a_queue_of_about_one_batch_holds_the_limit() -> None:
    limit = Limit()
    answer(limit, IDLE, 2)
    answer(limit, queued(1.0), 40)
    assert limit.value == 4


def test_long_waits_cut_the_limit_once_per_round() -> None:
    limit = Limit()
    answer(limit, IDLE, 14)  # 16
    tickets = [limit.sent() for _ in range(16)]
    limit.done(tickets[0], queued(5.0))
    after_one = limit.value
    assert after_one == 8  # (1 + LOW) / (1 + 5) = 0.25, but never below half
    for ticket in tickets[1:]:  # sent before the cut: no further cut
        limit.done(ticket, queued(5.0))
    assert limit.value == after_one
    answer(limit, queued(5.0))  # sent after it: cuts again
    assert limit.value == 4


def test_a_refusal_backs_off_and_the_limit_creeps_back_only_slowly() -> None:
    limit = Limit()
    answer(limit, IDLE, 6)  # 8
    assert limit.value == 8
    answer(limit, Sample(0.2, 0.1, refused=True))
    assert limit.value == int(8 * BACKOFF) == 6
    answer(limit, IDLE, 20)  # grows back to just below the refused limit, and stays there
    assert limit.value == 7
    answer(limit, IDLE, PROBE_EVERY)
    assert limit.value == 8


def test_without_server_timing_latency_per_unit_of_cost_stands_in() -> None:
    limit = Limit()
    answer(limit, Sample(0.1, None, cost=1000), 6)  # 8
    assert limit.value == 8
    answer(limit, Sample(0.2, None, cost=2000), 4)  # twice the size, twice the time: no queue
    assert limit.value > 8
    before = limit.value
    answer(limit, Sample(0.8, None, cost=1000))  # eight times the time for the same size
    assert limit.value < before


def test_a_copy_or_pickle_starts_afresh_with_the_same_settings() -> None:
    limit = Limit(cap=8)
    answer(limit, IDLE, 10)
    for clone in (copy.deepcopy(limit), pickle.loads(pickle.dumps(limit))):
        assert clone.value == INITIAL and clone.cap == 8
    assert pickle.loads(pickle.dumps(Limit(pinned=5))).value == 5


def test_without_timing_the_clients_noise_does_not_end_the_doubling() -> None:
    """With no timing headers the latency per unit of cost is all there is, the client's own noise in it: an
    answer 20% slower than the best is noise, not a queue. It used to end the doubling (a limit of 5 here), so a
    16-slot cluster sending no timing got half the best fixed setting's throughput in a job of 64 requests."""
    limit = Limit()
    answer(limit, Sample(latency=0.10, cost=1000), 2)
    answer(limit, Sample(latency=0.12, cost=1000), 4)
    assert limit.value == 8
    answer(limit, Sample(latency=0.16, cost=1000), 8)  # waited over half its work: a queue, the doubling ends
    assert limit.value < 16


def test_a_pinned_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        Limit(pinned=0)


# --- against the modelled server ---------------------------------------------------------------

FIXED = (1, 2, 4, 8, 16, 32, 64)
WORKLOADS = {
    "one call of 20,000 texts, 256 per request": [length_sorted_batches(mixed_corpus(20_000), 256)],
    "one call of 20,000 texts, 64 per request": [length_sorted_batches(mixed_corpus(20_000), 64)],
    "five calls of 5,000 texts, 256 per request": [length_sorted_batches(mixed_corpus(5_000), 256)] * 5,
    "five calls of 5,000 texts, 64 per request": [length_sorted_batches(mixed_corpus(5_000), 64)] * 5,
}


@pytest.mark.parametrize("slots", [1, 4, 16])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_adaptive_reaches_nine_tenths_of_the_best_fixed_limit(slots: int, workload: str) -> None:
    server, calls = Server(slots), WORKLOADS[workload]
    fixed = {n: simulate(server, calls, Limit(pinned=n)).throughput for n in FIXED}
    adaptive = simulate(server, calls, Limit())
    best = max(fixed.values())
    assert adaptive.throughput >= 0.9 * best, (adaptive.throughput / best, fixed)
    assert adaptive.throughput >= 0.95 * fixed[2]  # where the old default of 2 is best, it stays near it


@pytest.mark.parametrize("slots", [1, 4, 16])
def test_adaptive_settles_between_the_slot_count_and_the_server_queue(slots: int) -> None:
    calls = WORKLOADS["one call of 20,000 texts, 64 per request"]
    run = simulate(Server(slots), calls, Limit())
    settled = run.limits[len(run.limits) // 2 :]
    assert min(settled) >= min(slots, 2)  # every slot kept busy (2 pipelines a single slot)
    assert max(settled) <= 2 * slots + 2  # no standing queue of more than a round
    assert run.refusals == 0


def test_adaptive_backs_off_a_server_that_refuses() -> None:
    # A queue of 256 items per slot: every limit above 4 batches of 64 on one slot is refused.
    server = Server(1, pending_items=256)
    calls = WORKLOADS["five calls of 5,000 texts, 64 per request"]
    pinned = simulate(server, calls, Limit(pinned=16))
    adaptive = simulate(server, calls, Limit())
    assert pinned.refusals > 100
    assert adaptive.refusals <= 3
    assert max(adaptive.limits[len(adaptive.limits) // 4 :]) <= 4
