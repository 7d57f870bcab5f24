"""The docs as the tests read them: README.md and docs/ pages, their ```python blocks and their command lines."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.support.live import ROOT

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


def snippets() -> list[Snippet]:
    """Every ```python block of the docs, in order."""
    return [snippet for path in doc_files() for snippet in snippets_in(path)]


FIELDS_MARKER = re.compile(r"^<!--\s*fields:\s*(?P<classes>[\w.;\s]+?)\s*-->\s*$")
NAME = re.compile(r"`([A-Za-z_]\w*)`")


@dataclass(frozen=True)
class ArgumentTable:
    """A table of constructor arguments, and the classes its ``<!-- fields: ... -->`` marker says it describes."""

    path: Path
    line: int
    classes: list[str]
    rows: list[tuple[list[str], str]]
    """Each row's argument names (the field, then the other names it is taken under) and its default cell."""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def argument_tables() -> list[ArgumentTable]:
    """Every table of the docs that a ``<!-- fields: module.Class -->`` comment precedes."""
    found = []
    for path in doc_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            marker = FIELDS_MARKER.match(line.strip())
            if marker is None:
                continue
            body = [row for row in _table_after(lines, number + 1)][2:]  # past the header and the rule
            rows = []
            for row in body:
                cells = [cell.strip() for cell in row.strip().strip("|").split(" | ")]
                rows.append((NAME.findall(cells[0]), cells[1]))
            classes = [name.strip() for name in marker["classes"].split(";") if name.strip()]
            found.append(ArgumentTable(path, number + 1, classes, rows))
    return found


def _table_after(lines: list[str], start: int) -> list[str]:
    rows = []
    for line in lines[start:]:
        if not line.strip() and not rows:
            continue
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows
