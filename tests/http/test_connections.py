"""An adapter's own connection pool, against ``FakeSIE`` on a real socket (``served``, not the SIE peer)."""

from __future__ import annotations

import threading

import httpx

from sie_integrations.langchain import SIEEmbeddings
from tests.fakes.served import CLIENT_PORT, served
from tests.fakes.sie import FakeSIE

AT_ONCE = 48
"""Requests in flight together: more than the 32 connections the pool kept alive before, fewer than its 128."""


def test_every_connection_the_adaptive_limit_can_use_is_kept_alive() -> None:
    """httpcore 1.0.9 closes an idle connection past ``max_keepalive_connections`` even when it was just handed to
    a waiting request, which then waits out its read timeout (encode/httpcore#1110). Seen in the benchmarks: one
    job in 6 to 9 at 128 in flight hung for 150 s and raised ``SIETimeoutError``. With as many connections kept
    alive as the limit can reach, none is closed: a second round of requests reuses the first round's."""
    fake = FakeSIE()
    together = threading.Barrier(AT_ONCE, timeout=10)
    ports: list[set[str]] = []  # of each round

    def handler(request: httpx.Request) -> httpx.Response:
        together.wait()  # every request of the round in flight at once, each on its own connection
        ports[-1].add(request.headers[CLIENT_PORT])
        return fake(request)

    with served(handler) as url:
        embeddings = SIEEmbeddings(model="m", base_url=url, batch_size=1, max_concurrency=AT_ONCE)
        for _ in range(2):
            ports.append(set())
            embeddings.embed_documents([f"text {i}" for i in range(AT_ONCE)])
    assert len(ports[0]) == AT_ONCE
    assert ports[1] == ports[0]
