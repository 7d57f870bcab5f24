"""Recorded traffic never carries credentials (the live tier sends a key so that this can fail)."""

from __future__ import annotations

import re

from tests.support.live import CASSETTES, LIVE_API_KEY


def test_cassettes_exist_and_hold_no_credentials() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert len(files) >= 20
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert LIVE_API_KEY not in text, path
        assert not re.search(r"(?im)^\s*-?\s*authorization:", text), path
        assert not re.search(r"(?i)bearer\s+[a-z0-9]", text), path
