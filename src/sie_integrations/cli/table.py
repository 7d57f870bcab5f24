"""Plain-text tables that fit a terminal's width: long cells wrap, and the least useful columns go first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

GAP = "  "
MAX_LINES = 3
"""A row may wrap over this many lines; a table that needs more drops a column instead."""
MIN_PIECE = 20
"""A wrapped column is never narrower than its longest piece, up to this; longer pieces are cut."""
_AFTER_SEPARATOR = re.compile(r"(?<=[,+])")


@dataclass(frozen=True)
class Column:
    """A column: its title (no header line when every title is empty), whether its cells may wrap, and
    ``drop``: its turn to be left out when the table is too wide (1 goes first; None: always kept)."""

    title: str = ""
    wrap: bool = False
    drop: int | None = None


@dataclass(frozen=True)
class Table:
    """The rendered lines, and the titles of the columns left out to fit."""

    lines: list[str]
    dropped: list[str]


def _pieces(text: str) -> list[tuple[str, str]]:
    """The parts a cell may break between, each with what joins it to the one before: words, cut after , and +."""
    out: list[tuple[str, str]] = []
    for word in text.split():
        parts = [part for part in _AFTER_SEPARATOR.split(word) if part]
        out += [(" " if out and i == 0 else "", part) for i, part in enumerate(parts)]
    return out


def wrap_cell(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between pieces where it can."""
    width = max(1, width)
    lines: list[str] = []
    line = ""
    for joint, piece in _pieces(text):
        if line and len(line) + len(joint) + len(piece) > width:
            lines.append(line)
            line = ""
        line += (joint if line else "") + piece
        while len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    return [*lines, line]


def _natural(column: Column, cells: Sequence[str]) -> int:
    return max([len(column.title), *(len(c) for c in cells)])


def _narrowest(column: Column, cells: Sequence[str]) -> int:
    if not column.wrap:
        return _natural(column, cells)
    longest = max([0, *(len(piece) for c in cells for _, piece in _pieces(c))])
    return min(_natural(column, cells), max(len(column.title), min(longest, MIN_PIECE)))


def _shrink(columns: Sequence[Column], cells: Sequence[Sequence[str]], room: int) -> list[int] | None:
    """Widths within ``room`` (the gaps excluded), narrowing the widest wrapping column first; None if none fit."""
    widths = [_natural(c, cells[i]) for i, c in enumerate(columns)]
    floors = [_narrowest(c, cells[i]) for i, c in enumerate(columns)]
    for _ in range(sum(widths) - room):
        narrowable = [i for i, c in enumerate(columns) if c.wrap and widths[i] > floors[i]]
        if not narrowable:
            return None
        widths[max(narrowable, key=lambda i: widths[i])] -= 1
    return widths


def _wrapped(columns: Sequence[Column], row: Sequence[str], widths: Sequence[int]) -> list[list[str]]:
    return [wrap_cell(text, w) if c.wrap else [text] for c, text, w in zip(columns, row, widths, strict=True)]


def _height(columns: Sequence[Column], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> int:
    return max([1, *(len(cell) for row in rows for cell in _wrapped(columns, row, widths))])


def _layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], room: int) -> tuple[list[int], list[int]]:
    """The columns kept and their widths: columns are dropped in turn until the rest fit in ``room``."""
    kept = list(range(len(columns)))
    turns = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop is not None)
    while True:
        chosen = [columns[i] for i in kept]
        picked = [[row[i] for i in kept] for row in rows]
        cells = [[row[n] for row in picked] for n in range(len(kept))]
        widths = _shrink(chosen, cells, room - len(GAP) * (len(kept) - 1))
        if (widths is not None and _height(chosen, picked, widths) <= MAX_LINES) or not turns:
            return kept, widths or [_narrowest(c, cells[n]) for n, c in enumerate(chosen)]
        kept.remove(turns.pop(0)[1])


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, indent: str = "  ") -> Table:
    """``rows`` under ``columns``, at most ``width`` characters wide when the kept columns can be that narrow."""
    header = [c.title for c in columns] if any(c.title for c in columns) else None
    every = [header, *rows] if header else list(rows)
    kept, widths = _layout(columns, every, width - len(indent))
    chosen = [columns[i] for i in kept]
    lines: list[str] = []
    for row in every:
        cells = _wrapped(chosen, [row[i] for i in kept], widths)
        for n in range(max(len(cell) for cell in cells)):
            parts = [(cell[n] if n < len(cell) else "").ljust(w) for cell, w in zip(cells, widths, strict=True)]
            lines.append((indent + GAP.join(parts)).rstrip())
    return Table(lines, [c.title for i, c in enumerate(columns) if i not in kept])
