"""Fixtures of every test: no developer environment, sleeps on a fake clock; and how the live tier talks to the
real SIE peer or replays its cassettes.

The tests mirror the source: ``core``, ``http``, ``adapters``, ``langchain``, ``llama_index`` and ``cli`` test
those layers against fake servers (``tests/fakes``); ``live`` holds every test that talks to a real server, and
only those; ``project`` checks the package, its docs and its recordings. Three ways to run the live tier:

* default (``pytest``): replayed from ``cassettes/<the test module's path under tests/>/``; nothing leaves the
  machine;
* ``pytest -m live --disable-recording`` with ``SIE_BASE_URL``: against a real server;
* ``pytest -m live --record-mode=rewrite`` with the peer on port 18080: re-records the cassettes.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from sie_integrations import AsyncSIEClient, SIEClient
from sie_integrations._core import exchange as _exchange
from sie_integrations._core.retry import Attempts
from tests.fakes.hostile import HostileServer
from tests.fakes.scripted import FakeClock
from tests.support.live import CASSETTES, LIVE_API_KEY, RECORDED_URL, TESTS

LIVE = TESTS / "live"

# Property tests check results, never timings: a busy CI machine must not fail them for being slow.
settings.register_profile("sie", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sie")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under ``tests/live`` is marked ``live``, and no other is."""
    for item in items:
        inside = item.path.is_relative_to(LIVE)
        if inside != (item.get_closest_marker("live") is not None):
            where = "is under tests/live but not marked" if inside else "is marked but not under tests/live"
            raise pytest.UsageError(f"{item.nodeid} {where} live")


def is_live(config: pytest.Config) -> bool:
    """True when requests really reach a server (recording off, or recording anew)."""
    return bool(config.getoption("--disable-recording")) or (config.getoption("--record-mode") or "none") != "none"


@pytest.fixture(scope="session")
def live(pytestconfig: pytest.Config) -> bool:
    return is_live(pytestconfig)


@pytest.fixture(scope="session")
def sie_url(live: bool) -> str:
    if not live:
        return RECORDED_URL
    url = os.environ.get("SIE_BASE_URL")
    if not url:
        pytest.fail("the live tier needs SIE_BASE_URL (start the peer: ../shared/peer/start.sh)")
    return url.rstrip("/")


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """A module's cassettes: ``cassettes/`` + its path under ``tests/`` without ``.py``, so none share a folder."""
    return str(CASSETTES / Path(str(request.node.fspath)).relative_to(TESTS).with_suffix(""))


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization", "x-api-key", "cookie", "set-cookie"],
        "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
        "decode_compressed_response": True,
    }


def _normalised_body(body: bytes | str | None) -> Any:
    """A JSON body with tool descriptions dedented (Python 3.13 dedents docstrings, 3.10 does not)."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    for tool in data.get("tools") or [] if isinstance(data, dict) else []:
        function = tool.get("function") or {}
        if isinstance(function.get("description"), str):
            function["description"] = inspect.cleandoc(function["description"])
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data["messages"] = _tool_results_sorted(data["messages"])
    return data


def _tool_results_sorted(messages: list[Any]) -> list[Any]:
    """Consecutive tool results in call-id order: agents run parallel tools at once, so they finish in any order."""
    out: list[Any] = []
    run: list[Any] = []
    for message in [*messages, None]:
        if isinstance(message, dict) and message.get("role") == "tool":
            run.append(message)
            continue
        out += sorted(run, key=lambda m: str(m.get("tool_call_id")))
        run = []
        if message is not None:
            out.append(message)
    return out


def _json_body(r1: Any, r2: Any) -> None:
    # A plain raise, not ``assert``: pytest would diff every non-matching pair of (megabyte) bodies.
    if _normalised_body(r1.body) != _normalised_body(r2.body):
        raise AssertionError("the request bodies differ")


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", _json_body)


@pytest.fixture
def sleeps(live: bool, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records every retry wait of the clients; replays skip the wait itself."""
    recorded: list[float] = []
    real_sync, real_async = SIEClient._sleep, AsyncSIEClient._sleep

    def sync_sleep(self: SIEClient, seconds: float) -> None:
        recorded.append(seconds)
        if live:
            real_sync(self, seconds)

    async def async_sleep(self: AsyncSIEClient, seconds: float) -> None:
        recorded.append(seconds)
        if live:
            await real_async(self, seconds)

    monkeypatch.setattr(SIEClient, "_sleep", sync_sleep)
    monkeypatch.setattr(AsyncSIEClient, "_sleep", async_sleep)
    return recorded


@pytest.fixture
def client(sie_url: str, sleeps: list[float]) -> Iterator[SIEClient]:
    with SIEClient(sie_url, api_key=LIVE_API_KEY) as sie:
        yield sie


@pytest.fixture
async def aclient(sie_url: str, sleeps: list[float]) -> Any:
    async with AsyncSIEClient(sie_url, api_key=LIVE_API_KEY) as sie:
        yield sie


@pytest.fixture
def sie_env_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test never sees the developer's SIE_* variables."""
    for name in ("SIE_API_KEY", "SIE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Every call's retry budget (``Attempts``) runs on a fake clock."""
    clock = FakeClock()
    factory = functools.partial(Attempts, clock=clock)
    monkeypatch.setattr(_exchange, "Attempts", factory)
    return clock


@pytest.fixture
def fake_sleeps(monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock) -> list[float]:
    """The delays the clients asked to sleep; nothing really sleeps, the fake clock advances instead."""
    recorded: list[float] = []

    def fake_sleep(self: SIEClient, seconds: float) -> None:
        recorded.append(seconds)
        fake_clock.advance(seconds)

    async def fake_async_sleep(self: AsyncSIEClient, seconds: float) -> None:
        recorded.append(seconds)
        fake_clock.advance(seconds)

    monkeypatch.setattr(SIEClient, "_sleep", fake_sleep)
    monkeypatch.setattr(AsyncSIEClient, "_sleep", fake_async_sleep)
    return recorded


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A ``HostileServer`` on 127.0.0.1, stopped after the test."""
    with HostileServer() as server:
        yield server
