"""``http2=True`` against a local HTTP/2 TLS test server (hypercorn with a trustme certificate, not the SIE peer).

The server answers ``/v1/encode/...`` with a msgpack encode response and records the HTTP version and the
client port of every request, so a test can see HTTP/2 negotiated and requests multiplexed on one connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sie_integrations import AsyncSIEClient, SIEClient, SIEConnectionError
from sie_integrations.langchain import SIEEmbeddings
from tests.fakes.http2 import Seen, http2_server


@pytest.fixture(scope="module")
def h2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Seen]]:
    """(base URL, CA file, requests seen) of a hypercorn HTTP/2 server on 127.0.0.1 with TLS."""
    with http2_server(tmp_path_factory.mktemp("tls")) as server:
        yield server


@pytest.fixture
def trust_ca(h2_server: tuple[str, str, Seen], monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx builds its default TLS context from SSL_CERT_FILE: trust the test CA only."""
    monkeypatch.setenv("SSL_CERT_FILE", h2_server[1])


def test_http2_is_negotiated_and_concurrent_batches_share_one_connection(
    h2_server: tuple[str, str, Seen], trust_ca: None
) -> None:
    url, _, seen = h2_server
    embeddings = SIEEmbeddings(model="m", base_url=url, http2=True, batch_size=4, max_concurrency=4)
    embeddings.embed_query("0")  # the connection negotiated first: four threads starting at once may each open one
    seen.clear()
    texts = [str(i) for i in range(32)]
    vectors = embeddings.embed_documents(texts)
    assert [v[0] for v in vectors] == [float(t) for t in texts]
    assert {version for version, _ in seen} == {"2"}
    assert len(seen) == 8 and len({port for _, port in seen}) == 1  # 8 requests, one multiplexed connection
    embeddings.close()


def test_without_http2_the_same_server_gets_http11(h2_server: tuple[str, str, Seen], trust_ca: None) -> None:
    url, _, seen = h2_server
    seen.clear()
    with SIEClient(url) as client:
        assert client.encode_dense("m", ["1", "2"]).tolist() == [[1.0] * 3, [2.0] * 3]
    assert [version for version, _ in seen] == ["1.1"]


def test_async_client_over_http2(h2_server: tuple[str, str, Seen], trust_ca: None) -> None:
    url, _, seen = h2_server
    seen.clear()

    async def run() -> list[np.ndarray[Any, Any]]:
        async with AsyncSIEClient(url, http2=True) as client:
            return await asyncio.gather(*(client.encode_dense("m", [str(i)]) for i in range(6)))

    matrices = asyncio.run(run())
    assert [m[0, 0] for m in matrices] == [float(i) for i in range(6)]
    assert {version for version, _ in seen} == {"2"} and len({port for _, port in seen}) == 1


def test_tls_verification_is_on(h2_server: tuple[str, str, Seen]) -> None:
    """Without the test CA trusted, the self-signed server is refused: certificates are verified by default."""
    with SIEClient(h2_server[0], http2=True, max_retries=0) as client, pytest.raises(SIEConnectionError) as caught:
        client.encode_dense("m", ["1"])
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_http2_without_h2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "h2", None)
    with pytest.raises(ImportError, match=r"sie-integrations\[http2\]"):
        SIEClient("https://sie.test", http2=True)
