"""A small asyncio HTTP/1.1 server with keep-alive, for the benchmark's stand-in servers.

``serve(answer, port, name)`` answers every request with ``await answer(method, target, headers, body)``:
``(status, content type, body, is_sse, extra headers)``; an SSE body is sent chunked, event by event.
Prints ``READY <port>`` once listening.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable

Answer = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, str, bytes, bool, dict[str, str]]]]

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    422: "Unprocessable Entity",
    500: "Error",
    503: "Unavailable",
}


async def _handle(answer: Answer, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = bytearray()
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        await reader.readline()
                        break
                    body += await reader.readexactly(size)
                    await reader.readline()
                body = bytes(body)
            else:
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            status, rtype, data, sse, extra = await answer(method, target, headers, body)
            reason = REASONS.get(status, "Status")
            if sse:
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\ncontent-type: {rtype}\r\ncache-control: no-cache\r\n"
                    "transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n".encode()
                )
                for event in data.split(b"\n\n"):
                    if event.strip():
                        chunk = event + b"\n\n"
                        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                writer.write(b"0\r\n\r\n")
            else:
                more = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\ncontent-type: {rtype}\r\ncontent-length: {len(data)}\r\n"
                    f"{more}connection: keep-alive\r\n\r\n".encode()
                )
                writer.write(data)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except Exception as exc:  # keep serving other connections
        print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        writer.close()


async def serve(answer: Answer, port: int, name: str) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    handle = functools.partial(_handle, answer, name)
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=2**26, backlog=256)
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()
