"""The README's main command: the quickstart replays only when asked or when no URL was given, never hides a bad URL."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from tests.support.live import ROOT

QUICKSTART = str(ROOT / "examples" / "quickstart.py")


def quickstart(*args: str, url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SIE_BASE_URL"}
    if url is not None:
        env["SIE_BASE_URL"] = url
    return subprocess.run([sys.executable, QUICKSTART, *args], capture_output=True, text=True, env=env, timeout=120)


def test_quickstart_replays_and_says_so() -> None:
    result = quickstart("--replay", url=None)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("Mode: replay of a session recorded from the real SIE server (--replay)")
    assert "docs/server.md" in first
    # The real embedding model ranks the Paris weather document first.
    retrieved = out.split("2. Retrieve")[1].splitlines()[1]
    assert retrieved.split()[1:3] == ["Paris", "usually"]
    reranked = out.split("3. Rerank")[1].split("4. Entities")[0]
    assert len([line for line in reranked.splitlines() if line.startswith("   0.")]) == 2
    assert "temperature:" in out
    assert "tool call: get_weather({'location': 'Paris'}) -> Sunny, 24 degrees Celsius in Paris." in out
    assert "answer (streamed): It is sunny in Paris today." in out
    assert "tokens: " in out


def test_a_url_that_nothing_answers_is_an_error_not_a_replay() -> None:
    result = quickstart(url="http://127.0.0.1:9")  # nothing listens on the discard port
    assert result.returncode == 1
    assert "Mode:" not in result.stdout
    assert "SIE_BASE_URL is http://127.0.0.1:9, but no SIE server answers there" in result.stderr
    assert "Connection refused" in result.stderr


def test_help_prints_usage_and_runs_nothing() -> None:
    result = quickstart("--help", url="http://127.0.0.1:9")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: ./dev quickstart")
    assert "Mode:" not in result.stdout


def test_an_unknown_argument_is_a_usage_error() -> None:
    result = quickstart("--live", url=None)
    assert result.returncode == 2
    assert "unrecognized arguments: --live" in result.stderr


def test_each_step_uses_a_real_model_where_the_server_has_one() -> None:
    spec = importlib.util.spec_from_file_location("quickstart", QUICKSTART)
    assert spec is not None and spec.loader is not None
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    served = {"sentence-transformers/all-MiniLM-L6-v2", "cross-encoder/ms-marco-MiniLM-L-6-v2", "sie-fake"}
    assert quickstart.pick(served, quickstart.RERANKERS) == "cross-encoder/ms-marco-MiniLM-L-6-v2"
    assert quickstart.pick(served, quickstart.EXTRACTORS) is None
    assert quickstart.about("sie-fake") == "sie-fake, deterministic scores that carry no meaning"
    assert quickstart.about("BAAI/bge-reranker-v2-m3") == "BAAI/bge-reranker-v2-m3"
