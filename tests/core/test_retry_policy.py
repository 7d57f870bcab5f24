"""The retry decisions themselves (``_core/retry.py``: ``Attempts``, ``RetryPolicy``), on a fake clock."""

from __future__ import annotations

import pytest

from sie_integrations import (
    ProvisioningError,
    RateLimitError,
)
from sie_integrations._core.error_mapping import ErrorInfo
from sie_integrations._core.retry import DEFAULT_CAPACITY_DELAY, Attempts, RetryPolicy
from tests.fakes.scripted import FakeClock

MODEL_LOADING = {"detail": {"code": "MODEL_LOADING", "message": "Model is loading"}}
PROVISIONING = {"error": {"message": "scaling from zero", "type": "server_error", "code": "PROVISIONING"}}
QUEUE_FULL = {"detail": {"code": "QUEUE_FULL", "message": "queue full"}}
RESOURCE_EXHAUSTED = {"detail": {"code": "RESOURCE_EXHAUSTED", "message": "GPU out of memory"}}
RATE_LIMIT = {"error": {"message": "rate limited", "type": "rate_limit_error", "code": "RATE_LIMIT"}}


def info(status: int, code: str | None = None, retry_after: float | None = None) -> ErrorInfo:
    return ErrorInfo(status=status, code=code, message="m", retry_after=retry_after)


def test_attempts_capacity_delay_is_capped_by_the_remaining_budget() -> None:
    clock = FakeClock()
    attempts = Attempts(RetryPolicy(provision_timeout=10.0), idempotent=True, clock=clock)
    assert attempts.retry_delay(info(503, "MODEL_LOADING", 4.0)) == 4.0
    clock.advance(8.0)
    assert attempts.retry_delay(info(503, "MODEL_LOADING", 4.0)) == pytest.approx(2.0)
    clock.advance(2.0)
    assert attempts.retry_delay(info(503, "MODEL_LOADING", 4.0)) is None
    assert attempts.capacity_waits == 2
    assert attempts.retries == 0  # capacity waits do not use up max_retries


def test_attempts_default_capacity_delay_and_202() -> None:
    attempts = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    assert attempts.retry_delay(info(202)) == DEFAULT_CAPACITY_DELAY
    assert attempts.retry_delay(info(503, "PROVISIONING")) == DEFAULT_CAPACITY_DELAY


def test_attempts_without_waiting_never_waits_for_capacity() -> None:
    attempts = Attempts(RetryPolicy(wait_for_capacity=False), idempotent=True, clock=FakeClock())
    for signal in (info(202), info(503, "MODEL_LOADING", 1.0), info(503, "PROVISIONING", 1.0)):
        assert attempts.retry_delay(signal) is None
    assert attempts.retry_delay(info(504)) is None
    assert attempts.retry_delay(info(429, None, 1.0)) == 1.0  # admission refusals still retry


def test_attempts_rate_limit_counts_against_max_retries() -> None:
    attempts = Attempts(RetryPolicy(max_retries=2, wait_for_capacity=False), idempotent=False, clock=FakeClock())
    assert attempts.retry_delay(info(429, "RATE_LIMIT", 0.5)) == 0.5
    assert attempts.retry_delay(info(503, "QUEUE_FULL", 0.5)) == 0.5
    assert attempts.retry_delay(info(429, "RATE_LIMIT", 0.5)) is None
    error = attempts.final_error(info(429, "RATE_LIMIT", 0.5))
    assert isinstance(error, RateLimitError)
    assert "after 2 retries" in error.message


def test_attempts_idempotence_decides_504_not_backpressure() -> None:
    native = Attempts(RetryPolicy(), idempotent=True, clock=FakeClock())
    generation = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    for attempts in (native, generation):  # refused before any work: safe either way
        delay = attempts.retry_delay(info(503, "RESOURCE_EXHAUSTED", 5.0))
        assert delay is not None and 5.0 <= delay <= 7.5
    assert native.retry_delay(info(504)) is not None
    assert generation.retry_delay(info(504)) is None


def test_attempts_budget_exhaustion_message() -> None:
    clock = FakeClock()
    attempts = Attempts(RetryPolicy(provision_timeout=30.0), idempotent=True, clock=clock)
    assert attempts.retry_delay(info(503, "PROVISIONING", 30.0)) == 30.0
    clock.advance(30.0)
    assert attempts.retry_delay(info(503, "PROVISIONING", 30.0)) is None
    error = attempts.final_error(info(503, "PROVISIONING", 30.0))
    assert isinstance(error, ProvisioningError)
    assert "still not ready after waiting 30s" in error.message
    assert "provision_timeout=30s" in error.message


@pytest.mark.parametrize(
    ("status", "code"), [(429, "RATE_LIMIT"), (503, "QUEUE_FULL"), (202, None), (503, "MODEL_LOADING")]
)
@pytest.mark.parametrize("wait_for_capacity", [True, False])
def test_max_retries_zero_never_sends_twice_whatever_the_answer(
    status: int, code: str | None, wait_for_capacity: bool
) -> None:
    attempts = Attempts(RetryPolicy(wait_for_capacity, max_retries=0), idempotent=True, clock=FakeClock())
    assert attempts.retry_delay(info(status, code, 0.0)) is None
    assert attempts.retry_delay(info(504)) is None
    if status == 429 or code == "QUEUE_FULL":
        assert "not retried: max_retries=0" in attempts.final_error(info(status, code, 0.0)).message


def test_a_zero_retry_after_means_now_once_then_the_backoff() -> None:
    waiting = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    assert waiting.retry_delay(info(429, "RATE_LIMIT", 0.0)) == 0.0
    second = waiting.retry_delay(info(429, "RATE_LIMIT", 0.0))
    assert second is not None and 2.0 <= second <= 3.0  # a server that keeps saying 0 gets no tight loop
    loading = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    assert loading.retry_delay(info(503, "MODEL_LOADING", 0.0)) == 0.0
    assert loading.retry_delay(info(503, "MODEL_LOADING", 0.0)) == DEFAULT_CAPACITY_DELAY
    counted = Attempts(RetryPolicy(wait_for_capacity=False), idempotent=False, clock=FakeClock())
    assert counted.retry_delay(info(429, None, 0.0)) == 0.0


def test_a_zero_retry_after_is_honoured_once_a_call_whatever_came_before() -> None:
    attempts = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    assert attempts.retry_delay(info(202, None, 4.0)) == 4.0
    assert attempts.retry_delay(info(429, "RATE_LIMIT", 0.0)) == 0.0  # a capacity wait before does not count
    later = attempts.retry_delay(info(429, "RATE_LIMIT", 0.0))
    assert later is not None and later >= 2.0
