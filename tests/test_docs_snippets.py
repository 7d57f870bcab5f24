"""Every ```python block in README.md and docs/ runs as written, each on its own, against the server.

Replayed from ``cassettes/test_docs_snippets/`` by default; ``./dev live`` runs them against
``SIE_BASE_URL`` and ``./dev record`` re-records them. A block runs in a fresh namespace in an
empty working directory, with ``SIE_BASE_URL`` pointing at the server, as a reader who copies it
into a file would run it. A block that cannot run here (the code a migration guide starts from, a
gateway-only call) is preceded by ``<!-- snippet: skip (reason) -->``, and the reason is reported.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from vcr.errors import CannotOverwriteExistingCassetteException

from sie_integrations.cli import build_parser
from tests.conftest import LIVE_API_KEY, ROOT

SHELL_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>bash|console|shell)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
SKIP = re.compile(r"<!--\s*snippet:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")


@dataclass(frozen=True)
class Snippet:
    """One ```python block: where it is, its code, and why it is skipped, if it is."""

    path: Path
    line: int
    number: int
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        stem = self.path.relative_to(ROOT).with_suffix("").as_posix().replace("/", "-")
        return f"{stem}-{self.number}"


def doc_files() -> list[Path]:
    """README.md and every page of docs/ (the reference pages hold no code blocks of their own)."""
    return [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "_ext" not in p.parts)]


def snippets_in(path: Path) -> list[Snippet]:
    """The ```python blocks of one Markdown file, dedented, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for number, match in enumerate(FENCE.finditer(text), start=1):
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Snippet(path, line, number, code, skip["reason"] if skip else None))
    return found


SNIPPETS = [snippet for path in doc_files() for snippet in snippets_in(path)]


def test_the_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 40
    assert all(s.code.strip() for s in SNIPPETS)


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


def cli_commands() -> list[tuple[str, list[str]]]:
    """Every ``sie-integrations ...`` command of the shell blocks in the docs, with its arguments."""
    found = []
    for path in doc_files():
        for match in SHELL_FENCE.finditer(path.read_text(encoding="utf-8")):
            for line in match["body"].replace("\\\n", " ").splitlines():
                line = line.strip()
                if match["lang"] == "console":  # a session: commands after "$ ", the rest is output
                    if not line.startswith("$ "):
                        continue
                    line = line[2:]
                words = shlex.split(line, comments=True)
                if words[:1] == ["sie-integrations"]:
                    found.append((f"{path.relative_to(ROOT)}: {line.strip()}", words[1:]))
    return found


def test_every_documented_command_line_parses() -> None:
    commands = cli_commands()
    assert len(commands) >= 4
    parser = build_parser()
    for where, argv in commands:
        if "--help" in argv or "-h" in argv:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{where}: the CLI refuses these arguments (exit {exc.code})")
