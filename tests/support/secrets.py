"""What the secret tests share: a key, and a server that takes only that key and refuses a chat saying "fail"."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.sie import FakeSIE

KEY = "sk-scan-7f3a9c2e5b1d4a8f"
URL = "https://sie.test"


def _refuse(route: str, number: int, body: Any) -> httpx.Response | None:
    if route == "chat" and body["messages"][-1]["content"] == "fail":
        return httpx.Response(401, json={"error": {"message": "invalid api key", "code": "UNAUTHORIZED"}})
    return None


def keyed_server() -> FakeSIE:
    """A server that answers only requests with ``KEY`` (the key is sent, and only there)."""
    return FakeSIE(key=KEY, refuse=_refuse)


def leaks(texts: list[str]) -> list[str]:
    """The texts that hold the key."""
    return [text for text in texts if KEY in text]
