"""Where the repository and its recordings are, and what the live tier sends."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
CASSETTES = ROOT / "cassettes"
RECORDED_URL = "http://127.0.0.1:18080"
"""The peer's address when the cassettes were recorded."""
LIVE_API_KEY = "sk-live-tier-not-a-real-key-0123456789"
"""Sent by the live tier so the cassettes prove that credentials are scrubbed; the peer ignores it."""
