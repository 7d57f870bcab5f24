"""The API key never leaks from the clients: repr/str, and logs at every level (against ``FakeSIE``)."""

from __future__ import annotations

import logging

import pytest

from sie_integrations import AsyncSIEClient, SIEClient
from tests.support.secrets import KEY, URL, keyed_server, leaks


def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = SIEClient(URL, api_key=KEY, http_client=keyed_server().client())
    texts = [repr(client), str(client)]
    client.encode("m", ["x"])
    texts += [repr(AsyncSIEClient(URL, api_key=KEY)), caplog.text]
    assert leaks(texts) == []
