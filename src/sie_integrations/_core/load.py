"""What the server said about its load while one batch was sent: refusals, and its queue and work times.

``exchange()`` notes them on the ``Load`` that ``watching()`` opened in the caller's context (its thread, or
its asyncio task), so the code sending a batch learns how it went without a return value of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from .reports import milliseconds


class Seat(Protocol):
    """A batch's place among those in flight, which it gives up while it waits out a refusal."""

    def leave(self) -> None:
        """Refused: wait without the place."""

    def back(self) -> Awaitable[None] | None:
        """Take a place again (on threads it blocks until there is one; an awaitable to await on tasks)."""


@dataclass
class Load:
    """How one batch went, as the server told it."""

    refusals: int = 0
    """Answers that refused it before any work (429, 503 ``QUEUE_FULL`` and the like)."""
    waited: float = 0.0
    """Seconds slept after those refusals."""
    work: float | None = None
    """Seconds the server worked on it (``X-Total-Time`` minus ``X-Queue-Time``), when it said."""
    queued: float | None = None
    """Seconds it waited in the server's queue (``X-Queue-Time``), when the server said."""
    seat: Seat | None = None
    """Its place in flight, when a dispatcher gave it one."""


_current: ContextVar[Load | None] = ContextVar("sie_integrations_load", default=None)


@contextmanager
def watching(seat: Seat | None = None) -> Iterator[Load]:
    """A ``Load`` that the calls made inside the block report to."""
    load = Load(seat=seat)
    token = _current.set(load)
    try:
        yield load
    finally:
        _current.reset(token)


def refused(delay: float) -> None:
    """Note a refusal, and the seconds waited before sending again."""
    load = _current.get()
    if load is not None:
        load.refusals += 1
        load.waited += delay


def away(refused: bool) -> Seat | None:
    """Before a wait: after a refusal, the batch being sent gives up its place; its seat, to take one back."""
    load = _current.get()
    seat = load.seat if refused and load is not None else None
    if seat is not None:
        seat.leave()
    return seat


def answered(headers: Mapping[str, str]) -> None:
    """Note the server's work time from the timing headers of its answer, when it sent them."""
    load = _current.get()
    if load is None:
        return
    total, queue = milliseconds(headers.get("x-total-time")), milliseconds(headers.get("x-queue-time"))
    load.work = None if total is None else max(0.0, total - (queue or 0.0)) / 1000
    load.queued = None if total is None or queue is None else queue / 1000
