"""What an adapter sent to a real server: httpx clients that note each request, for the live tier (their hooks run
before the transport, so a replayed request is noted as a recorded one was)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgpack

TIMEOUT = httpx.Timeout(150.0, connect=10.0)
"""The adapters' own default: an injected client's timeout is the one used."""


class Sent(list[httpx.Request]):
    """The requests sent through ``connection()``'s clients, in order."""

    def connection(self) -> dict[str, Any]:
        """``http_client`` and ``http_async_client`` arguments whose requests are noted here."""

        async def note(request: httpx.Request) -> None:
            self.append(request)

        return {
            "http_client": httpx.Client(timeout=TIMEOUT, event_hooks={"request": [self.append]}),
            "http_async_client": httpx.AsyncClient(timeout=TIMEOUT, event_hooks={"request": [note]}),
        }

    def to(self, path: str) -> list[httpx.Request]:
        """The requests whose path starts with ``path`` (``"/v1/encode"``, ``"/v1/chat/completions"``)."""
        return [request for request in self if request.url.path.startswith(path)]

    def bodies(self, path: str) -> list[Any]:
        """The decoded bodies (msgpack or JSON) of the requests to ``path``."""
        return [body(request) for request in self.to(path)]

    def encoded(self) -> list[list[str]]:
        """The texts of each encode request, in order; an item of images only as ``"<n images>"``."""
        return [[_text_of(item) for item in sent["items"]] for sent in self.bodies("/v1/encode")]


def _text_of(item: dict[str, Any]) -> str:
    text = item.get("text")
    return text if isinstance(text, str) else f"<{len(item.get('images') or [])} images>"


def body(request: httpx.Request) -> Any:
    """A request's body, msgpack or JSON."""
    content = request.read()
    if "msgpack" in request.headers.get("content-type", ""):
        return msgpack.unpackb(content, raw=False)
    return json.loads(content)
