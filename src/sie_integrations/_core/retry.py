"""When to wait and try a call again: capacity waits, rate limits and broken connections; no I/O."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import SIEConnectionError, SIEError, SIETimeoutError
from .error_mapping import ErrorInfo, to_error

DEFAULT_CAPACITY_DELAY = 5.0
# 503 codes a server sends instead of starting the work: the queue or the accelerator is busy right now.
_BACKPRESSURE = frozenset({"QUEUE_FULL", "BILLING_CAPACITY_UNAVAILABLE", "RESOURCE_EXHAUSTED"})


Sent = Literal["no", "maybe", "unknown"]
Kind = Literal["connect", "timeout", "read_timeout", "other"]


@dataclass(frozen=True)
class Broken:
    """A request that failed in transport, told without the HTTP library.

    ``sent``: ``"no"`` when it never left (refused, connect timeout, pool timeout), ``"maybe"`` when it may have
    reached the server (write failed, connection reset), ``"unknown"`` otherwise (read timeout, proxy error, ...).
    """

    name: str
    detail: str
    sent: Sent
    kind: Kind = "other"
    cause: BaseException | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """The retry settings of a client."""

    wait_for_capacity: bool = True
    provision_timeout: float = 900.0
    max_retries: int = 3


def _jitter(delay: float) -> float:
    return random.uniform(0.75 * delay, delay)


def is_backpressure(info: ErrorInfo) -> bool:
    """A refusal before any work: 429, or a 503 saying the queue or the accelerator is busy."""
    return info.status == 429 or (info.status == 503 and (info.code or "").upper() in _BACKPRESSURE)


class Attempts:
    """The retry state of one call. ``idempotent`` calls may be re-sent after a broken connection."""

    def __init__(self, policy: RetryPolicy, *, idempotent: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self._clock = clock
        self._started = clock()
        self.retries = 0
        self.capacity_waits = 0
        self._now_given = False

    def _asked_delay(self, info: ErrorInfo, otherwise: float) -> float:
        """The server's ``Retry-After``, else ``otherwise``; ``0`` means now, once a call: a server that keeps
        saying ``0`` gets ``otherwise``."""
        if info.retry_after is None or (info.retry_after == 0 and self._now_given):
            return otherwise
        self._now_given = self._now_given or info.retry_after == 0
        return info.retry_after

    @property
    def remaining(self) -> float:
        return self.policy.provision_timeout - (self._clock() - self._started)

    def retry_delay(self, info: ErrorInfo) -> float | None:
        """Seconds to wait before trying again after this error response, or None to give up."""
        code = (info.code or "").upper()
        remaining = self.remaining
        if self.policy.max_retries == 0:  # nothing is sent twice, whatever the answer
            return None
        if info.status == 202 or code in ("PROVISIONING", "MODEL_LOADING", "LORA_LOADING"):
            if not self.policy.wait_for_capacity or remaining <= 0:
                return None
            delay = self._asked_delay(info, DEFAULT_CAPACITY_DELAY)
            self.capacity_waits += 1
            return min(delay, remaining)
        if is_backpressure(info) and self.policy.wait_for_capacity:
            # Refused before any work (the server answered with an error status, not a result or a stream):
            # safe to send again, generations included. Waited out within the budget, spread upwards so
            # calls refused together do not come back together.
            base = self._asked_delay(info, min(2.0**self.capacity_waits, 30.0))
            delay = base * random.uniform(1.0, 1.5)
            if delay >= remaining:
                return None
            self.capacity_waits += 1
            return delay
        retryable = (
            is_backpressure(info)
            or (
                info.status == 503
                and code in ("QUEUE_UNAVAILABLE", "TRANSPORT_FAILURE")
                and info.retry_after is not None
            )
            or (self.idempotent and self.policy.wait_for_capacity and info.status == 504)
        )
        if not retryable or self.retries >= self.policy.max_retries:
            return None
        delay = self._asked_delay(info, _jitter(min(2.0**self.retries, 30.0)))
        if delay >= remaining:
            return None
        self.retries += 1
        return delay

    def final_error(self, info: ErrorInfo) -> SIEError:
        """The error to raise once ``retry_delay`` gave up."""
        error = to_error(info)
        waited = self.policy.provision_timeout - self.remaining
        capacity = info.status == 202 or (error.code or "").upper() in ("PROVISIONING", "MODEL_LOADING", "LORA_LOADING")
        if self.capacity_waits and is_backpressure(info):
            error.message = f"{error.message} (still refused after waiting {waited:.0f}s)"
        elif self.capacity_waits and capacity:
            error.message = (
                f"{error.message} (still not ready after waiting {waited:.0f}s; "
                f"provision_timeout={self.policy.provision_timeout:g}s)"
            )
        elif self.retries:
            error.message = f"{error.message} (after {self.retries} retries)"
        elif not self.policy.wait_for_capacity and capacity:
            error.message = f"{error.message} (wait_for_capacity is off)"
        elif self.policy.max_retries == 0 and (capacity or is_backpressure(info)):
            error.message = f"{error.message} (not retried: max_retries=0)"
        return error

    def transport_delay(self, failure: Broken, url: str, connect_hint: str | None = None) -> float:
        """Seconds to wait before re-sending after a transport failure; raises when it must not (``connect_hint``
        ending the message of a connection that could not be made)."""
        sent_maybe = failure.sent == "maybe"
        retry_ok = failure.sent == "no" or (sent_maybe and self.idempotent)
        if retry_ok and self.retries < self.policy.max_retries:
            delay = _jitter(min(0.5 * 2.0**self.retries, 5.0))
            if delay < self.remaining:
                self.retries += 1
                return delay
        not_retried = sent_maybe and not self.idempotent
        error = connection_error(failure, url, retries=self.retries, not_retried=not_retried, connect_hint=connect_hint)
        raise error from failure.cause


def connection_error(
    failure: Broken, url: str, *, retries: int = 0, not_retried: bool = False, connect_hint: str | None = None
) -> SIEConnectionError:
    """A typed error for a transport failure; ``connect_hint`` ends the message when no connection was made."""
    detail = failure.detail or failure.name
    if failure.kind in ("timeout", "read_timeout"):
        message = f"timed out talking to {url} ({failure.name}: {detail})"
        cls: type[SIEConnectionError] = SIETimeoutError
    elif failure.kind == "connect":
        message = f"cannot connect to {url}: {detail}"
        cls = SIEConnectionError
    else:
        message = f"connection to {url} failed: {detail}"
        cls = SIEConnectionError
    if retries:
        message += f" (after {retries} retries)"
    if not_retried:
        message += "; not retried, since the request may have reached the server"
    if connect_hint and failure.kind == "connect":
        message += f"; {connect_hint}"
    return cls(message)
