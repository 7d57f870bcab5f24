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
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Mode: replay of a session recorded from the real SIE peer")
    assert "start.sh" in lines[0]
    out = result.stdout
    # The real embedding model ranks the weather document first.
    assert "0.782  Paris usually has mild summers" in out
    assert 'get_weather({"city": "Paris"})' in out
    assert "Hello from tiny-chat!" in out
    assert "tokens:" in out
