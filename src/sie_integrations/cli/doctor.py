"""``sie-integrations doctor``: probe a server (health, models, auth, one request per endpoint) and report."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from .._http.client import SIEClient
from ..errors import SIEConnectionError, SIEError
from ..types import ModelInfo
from .common import Connection
from .report import (
    CHAT_ATTEMPTS,
    ENDPOINTS,
    KeyState,
    Outcome,
    Report,
    build_report,
    candidates,
    encode_kind,
    render_text,
    report_json,
)

T = TypeVar("T")
DEFAULT_DOCTOR_TIMEOUT = 10.0
VERSION_HEADER = "x-sie-server-version"


def timed(model: str | None, call: Callable[[], T]) -> tuple[Outcome, T | None]:
    """Run one request, timing its round trip; an error becomes a failed ``Outcome``."""
    started = time.perf_counter()
    try:
        value = call()
    except SIEError as exc:
        return Outcome(
            ok=False,
            model=model,
            status_code=exc.status_code,
            code=exc.code,
            error=" ".join(str(exc).split()),
            unreachable=isinstance(exc, SIEConnectionError),
        ), None
    except ValueError as exc:  # a model id the client refuses to put in a URL
        return Outcome(ok=False, model=model, error=str(exc)), None
    return Outcome(ok=True, ms=(time.perf_counter() - started) * 1000.0, model=model), value


def exercise(client: SIEClient, endpoint: str, model: ModelInfo) -> Outcome:
    """One small request to ``endpoint`` with ``model``."""
    name = model.name
    calls: dict[str, Callable[[], object]] = {
        "encode": lambda: client.encode(name, ["sie doctor"], output_types=[encode_kind(model)]),
        "score": lambda: client.score(name, "sie doctor", ["a first document", "a second document"]),
        "extract": lambda: client.extract(name, ["Alice met Bob in Paris."], labels=["person", "city"]),
        "generate": lambda: client.generate(name, "Hello", max_new_tokens=4),
        "chat": lambda: client.chat_completions(
            {"model": name, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
        ),
    }
    return timed(name, calls[endpoint])[0]


def probe_endpoints(client: SIEClient, models: list[ModelInfo]) -> dict[str, list[Outcome]]:
    """Exercise each endpoint some model supports; chat tries further models until one answers."""
    by_name = {m.name: m for m in models}
    attempts: dict[str, list[Outcome]] = {}
    for endpoint in ENDPOINTS:
        tries = attempts.setdefault(endpoint, [])
        limit = CHAT_ATTEMPTS if endpoint == "chat" else 1
        for name in candidates(models, endpoint)[:limit]:
            outcome = exercise(client, endpoint, by_name[name])
            tries.append(outcome)
            if outcome.ok or outcome.unreachable:
                break
    return attempts


def run_doctor(
    connection: Connection, http_client: httpx.Client | None = None, *, timeout: float = DEFAULT_DOCTOR_TIMEOUT
) -> Report:
    """Probe the server and build the report (``http_client``: e.g. one on an ``httpx.MockTransport``)."""
    owned = http_client is None
    http = http_client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
    versions: dict[str, str] = {}

    def record(response: httpx.Response) -> None:
        value = response.headers.get(VERSION_HEADER)
        if value:
            versions.setdefault(response.request.url.path, value)

    hooks = http.event_hooks
    http.event_hooks = {**hooks, "response": [*hooks.get("response", []), record]}
    key = KeyState(connection.key_source(), connection.env_key_withheld())
    try:
        client = connection.client(http, provision_timeout=timeout)
        health = timed(None, client.health)
        if health[0].unreachable:
            return build_report(connection.url, key, health, None, {}, versions)
        models = timed(None, client.list_models)
        model_list = models[1]
        attempts = probe_endpoints(client, model_list) if model_list is not None else {}
        return build_report(connection.url, key, health, models, attempts, versions)
    finally:
        http.event_hooks = hooks
        if owned:
            http.close()


def doctor_command(connection: Connection, *, as_json: bool, http_client: httpx.Client | None = None) -> int:
    """Run the doctor, print the report (text or JSON) and, on a problem, one line on stderr."""
    out, err = sys.stdout, sys.stderr
    timeout = connection.timeout if connection.timeout is not None else DEFAULT_DOCTOR_TIMEOUT
    if connection.timeout is None:
        connection = connection.with_options(timeout=timeout)
    report = run_doctor(connection, http_client, timeout=timeout)
    width = shutil.get_terminal_size().columns  # COLUMNS, else the terminal's, else 80
    print(json.dumps(report_json(report), indent=2) if as_json else render_text(report, width), file=out)
    if report.error:
        print(f"sie-integrations doctor: {report.error}", file=err)
    return report.exit_code
