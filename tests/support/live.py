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

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
"""The peer's one real model: where meaning matters."""
FACTS = [
    "The Eiffel Tower is in Paris.",
    "Bananas are rich in potassium.",
    "Paris has mild summers.",
    "A reranker scores query and document pairs.",
    "Python is a programming language.",
]
"""Short facts, two about Paris: a query about Paris finds those first (with ``MINILM``)."""
LONGER_FACTS = [
    "The Eiffel Tower is in Paris. It was finished in 1889.",
    "Paris has mild summers, around 25 degrees Celsius.",
    "Bananas are rich in potassium. They grow in the tropics.",
    "Alice met Bob in Rome to talk about rerankers.",
]
"""Two-sentence facts, for retrieval and extraction."""
