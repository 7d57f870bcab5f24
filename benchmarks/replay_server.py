"""A zero-latency replay of the SIE endpoints, to isolate client cost.

A small asyncio HTTP/1.1 server with keep-alive. Each request is keyed by (method, path, request
content type, Accept, number of inputs, encoding_format); the first request with a key is forwarded
once to the real SIE server (``--upstream``) and its response body is stored; every later request
with the same key is answered from memory without touching the upstream. Streamed chat
(``"stream": true`` on ``/v1/chat/completions``) is answered with the SSE body in ``--chat-sse``
(built by run.py from a stream captured from the real peer).

Usage: python replay_server.py --port 18199 --upstream http://127.0.0.1:18080 --chat-sse file.sse
Prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import msgpack
from http_server import serve

CACHE: dict[tuple, tuple[int, str, bytes]] = {}
LOCKS: dict[tuple, asyncio.Lock] = {}
UPSTREAM = urlsplit("http://127.0.0.1:18080")
CHAT_SSE: bytes = b""


def _count_and_format(path: str, ctype: str, body: bytes) -> tuple[int, str, bool]:
    """Number of inputs, encoding_format and stream flag of a request (what decides the answer)."""
    if not body:
        return 0, "", False
    try:
        obj = msgpack.unpackb(body, raw=False) if "msgpack" in ctype else json.loads(body)
    except Exception:
        return -1, "", False
    if not isinstance(obj, dict):
        return -1, "", False
    if "items" in obj:
        return len(obj["items"]), "", False
    if "input" in obj:
        inp = obj["input"]
        return (len(inp) if isinstance(inp, list) else 1), str(obj.get("encoding_format", "")), False
    return 0, "", bool(obj.get("stream"))


def _fetch_upstream(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port or 80, timeout=600)
    try:
        send = {k: v for k, v in headers.items() if k in ("content-type", "accept", "authorization")}
        conn.request(method, path, body=body or None, headers=send)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("content-type", "application/octet-stream"), data
    finally:
        conn.close()


async def _answer(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, str, bytes, bool, dict[str, str]]:
    ctype = headers.get("content-type", "")
    count, fmt, stream = _count_and_format(path, ctype, body)
    if stream and path.startswith("/v1/chat/completions"):
        return 200, "text/event-stream; charset=utf-8", CHAT_SSE, True, {}
    key = (method, path, ctype, headers.get("accept", ""), count, fmt)
    hit = CACHE.get(key)
    if hit is None:
        lock = LOCKS.setdefault(key, asyncio.Lock())
        async with lock:
            hit = CACHE.get(key)
            if hit is None:
                hit = await asyncio.to_thread(_fetch_upstream, method, path, headers, body)
                if hit[0] == 200:
                    CACHE[key] = hit
    status, rtype, data = hit
    return status, rtype, data, False, {}


async def main() -> None:
    global UPSTREAM, CHAT_SSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18199)
    ap.add_argument("--upstream", default="http://127.0.0.1:18080")
    ap.add_argument("--chat-sse", default=None)
    args = ap.parse_args()
    UPSTREAM = urlsplit(args.upstream)
    if args.chat_sse:
        CHAT_SSE = await asyncio.to_thread(Path(args.chat_sse).read_bytes)
    await serve(_answer, args.port, "replay")


if __name__ == "__main__":
    asyncio.run(main())
