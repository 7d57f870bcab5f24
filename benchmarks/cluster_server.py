"""A simulated SIE cluster: ``--slots`` batches run at once, a service time that grows with a batch's size,
and ``QUEUE_FULL`` past its queue.

``POST /v1/encode/{model}`` (msgpack or JSON in, msgpack out, zero vectors of ``--dims``) waits for a free
slot (first come, first served), then sleeps ``base + per_char * items * longest text`` seconds, as a
server that pads each batch to its longest text does. A batch that would take the pending items (running
and waiting) past ``--pending-items`` per slot is refused at once with 503 ``QUEUE_FULL`` and
``Retry-After: 1``, as a standalone SIE server does past 512; with ``--queue-per-slot K``, a request that
would find ``K`` times the slots or more requests waiting for one is refused instead (a gateway's queue in
front of its workers). Answers carry ``X-Queue-Time`` and ``X-Total-Time`` in milliseconds, as the standalone server's
do, unless ``--no-timing`` (a gateway, an ingress or a proxy that drops them). ``GET /stats`` gives the
answers and refusals so far, and resets them; ``GET /slots?n=16`` changes the number of slots at once (a
cluster that grows or shrinks mid-job).

Usage: python cluster_server.py --port 18198 --slots 4 [--no-timing] [--queue-per-slot 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import msgpack
import numpy as np
from http_server import serve

ARGS = argparse.Namespace()
PENDING = 0
STATS = {"answers": 0, "refusals": 0}


class Slots:
    """Up to ``size`` holders at once, first come first served; the size can change while held."""

    def __init__(self, size: int) -> None:
        self.size, self.busy, self.waiting = size, 0, 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._changed:
            self.waiting += 1
            try:
                await self._changed.wait_for(lambda: self.busy < self.size)
            finally:
                self.waiting -= 1
            self.busy += 1

    async def __aexit__(self, *exc: object) -> None:
        async with self._changed:
            self.busy -= 1
            self._changed.notify_all()

    async def resize(self, size: int) -> None:
        async with self._changed:
            self.size = size
            self._changed.notify_all()


SLOTS: Slots


def _texts(content_type: str, body: bytes) -> list[str]:
    request = msgpack.unpackb(body, raw=False) if "msgpack" in content_type else json.loads(body)
    return [item.get("text") or "" for item in request["items"]]


def _encoded(count: int) -> bytes:
    data = np.zeros(ARGS.dims, dtype="<f4").tobytes()
    values = {b"nd": True, b"type": "<f4", b"kind": b"", b"shape": [ARGS.dims], b"data": data}
    item = {"dense": {"dims": ARGS.dims, "dtype": "float32", "values": values}}
    return msgpack.packb({"model": "simulated", "items": [item] * count}, use_bin_type=True)


async def answer(
    method: str, target: str, headers: dict[str, str], body: bytes
) -> tuple[int, str, bytes, bool, dict[str, str]]:
    global PENDING
    if method == "GET" and target == "/stats":
        stats = json.dumps(STATS).encode()
        STATS.update(answers=0, refusals=0)
        return 200, "application/json", stats, False, {}
    if method == "GET" and target.startswith("/slots?n="):
        await SLOTS.resize(int(target.split("=", 1)[1]))
        return 200, "application/json", json.dumps({"slots": SLOTS.size}).encode(), False, {}
    if method != "POST" or not target.startswith("/v1/encode/"):
        return 404, "application/json", b'{"detail":{"code":"NOT_FOUND","message":"not simulated"}}', False, {}
    texts = _texts(headers.get("content-type", ""), body)
    if ARGS.queue_per_slot is not None:
        full = SLOTS.busy >= SLOTS.size and SLOTS.waiting >= ARGS.queue_per_slot * SLOTS.size
    else:
        full = PENDING + len(texts) > ARGS.pending_items * SLOTS.size
    if full:
        STATS["refusals"] += 1
        message = f"Queue full: {PENDING} items pending, cannot add {len(texts)} more"
        refusal = json.dumps({"detail": {"code": "QUEUE_FULL", "message": message}}).encode()
        return 503, "application/json", refusal, False, {"Retry-After": "1"}
    PENDING += len(texts)
    arrived = time.perf_counter()
    try:
        async with SLOTS:
            started = time.perf_counter()
            longest = max(map(len, texts), default=0)
            await asyncio.sleep(ARGS.base + ARGS.per_item * len(texts) + ARGS.per_char * len(texts) * longest)
    finally:
        PENDING -= len(texts)
    STATS["answers"] += 1
    done = time.perf_counter()
    timing = {"X-Queue-Time": f"{(started - arrived) * 1000:.2f}", "X-Total-Time": f"{(done - arrived) * 1000:.2f}"}
    return 200, "application/msgpack", _encoded(len(texts)), False, {} if ARGS.no_timing else timing


async def main() -> None:
    global ARGS, SLOTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18198)
    ap.add_argument("--slots", type=int, default=1)
    ap.add_argument("--pending-items", type=int, default=512, help="per slot")
    ap.add_argument("--base", type=float, default=0.005, help="seconds per batch")
    ap.add_argument("--per-char", type=float, default=1e-5, help="seconds per item and character of the longest")
    ap.add_argument("--per-item", type=float, default=0.0, help="seconds per item, whatever its length")
    ap.add_argument("--queue-per-slot", type=int, default=None, help="refuse past this many waiting a slot")
    ap.add_argument("--no-timing", action="store_true", help="send no X-Queue-Time / X-Total-Time")
    ap.add_argument("--dims", type=int, default=384)
    ARGS = ap.parse_args()
    SLOTS = Slots(ARGS.slots)
    await serve(answer, ARGS.port, "cluster")


if __name__ == "__main__":
    asyncio.run(main())
