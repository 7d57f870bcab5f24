"""The README's main command: the quickstart replays the recorded session when no server answers."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_quickstart_replays_and_says_so() -> None:
    env = {**os.environ, "SIE_BASE_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("Mode: replay of a session recorded from the real SIE peer")
    assert "start.sh" in first
    # The real embedding model ranks the Paris weather document first.
    retrieved = out.split("2. Retrieve")[1].splitlines()[1]
    assert retrieved.split()[1:3] == ["Paris", "usually"]
    reranked = out.split("3. Rerank")[1].split("4. Entities")[0]
    assert len([line for line in reranked.splitlines() if line.startswith("   0.")]) == 2
    assert "temperature:" in out
    assert "tool call: get_weather({'city': 'Paris'}) -> Sunny, 24 degrees Celsius in Paris." in out
    assert "answer (streamed): Hello from tiny-chat!" in out
    assert "tokens: " in out
