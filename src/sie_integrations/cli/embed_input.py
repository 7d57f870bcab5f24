"""The inputs of ``sie-integrations embed``: a text file, a JSONL file or stdin."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


class EmbedError(Exception):
    """A problem with the inputs or outputs of an embed run (the message is shown as is)."""


@dataclass(frozen=True)
class Inputs:
    """The texts to embed, their ids, and what identifies the input file."""

    texts: list[str]
    ids: list[Any]
    path: str
    size: int
    sha256: str


def input_kind(path: str, input_format: str) -> str:
    """``"jsonl"`` or ``"text"``: as asked, else from the suffix (``.jsonl``)."""
    if input_format != "auto":
        return input_format
    return "jsonl" if path.lower().endswith(".jsonl") else "text"


def parse_inputs(data: bytes, kind: str) -> tuple[list[str], list[Any]]:
    """Texts and ids from a text file (one text per line) or JSONL (``text``, optional ``id``).

    Blank lines are skipped; an id defaults to the 0-based line number in the file.
    """
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EmbedError(f"the input is not UTF-8 text: {exc}") from exc
    texts: list[str] = []
    ids: list[Any] = []
    for index, raw in enumerate(content.split("\n")):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if kind == "text":
            texts.append(line)
            ids.append(index)
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise EmbedError(f"input line {index + 1}: not JSON ({exc})") from exc
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise EmbedError(f"input line {index + 1}: expected an object with a non-empty string 'text'")
        item_id = record.get("id")
        if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, (str, int))):
            raise EmbedError(f"input line {index + 1}: 'id' must be a string or an integer")
        texts.append(text)
        ids.append(index if item_id is None else item_id)
    return texts, ids


def read_inputs(path: str, *, input_format: str = "auto", stdin: BinaryIO | None = None) -> Inputs:
    """Read ``path`` (``-``: stdin) whole; its size and sha256 identify it in the progress sidecar."""
    if path == "-":
        if stdin is None:
            raise EmbedError("no stdin to read")
        data, where = stdin.read(), "-"
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise EmbedError(f"cannot read {path}: {exc.strerror or exc}") from exc
        where = str(Path(path).resolve())
    texts, ids = parse_inputs(data, input_kind(path, input_format))
    return Inputs(texts, ids, where, len(data), hashlib.sha256(data).hexdigest())
