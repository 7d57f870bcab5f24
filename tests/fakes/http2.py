"""A real HTTP/2 TLS server on 127.0.0.1 (hypercorn, with a trustme certificate): it answers encode requests with
msgpack vectors (each ``[n, n, n]`` for the text ``"n"``) and records the HTTP version and client port of each."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

Seen = list[tuple[str, int]]


def _encode_app(seen: Seen) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append((scope["http_version"], scope["client"][1]))
        items = msgpack.unpackb(body, raw=False)["items"]
        vectors = [np.full(3, float(item["text"]), "<f4") for item in items]
        answer = {
            "items": [
                {"dense": {"values": {b"nd": True, b"type": "<f4", b"kind": b"", b"shape": [3], b"data": v.tobytes()}}}
                for v in vectors
            ]
        }
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/msgpack")]}
        )
        await send({"type": "http.response.body", "body": msgpack.packb(answer, use_bin_type=True)})

    return app


@contextmanager
def http2_server(folder: Path) -> Iterator[tuple[str, str, Seen]]:
    """(base URL, CA file, requests seen) of the server, running until the block ends; its files go in ``folder``."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.loglevel = "ERROR"
    seen: Seen = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve(_encode_app(seen), config, shutdown_trigger=stop.wait),),  # type: ignore[arg-type]
        daemon=True,
    )
    thread.start()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            threading.Event().wait(0.025)
    try:
        yield f"https://127.0.0.1:{port}", str(ca_file), seen
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
