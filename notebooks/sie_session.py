"""The notebooks' hidden set-up: a live SIE server, or a session recorded from the real SIE peer.

``SIE_NOTEBOOK_MODE``: ``live`` (the server at ``SIE_BASE_URL``, default http://localhost:8080), ``replay``
(the cassette), ``record`` (re-records from the peer on http://127.0.0.1:18080), or unset: live when a
server answers and serves the notebook's models, else replay. ``Session`` sets ``SIE_BASE_URL`` to the
server it chose, so the reader-facing cells construct the adapters without ``base_url``, as a user's code
would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sie_integrations import SIEClient, SIEError

RECORDED_URL = "http://127.0.0.1:18080"
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "notebooks"
DEFAULT_URL = "http://localhost:8080"


def _comparable(body: Any) -> Any:
    """A request body as compared on replay: tool results sent back together are compared in any order.

    An agent runs the tool calls of one model turn concurrently, so their results reach the next request in the
    order the tools finished, which varies from run to run and carries no meaning.
    """
    if not body:
        return body
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body  # msgpack, or not JSON: compared byte for byte
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, list):
        ordered: list[Any] = []
        results: list[Any] = []
        for message in [*messages, None]:
            if isinstance(message, dict) and message.get("role") == "tool":
                results.append(message)
                continue
            ordered += sorted(results, key=lambda m: str(m.get("tool_call_id")))
            results = []
            if message is not None:
                ordered.append(message)
        data["messages"] = ordered
    return data


def _same_body(r1: Any, r2: Any) -> None:
    from vcr.util import read_body

    if _comparable(read_body(r1)) != _comparable(read_body(r2)):
        raise AssertionError("the request bodies differ")


def _missing(url: str, models: Sequence[str]) -> list[str] | None:
    """Which of ``models`` the server at ``url`` does not serve; None when no server answers there."""
    try:
        with SIEClient(url, timeout=3.0, max_retries=0) as probe:
            if not probe.health().ok:
                return None
            served = {model.name for model in probe.list_models()}
    except SIEError:
        return None
    return [model for model in models if model not in served]


class Session:
    """The base URL to use, and the cassette being replayed or recorded, if any."""

    def __init__(self, name: str, models: Sequence[str]) -> None:
        mode = os.environ.get("SIE_NOTEBOOK_MODE", "")
        url = (os.environ.get("SIE_BASE_URL") or DEFAULT_URL).rstrip("/")
        self._cassette: Any = None
        missing = None if mode else _missing(url, models)
        if mode == "live" or missing == []:
            self.base_url, self.mode = url, "live"
        else:
            self.base_url, self.mode = RECORDED_URL, "record" if mode == "record" else "replay"
            import vcr

            recorder = vcr.VCR(
                record_mode="all" if self.mode == "record" else "none",
                match_on=["method", "scheme", "host", "port", "path", "query", "same_body"],
                filter_headers=["authorization"],
                decode_compressed_response=True,
                # A re-recording keeps nothing of the previous one; a replay never rewrites the cassette.
                drop_unused_requests=self.mode == "record",
            )
            recorder.register_matcher("same_body", _same_body)
            self._cassette = recorder.use_cassette(str(CASSETTES / f"{name}.yaml"))
            self._cassette.__enter__()
        os.environ["SIE_BASE_URL"] = self.base_url  # the adapters read it when no base_url is passed
        if self.mode == "record":
            print(f"Recording from {self.base_url}")
        elif self.mode == "replay":
            if mode == "replay":
                why = "SIE_NOTEBOOK_MODE=replay"
            elif missing:
                names = ", ".join(missing)
                why = f"the server at {url} does not serve {names}; put its own models in their place to run live"
            else:
                why = f"no SIE server answered at {url}; set SIE_BASE_URL to a running one (see ../docs/server.md)"
            print(f"Replaying a session recorded from a real SIE server: {why}.")

    def close(self) -> None:
        """Stop replaying (or save the recording)."""
        if self._cassette is not None:
            self._cassette.__exit__(None, None, None)
            self._cassette = None
