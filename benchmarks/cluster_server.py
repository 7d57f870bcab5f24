"""A simulated SIE cluster: ``--slots`` batches run at once, a service time that grows with a batch's size,
and ``QUEUE_FULL`` past its queue.

``POST /v1/encode/{model}`` (msgpack or JSON in, msgpack out, zero vectors of ``--dims``) waits for a free
slot (first come, first served), then sleeps ``base + per_char * items * longest text`` seconds, as a
server that pads each batch to its longest text does. A batch that would take the pending items (running
and waiting) past ``--pending-items`` per slot is refused at once with 503 ``QUEUE_FULL`` and
``Retry-After: 1``, as a standalone SIE server does past 512. Answers carry ``X-Queue-Time`` and
``X-Total-Time`` in milliseconds, as the standalone server's do. ``GET /stats`` gives the answers and
refusals so far, and resets them.

Usage: python cluster_server.py --port 18198 --slots 4
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
SLOTS: asyncio.Semaphore
PENDING = 0
STATS = {"answers": 0, "refusals": 0}


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
    if method != "POST" or not target.startswith("/v1/encode/"):
        return 404, "application/json", b'{"detail":{"code":"NOT_FOUND","message":"not simulated"}}', False, {}
    texts = _texts(headers.get("content-type", ""), body)
    if PENDING + len(texts) > ARGS.pending_items * ARGS.slots:
        STATS["refusals"] += 1
        message = f"Queue full: {PENDING} items pending, cannot add {len(texts)} more"
        refusal = json.dumps({"detail": {"code": "QUEUE_FULL", "message": message}}).encode()
        return 503, "application/json", refusal, False, {"Retry-After": "1"}
    PENDING += len(texts)
    arrived = time.perf_counter()
    try:
        async with SLOTS:
            started = time.perf_counter()
            await asyncio.sleep(ARGS.base + ARGS.per_char * len(texts) * max(map(len, texts), default=0))
    finally:
        PENDING -= len(texts)
    STATS["answers"] += 1
    done = time.perf_counter()
    timing = {"X-Queue-Time": f"{(started - arrived) * 1000:.2f}", "X-Total-Time": f"{(done - arrived) * 1000:.2f}"}
    return 200, "application/msgpack", _encoded(len(texts)), False, timing


async def main() -> None:
    global ARGS, SLOTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18198)
    ap.add_argument("--slots", type=int, default=1)
    ap.add_argument("--pending-items", type=int, default=512, help="per slot")
    ap.add_argument("--base", type=float, default=0.005, help="seconds per batch")
    ap.add_argument("--per-char", type=float, default=1e-5, help="seconds per item and character of the longest")
    ap.add_argument("--dims", type=int, default=384)
    ARGS = ap.parse_args()
    SLOTS = asyncio.Semaphore(ARGS.slots)
    await serve(answer, ARGS.port, "cluster")


if __name__ == "__main__":
    asyncio.run(main())
