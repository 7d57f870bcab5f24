"""Retry rules (protocol sections 2.7-2.9): what is retried, how long the client waits, when it gives up.

Every client here talks to a MockTransport; ``_sleep`` is replaced by a recorder that advances a fake clock
(fixtures ``fake_sleeps`` and ``fake_clock`` in conftest.py), so waits are asserted exactly and nothing really sleeps.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from sie_integrations import (
    LoraLoadingError,
    ModelLoadingError,
    ProvisioningError,
    RateLimitError,
    RequestError,
    ServerError,
    SIEConnectionError,
    SIETimeoutError,
)
from sie_integrations._core.retry import DEFAULT_CAPACITY_DELAY, Attempts, RetryPolicy
from sie_integrations._http.failures import broken
from tests.fakes.scripted import FakeClock, assert_succeeded

ALL_OPS = ["encode", "score", "extract", "generate", "chat", "stream_chat", "stream_generate"]
IDEMPOTENT_OPS = ["encode", "score", "extract"]
GENERATION_OPS = ["generate", "chat", "stream_chat", "stream_generate"]

MODEL_LOADING = {"detail": {"code": "MODEL_LOADING", "message": "Model is loading"}}
PROVISIONING = {"error": {"message": "scaling from zero", "type": "server_error", "code": "PROVISIONING"}}
QUEUE_FULL = {"detail": {"code": "QUEUE_FULL", "message": "queue full"}}
RESOURCE_EXHAUSTED = {"detail": {"code": "RESOURCE_EXHAUSTED", "message": "GPU out of memory"}}
RATE_LIMIT = {"error": {"message": "rate limited", "type": "rate_limit_error", "code": "RATE_LIMIT"}}

pytestmark = pytest.mark.usefixtures("sie_env_cleared", "fake_sleeps")


# --- capacity: 202 and 503 MODEL_LOADING / PROVISIONING ---------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
async def test_model_loading_is_retried_honouring_retry_after(sie: Any, op: str) -> None:
    """A MockTransport answers 503 MODEL_LOADING (Retry-After: 2) twice, then succeeds."""
    sie.server.reply(503, MODEL_LOADING, headers={"Retry-After": "2"}).reply(
        503, MODEL_LOADING, headers={"Retry-After": "3"}
    ).ok(op)
    result = await sie.run(sie.client(), op)
    assert_succeeded(op, result)
    assert sie.server.count == 3
    assert sie.sleeps == [2.0, 3.0]


@pytest.mark.parametrize("op", ["encode", "generate", "stream_chat"])
async def test_202_is_provisioning_and_retried(sie: Any, op: str) -> None:
    """A MockTransport answers 202 (gateway provisioning) with Retry-After: 4, then 202 without it, then succeeds."""
    sie.server.reply(202, {"status": "provisioning"}, headers={"Retry-After": "4"}).reply(202).ok(op)
    result = await sie.run(sie.client(), op)
    assert_succeeded(op, result)
    assert sie.server.count == 3
    assert sie.sleeps == [4.0, DEFAULT_CAPACITY_DELAY]


@pytest.mark.parametrize("code", ["PROVISIONING", "provisioning"])
async def test_503_provisioning_is_retried(sie: Any, code: str) -> None:
    """A MockTransport answers 503 PROVISIONING (either case) with a Retry-After HTTP value of 1.5, then succeeds."""
    sie.server.reply(503, {"error": {"message": "scaling", "code": code}}, headers={"Retry-After": "1.5"}).ok("encode")
    result = await sie.run(sie.client(), "encode")
    assert_succeeded("encode", result)
    assert sie.sleeps == [1.5]


async def test_lora_loading_is_a_capacity_wait(sie: Any) -> None:
    """A MockTransport answers 503 LORA_LOADING (Retry-After: 1), then succeeds."""
    sie.server.reply(503, {"detail": {"code": "LORA_LOADING", "message": "adapter"}}, headers={"Retry-After": "1"}).ok(
        "encode"
    )
    assert_succeeded("encode", await sie.run(sie.client(), "encode"))
    assert sie.sleeps == [1.0]


@pytest.mark.parametrize("retry_after", ["0", "Thu, 01 Jan 2015 00:00:00 GMT"])
async def test_zero_retry_after_on_a_capacity_signal_means_now_then_the_default(sie: Any, retry_after: str) -> None:
    """A MockTransport answers 503 MODEL_LOADING with ``Retry-After: 0`` (or a past date) twice, then succeeds.

    The first ``0`` means now; capacity waits are bounded only by provision_timeout, so a server that keeps
    saying ``0`` would be re-sent to in a tight loop for up to 15 minutes: the next wait is the default delay.
    """
    loading = {"Retry-After": retry_after}
    sie.server.reply(503, MODEL_LOADING, headers=loading).reply(503, MODEL_LOADING, headers=loading).ok("encode")
    assert_succeeded("encode", await sie.run(sie.client(), "encode"))
    assert sie.sleeps == [0.0, DEFAULT_CAPACITY_DELAY]


async def test_zero_retry_after_on_a_capacity_signal_cannot_spin(sie: Any) -> None:
    """A MockTransport always answers 503 PROVISIONING with ``Retry-After: 0``: a few waits, then ProvisioningError."""
    sie.server.reply(503, PROVISIONING, headers={"Retry-After": "0"})
    with pytest.raises(ProvisioningError):
        await sie.run(sie.client(provision_timeout=12), "chat")
    assert sie.sleeps == [0.0, 5.0, 5.0, 2.0]
    assert sie.server.count == 5


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, MODEL_LOADING, ModelLoadingError),
        (503, PROVISIONING, ProvisioningError),
        (202, None, ProvisioningError),
        (503, {"detail": {"code": "LORA_LOADING", "message": "adapter"}}, LoraLoadingError),
    ],
)
async def test_capacity_wait_stops_at_provision_timeout(
    sie: Any, status: int, body: dict[str, Any] | None, expected: type[Exception]
) -> None:
    """A MockTransport keeps answering a capacity signal (Retry-After: 5); provision_timeout=12 runs out.

    Waits are 5, 5 and then only the 2 s left; one last attempt follows, then the typed error.
    """
    sie.server.reply(status, body, headers={"Retry-After": "5"})
    with pytest.raises(expected) as caught:
        await sie.run(sie.client(provision_timeout=12), "encode")
    assert sie.sleeps == [5.0, 5.0, 2.0]
    assert sie.server.count == 4
    assert "provision_timeout=12s" in caught.value.message
    assert "waiting 12s" in caught.value.message
    assert caught.value.status_code == status


@pytest.mark.parametrize("op", ["generate", "stream_chat"])
async def test_capacity_budget_also_bounds_generation(sie: Any, op: str) -> None:
    """A MockTransport keeps answering 503 MODEL_LOADING without Retry-After; the default 5 s waits fill the budget."""
    sie.server.reply(503, MODEL_LOADING)
    with pytest.raises(ModelLoadingError):
        await sie.run(sie.client(provision_timeout=10), op)
    assert sie.sleeps == [5.0, 5.0]
    assert sie.server.count == 3


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, MODEL_LOADING, ModelLoadingError),
        (503, PROVISIONING, ProvisioningError),
        (503, {"error": {"message": "scaling", "code": "provisioning"}}, ProvisioningError),
        (202, None, ProvisioningError),
    ],
)
@pytest.mark.parametrize("op", ["encode", "chat", "stream_generate"])
async def test_capacity_without_waiting_raises_at_once(
    sie: Any, op: str, status: int, body: dict[str, Any] | None, expected: type[Exception]
) -> None:
    """A MockTransport answers a capacity signal to a client with wait_for_capacity=False: one request, no wait."""
    sie.server.reply(status, body, headers={"Retry-After": "5"})
    with pytest.raises(expected) as caught:
        await sie.run(sie.client(wait_for_capacity=False), op)
    assert sie.server.count == 1
    assert sie.sleeps == []
    assert caught.value.retry_after == 5.0
    assert "wait_for_capacity is off" in caught.value.message


# --- 429 and back-pressure ---------------------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
async def test_rate_limit_is_retried_up_to_max_retries(sie: Any, op: str) -> None:
    """A MockTransport always answers 429 (Retry-After: 1); wait_for_capacity off, max_retries=2: 3 requests."""
    sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError) as caught:
        await sie.run(sie.client(max_retries=2, wait_for_capacity=False), op)
    assert sie.server.count == 3
    assert sie.sleeps == [1.0, 1.0]
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 1.0
    assert "after 2 retries" in caught.value.message


async def test_rate_limit_then_success(sie: Any) -> None:
    """A MockTransport answers 429 (Retry-After: 2) once, then the chat answer: the call succeeds."""
    sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": "2"}).ok("chat")
    assert_succeeded("chat", await sie.run(sie.client(), "chat"))
    assert len(sie.sleeps) == 1 and 2.0 <= sie.sleeps[0] <= 3.0  # Retry-After, spread upwards
    assert sie.server.count == 2


@pytest.mark.parametrize("op", ALL_OPS)
async def test_rate_limit_is_waited_out_within_the_budget_not_max_retries(sie: Any, op: str) -> None:
    """A MockTransport answers 429 (Retry-After: 1) 6 times, then succeeds: more than max_retries, all waited out."""
    for _ in range(6):
        sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": "1"})
    sie.server.ok(op)
    assert_succeeded(op, await sie.run(sie.client(max_retries=1), op))
    assert sie.server.count == 7
    assert len(sie.sleeps) == 6 and all(1.0 <= s <= 1.5 for s in sie.sleeps)


async def test_rate_limit_without_retry_after_backs_off_with_jitter(sie: Any) -> None:
    """A MockTransport answers 429 with no Retry-After: delays grow 1, 2, 4 s, each jittered down to 75 %."""
    sie.server.reply(429, RATE_LIMIT)
    with pytest.raises(RateLimitError):
        await sie.run(sie.client(max_retries=3, wait_for_capacity=False), "encode")
    assert sie.server.count == 4
    assert len(sie.sleeps) == 3
    for delay, ceiling in zip(sie.sleeps, [1.0, 2.0, 4.0], strict=True):
        assert 0.75 * ceiling <= delay <= ceiling


async def test_rate_limit_without_retry_after_backs_off_within_the_budget(sie: Any) -> None:
    """A MockTransport answers 429 with no Retry-After 3 times, then succeeds: waits of 1, 2, 4 s, spread upwards."""
    for _ in range(3):
        sie.server.reply(429, RATE_LIMIT)
    sie.server.ok("chat")
    assert_succeeded("chat", await sie.run(sie.client(), "chat"))
    assert len(sie.sleeps) == 3
    for delay, floor in zip(sie.sleeps, [1.0, 2.0, 4.0], strict=True):
        assert floor <= delay <= 1.5 * floor


async def test_rate_limit_retry_after_http_date_is_honoured(sie: Any) -> None:
    """A MockTransport answers 429 with an HTTP-date Retry-After 30 s ahead, then succeeds: the client waits ~30 s."""
    sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)}).ok("encode")
    assert_succeeded("encode", await sie.run(sie.client(), "encode"))
    assert len(sie.sleeps) == 1
    assert 27.0 < sie.sleeps[0] <= 1.5 * 31.0


async def test_rate_limit_longer_than_the_budget_is_not_waited(sie: Any) -> None:
    """A MockTransport answers 429 with Retry-After: 60 to a client whose provision_timeout is 30: no wait."""
    sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": "60"})
    with pytest.raises(RateLimitError) as caught:
        await sie.run(sie.client(provision_timeout=30), "encode")
    assert sie.server.count == 1
    assert sie.sleeps == []
    assert caught.value.retry_after == 60.0


async def test_max_retries_zero_never_retries_a_rate_limit(sie: Any) -> None:
    """A MockTransport answers 429: with wait_for_capacity off and max_retries=0 the first answer is final."""
    sie.server.reply(429, RATE_LIMIT, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError):
        await sie.run(sie.client(max_retries=0, wait_for_capacity=False), "encode")
    assert sie.server.count == 1


@pytest.mark.parametrize("op", ALL_OPS)
async def test_queue_full_is_retried_for_every_operation(sie: Any, op: str) -> None:
    """A MockTransport answers 503 QUEUE_FULL (Retry-After: 1) once, then succeeds: pre-dispatch, safe to resend."""
    sie.server.reply(503, QUEUE_FULL, headers={"Retry-After": "1"}).ok(op)
    assert_succeeded(op, await sie.run(sie.client(), op))
    assert sie.server.count == 2
    assert len(sie.sleeps) == 1 and 1.0 <= sie.sleeps[0] <= 1.5  # Retry-After, spread upwards


async def test_queue_full_is_waited_out_within_the_budget_not_max_retries(sie: Any) -> None:
    """A MockTransport answers 503 QUEUE_FULL 6 times, then succeeds: more than max_retries, all waited out."""
    for _ in range(6):
        sie.server.reply(503, QUEUE_FULL, headers={"Retry-After": "1"})
    sie.server.ok("encode")
    assert_succeeded("encode", await sie.run(sie.client(max_retries=1), "encode"))
    assert sie.server.count == 7
    assert all(1.0 <= s <= 1.5 for s in sie.sleeps) and len(sie.sleeps) == 6


async def test_queue_full_gives_up_when_the_budget_is_spent(sie: Any) -> None:
    """A MockTransport always answers 503 QUEUE_FULL (Retry-After: 2): a 5 s budget ends in ServerError QUEUE_FULL."""
    sie.server.reply(503, QUEUE_FULL, headers={"Retry-After": "2"})
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(provision_timeout=5.0), "generate")
    assert type(caught.value) is ServerError
    assert caught.value.code == "QUEUE_FULL"
    assert "still refused after waiting" in caught.value.message
    assert 1 <= sie.server.count <= 3
    assert sum(sie.sleeps) < 5.0


async def test_queue_full_without_capacity_waits_counts_against_max_retries(sie: Any) -> None:
    """A MockTransport always answers 503 QUEUE_FULL: wait_for_capacity=False, max_retries=1 gives 2 requests."""
    sie.server.reply(503, QUEUE_FULL, headers={"Retry-After": "1"})
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(max_retries=1, wait_for_capacity=False), "generate")
    assert caught.value.code == "QUEUE_FULL"
    assert "after 1 retries" in caught.value.message
    assert sie.server.count == 2


@pytest.mark.parametrize("code", ["QUEUE_UNAVAILABLE", "transport_failure"])
async def test_queue_unavailable_is_retried_only_with_retry_after(sie: Any, code: str) -> None:
    """A MockTransport answers 503 QUEUE_UNAVAILABLE / transport_failure: retried with Retry-After, final without."""
    body = {"error": {"message": "queue refused", "code": code}}
    sie.server.reply(503, body, headers={"Retry-After": "2"}).ok("chat")
    assert_succeeded("chat", await sie.run(sie.client(), "chat"))
    assert sie.sleeps == [2.0]

    sie.server.replies.clear()
    sie.server.requests.clear()
    sie.server.reply(503, body)
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(), "chat")
    assert caught.value.code == code
    assert sie.server.count == 1
    assert sie.sleeps == [2.0]


@pytest.mark.parametrize("op", ALL_OPS)
async def test_resource_exhausted_is_waited_out_for_every_operation(sie: Any, op: str) -> None:
    """A MockTransport answers 503 RESOURCE_EXHAUSTED (Retry-After: 1) 5 times, then succeeds.

    The server refused the call before any work (an error status, no result, no stream), so even a
    generation is safe to send again; the waits are bounded by provision_timeout, not max_retries.
    """
    for _ in range(5):
        sie.server.reply(503, RESOURCE_EXHAUSTED, headers={"Retry-After": "1"})
    sie.server.ok(op)
    assert_succeeded(op, await sie.run(sie.client(max_retries=1), op))
    assert sie.server.count == 6
    assert len(sie.sleeps) == 5 and all(1.0 <= s <= 1.5 for s in sie.sleeps)


@pytest.mark.parametrize("op", GENERATION_OPS)
async def test_resource_exhausted_without_waiting_counts_against_max_retries(sie: Any, op: str) -> None:
    """A MockTransport always answers 503 RESOURCE_EXHAUSTED: wait_for_capacity off, max_retries=2: 3 requests."""
    sie.server.reply(503, RESOURCE_EXHAUSTED, headers={"Retry-After": "5"})
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(max_retries=2, wait_for_capacity=False), op)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert caught.value.retry_after == 5.0
    assert "after 2 retries" in caught.value.message
    assert sie.server.count == 3
    assert sie.sleeps == [5.0, 5.0]


@pytest.mark.parametrize("op", GENERATION_OPS)
async def test_resource_exhausted_gives_up_when_the_budget_is_spent(sie: Any, op: str) -> None:
    """A MockTransport always answers 503 RESOURCE_EXHAUSTED (Retry-After: 2): a 5 s budget ends in ServerError."""
    sie.server.reply(503, RESOURCE_EXHAUSTED, headers={"Retry-After": "2"})
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(provision_timeout=5.0), op)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert "still refused after waiting" in caught.value.message
    assert 1 <= sie.server.count <= 3
    assert sum(sie.sleeps) < 5.0


@pytest.mark.parametrize("op", IDEMPOTENT_OPS)
async def test_504_is_retried_for_native_routes_while_waiting(sie: Any, op: str) -> None:
    """A MockTransport answers 504 once, then succeeds: native routes are idempotent."""
    sie.server.reply(504, text="gateway timeout").ok(op)
    assert_succeeded(op, await sie.run(sie.client(), op))
    assert sie.server.count == 2
    assert len(sie.sleeps) == 1
    assert 0.75 <= sie.sleeps[0] <= 1.0


async def test_504_is_not_retried_for_native_routes_without_waiting(sie: Any) -> None:
    """A MockTransport answers 504 to a client with wait_for_capacity=False: ServerError, one request."""
    sie.server.reply(504, text="gateway timeout").ok("encode")
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(wait_for_capacity=False), "encode")
    assert caught.value.status_code == 504
    assert sie.server.count == 1


@pytest.mark.parametrize("op", GENERATION_OPS)
async def test_504_is_never_retried_for_generation(sie: Any, op: str) -> None:
    """A MockTransport answers 504 to a generation: ServerError, one request (it may have run)."""
    sie.server.reply(504, {"error": {"message": "deadline", "code": "timeout"}}).ok(op)
    with pytest.raises(ServerError) as caught:
        await sie.run(sie.client(), op)
    assert caught.value.status_code == 504
    assert sie.server.count == 1
    assert sie.sleeps == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"detail": {"code": "INFERENCE_ERROR", "message": "boom"}}),
        (503, {"detail": {"code": "MODEL_NOT_LOADED", "message": "unloading"}}),
        (503, {"error": {"message": "overloaded", "code": "server_overloaded"}}),
        (400, {"detail": {"code": "INPUT_TOO_LONG", "message": "long"}}),
        (404, {"detail": {"code": "MODEL_NOT_FOUND", "message": "missing"}}),
    ],
)
async def test_terminal_statuses_are_never_retried(sie: Any, status: int, body: dict[str, Any]) -> None:
    """A MockTransport answers a terminal error (even with Retry-After): exactly one request, no wait."""
    sie.server.reply(status, body, headers={"Retry-After": "1"}).ok("encode")
    with pytest.raises((RequestError, ServerError)):
        await sie.run(sie.client(), "encode")
    assert sie.server.count == 1
    assert sie.sleeps == []


# --- broken connections ------------------------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
async def test_connect_error_is_retried_then_connection_error(sie: Any, op: str) -> None:
    """A MockTransport raises httpx.ConnectError every time: max_retries=2 gives 3 attempts, then SIEConnectionError."""
    sie.server.raises(httpx.ConnectError, "[Errno 111] Connection refused")
    with pytest.raises(SIEConnectionError) as caught:
        await sie.run(sie.client(max_retries=2), op)
    assert type(caught.value) is SIEConnectionError
    assert "cannot connect" in caught.value.message
    assert "Connection refused" in caught.value.message
    assert "after 2 retries" in caught.value.message
    assert sie.server.count == 3
    assert len(sie.sleeps) == 2
    for delay, ceiling in zip(sie.sleeps, [0.5, 1.0], strict=True):
        assert 0.75 * ceiling <= delay <= ceiling


@pytest.mark.parametrize("op", ALL_OPS)
async def test_connect_error_then_success(sie: Any, op: str) -> None:
    """A MockTransport raises httpx.ConnectError once, then succeeds: nothing was sent, so even a generation resends."""
    sie.server.raises(httpx.ConnectError).ok(op)
    assert_succeeded(op, await sie.run(sie.client(), op))
    assert sie.server.count == 2


async def test_connect_timeout_is_retried_then_timeout_error(sie: Any) -> None:
    """A MockTransport raises httpx.ConnectTimeout every time: retried, then SIETimeoutError."""
    sie.server.raises(httpx.ConnectTimeout, "timed out")
    with pytest.raises(SIETimeoutError):
        await sie.run(sie.client(max_retries=1), "generate")
    assert sie.server.count == 2


@pytest.mark.parametrize("exc_type", [httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError, httpx.WriteTimeout])
@pytest.mark.parametrize("op", IDEMPOTENT_OPS)
async def test_maybe_sent_failures_are_retried_for_native_routes(
    sie: Any, op: str, exc_type: type[httpx.TransportError]
) -> None:
    """A MockTransport raises a read/protocol/write failure once, then succeeds: encode/score/extract resend."""
    sie.server.raises(exc_type, "connection reset").ok(op)
    assert_succeeded(op, await sie.run(sie.client(), op))
    assert sie.server.count == 2
    assert len(sie.sleeps) == 1


@pytest.mark.parametrize("exc_type", [httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError])
@pytest.mark.parametrize("op", GENERATION_OPS)
async def test_maybe_sent_failures_are_never_retried_for_generation(
    sie: Any, op: str, exc_type: type[httpx.TransportError]
) -> None:
    """A MockTransport raises a read/protocol failure for a generation: SIEConnectionError after one request."""
    sie.server.raises(exc_type, "peer closed connection").ok(op)
    with pytest.raises(SIEConnectionError) as caught:
        await sie.run(sie.client(max_retries=5), op)
    assert type(caught.value) is SIEConnectionError
    assert "not retried" in caught.value.message
    assert "peer closed connection" in caught.value.message
    assert sie.server.count == 1
    assert sie.sleeps == []


@pytest.mark.parametrize("op", ALL_OPS)
async def test_read_timeout_is_never_retried(sie: Any, op: str) -> None:
    """A MockTransport raises httpx.ReadTimeout: SIETimeoutError after exactly one request, for every operation."""
    sie.server.raises(httpx.ReadTimeout, "read timed out").ok(op)
    with pytest.raises(SIETimeoutError) as caught:
        await sie.run(sie.client(max_retries=5), op)
    assert isinstance(caught.value, SIEConnectionError)
    assert "timed out" in caught.value.message
    assert sie.server.count == 1
    assert sie.sleeps == []


async def test_maybe_sent_failures_exhaust_max_retries_for_native_routes(sie: Any) -> None:
    """A MockTransport raises httpx.ReadError every time: encode gives up after max_retries + 1 requests."""
    sie.server.raises(httpx.ReadError, "reset")
    with pytest.raises(SIEConnectionError) as caught:
        await sie.run(sie.client(max_retries=3), "encode")
    assert sie.server.count == 4
    assert len(sie.sleeps) == 3
    assert "after 3 retries" in caught.value.message


async def test_retries_mixed_signals_share_one_budget(sie: Any) -> None:
    """A MockTransport answers 503 MODEL_LOADING, then 429, then ConnectError, then success: one call survives all."""
    sie.server.reply(503, MODEL_LOADING, headers={"Retry-After": "3"}).reply(
        429, RATE_LIMIT, headers={"Retry-After": "1"}
    ).raises(httpx.ConnectError).ok("stream_generate")
    result = await sie.run(sie.client(), "stream_generate")
    assert_succeeded("stream_generate", result)
    assert sie.server.count == 4
    assert sie.sleeps[0] == 3.0
    assert 1.0 <= sie.sleeps[1] <= 1.5
    assert len(sie.sleeps) == 3


# --- stream opening ----------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["stream_chat", "stream_generate"])
async def test_capacity_503_at_stream_open_is_retried(sie: Any, op: str) -> None:
    """A MockTransport refuses the stream with 503 MODEL_LOADING (Retry-After: 1), then streams: chunks arrive."""
    sie.server.reply(503, MODEL_LOADING, headers={"Retry-After": "1"}).ok(op)
    result = await sie.run(sie.client(), op)
    assert_succeeded(op, result)
    assert sie.server.count == 2
    assert sie.sleeps == [1.0]
    assert all(r.headers["accept"] == "text/event-stream" for r in sie.server.requests)


@pytest.mark.parametrize("op", ["encode", "stream_chat", "stream_generate"])
async def test_every_retry_is_logged_streams_included(sie: Any, op: str, caplog: pytest.LogCaptureFixture) -> None:
    """A MockTransport raises ConnectError, then refuses with 503 MODEL_LOADING, then answers: two log lines."""
    sie.server.raises(httpx.ConnectError, "refused").reply(503, MODEL_LOADING, headers={"Retry-After": "1"}).ok(op)
    with caplog.at_level("INFO", logger="sie_integrations"):
        result = await sie.run(sie.client(), op)
    assert_succeeded(op, result)
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2, retries
    assert "after ConnectError" in retries[0]
    assert "after HTTP 503" in retries[1]


async def test_a_failed_stream_is_never_reopened(sie: Any) -> None:
    """A MockTransport streams a chunk then an error event: the stream fails and no second request is made."""
    sie.server.sse(
        sie.chat_chunk("", role="assistant"),
        {"choices": [], "error": {"message": "queue full", "type": "server_error", "code": "QUEUE_FULL"}},
    ).ok("stream_chat")
    with pytest.raises(ServerError):
        await sie.run(sie.client(), "stream_chat")
    assert sie.server.count == 1
    assert sie.sleeps == []


# --- Attempts on its own, with a fake clock ----------------------------------------------------


def test_attempts_transport_delay_rules() -> None:
    request = httpx.Request("POST", "http://sie.test/v1/generate/x")
    generation = Attempts(RetryPolicy(max_retries=1), idempotent=False, clock=FakeClock())
    delay = generation.transport_delay(broken(httpx.ConnectError("refused", request=request)), "http://sie.test")
    assert 0.375 <= delay <= 0.5
    with pytest.raises(SIEConnectionError, match="after 1 retries"):
        generation.transport_delay(broken(httpx.ConnectError("refused", request=request)), "http://sie.test")
    fresh = Attempts(RetryPolicy(), idempotent=False, clock=FakeClock())
    with pytest.raises(SIEConnectionError, match="not retried"):
        fresh.transport_delay(broken(httpx.ReadError("reset", request=request)), "http://sie.test")
    with pytest.raises(SIETimeoutError):
        Attempts(RetryPolicy(), idempotent=True, clock=FakeClock()).transport_delay(
            broken(httpx.ReadTimeout("slow", request=request)), "http://sie.test"
        )
