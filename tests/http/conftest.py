"""The ``sie`` fixture: one scenario against a scripted server, run with ``SIEClient`` and ``AsyncSIEClient``."""

from __future__ import annotations

import pytest

from tests.fakes.scripted import Harness, MockServer


@pytest.fixture
def sie_server() -> MockServer:
    return MockServer()


@pytest.fixture(params=["sync", "async"])
def sie(
    request: pytest.FixtureRequest, sie_server: MockServer, fake_sleeps: list[float], sie_env_cleared: None
) -> Harness:
    """One scenario, run once with ``SIEClient`` and once with ``AsyncSIEClient``."""
    return Harness(request.param, sie_server, fake_sleeps)
