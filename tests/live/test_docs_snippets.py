"""Every ```python block in README.md and docs/ runs as written, each on its own, against the server.

Replayed from ``cassettes/live/test_docs_snippets/`` by default; ``./dev live`` runs them against
``SIE_BASE_URL`` and ``./dev record`` re-records them. A block runs in a fresh namespace in an
empty working directory, with ``SIE_BASE_URL`` pointing at the server, as a reader who copies it
into a file would run it. A block that cannot run here (the code a migration guide starts from, a
gateway-only call) is preceded by ``<!-- snippet: skip (reason) -->``, and the reason is reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from tests.support.docs import Snippet, snippets
from tests.support.live import LIVE_API_KEY, ROOT

SNIPPETS = snippets()


@pytest.mark.live
@pytest.mark.vcr
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, sie_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if snippet.skip:
        pytest.skip(f"{snippet.path.name}:{snippet.line}: {snippet.skip}")
    monkeypatch.setenv("SIE_BASE_URL", sie_url)
    monkeypatch.setenv("SIE_API_KEY", LIVE_API_KEY)
    monkeypatch.chdir(tmp_path)
    # Blank lines up to the block's first line, so that a traceback names the line in the Markdown file.
    code = compile("\n" * snippet.line + snippet.code, str(snippet.path), "exec")
    try:
        exec(code, {"__name__": "__main__"})
    except CannotOverwriteExistingCassetteException as exc:
        where = f"{snippet.path.relative_to(ROOT)}:{snippet.line}"
        pytest.fail(f"{where} sends a request its cassette does not hold: re-record it with ./dev record\n{exc}")
