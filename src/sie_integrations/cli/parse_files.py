"""The files of ``sie-integrations parse``: the documents to parse (files, and folders expanded with a glob), the
output each one writes, whether it is already done, and the outputs written whole or not at all."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._core.documents import FORMATS
from .._core.files import Pending, folder_files


class ParseError(Exception):
    """A problem with the inputs or outputs of a parse run (the message is shown as is); ``usage``: refused
    before anything is sent, as bad arguments are (exit 2)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Job:
    """One document to parse: the file, its size, and the files its parse is written to."""

    source: Path
    size: int
    markdown: Path
    json: Path | None = None

    def file(self, max_bytes: int) -> Pending:
        """The file to parse, read when its request is sent, ``max_bytes`` at most."""
        return Pending(self.source, self.size, max_bytes=max_bytes)

    @property
    def outputs(self) -> list[Path]:
        return [self.markdown] if self.json is None else [self.json, self.markdown]

    def done(self) -> bool:
        """True when every output exists and is newer than the file (it was parsed since the file changed)."""
        try:
            changed = self.source.stat().st_mtime_ns
            return all(output.stat().st_mtime_ns > changed for output in self.outputs)
        except OSError:
            return False


RECORD = ".sie-integrations-parse.jsonl"
"""The file in an output folder that says what each output was parsed with (hidden: never a document)."""


class Record:
    """What made each output in a folder: the file and the model and options it was parsed with, one JSON line a
    parse written (the last for an output counting), so a rerun with other settings parses again what they did
    not make. An output being written is noted first with no settings, so one cut short by an interrupted run
    counts as made by nothing."""

    def __init__(self, folder: Path, settings: dict[str, Any]) -> None:
        self.folder = folder
        self.path = folder / RECORD
        self.settings = settings
        self._made: dict[str, dict[str, Any]] = {}
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            text = ""
        self._lines = text.splitlines()
        self._tidy = text.endswith("\n") or not text
        for line in self._lines:
            try:
                entry = json.loads(line)
                self._made[entry["output"]] = {"source": entry["source"], "settings": entry["settings"]}
            except (ValueError, KeyError, TypeError):  # a line cut short, or not the record's
                continue

    def _key(self, job: Job) -> str:
        return job.markdown.relative_to(self.folder).as_posix()

    def state(self, job: Job) -> Literal["current", "other", "unrecorded"]:
        """Whether ``job``'s outputs were made from its file with these settings (``"current"``), from another
        file or with other settings (``"other"``), or the record does not say (``"unrecorded"``)."""
        made = self._made.get(self._key(job))
        if made is None or made["settings"] is None:
            return "unrecorded"
        return "current" if made == self._entry(job)["made"] else "other"

    def _entry(self, job: Job) -> dict[str, Any]:
        return {"output": self._key(job), "made": {"source": str(_same(job.source)), "settings": self.settings}}

    def writing(self, job: Job) -> None:
        """Note that ``job``'s outputs are being written: made by nothing known until ``done``."""
        self._append({"output": self._key(job), "source": str(_same(job.source)), "settings": None})

    def done(self, job: Job) -> None:
        """Note that ``job``'s outputs were just made from its file with these settings."""
        entry = self._entry(job)
        self._append({"output": entry["output"], **entry["made"]})

    def _append(self, entry: dict[str, Any]) -> None:
        """One line more; the first of a run rewrites the record with one line an output, ending in a newline."""
        if len(self._lines) > len(self._made) or not self._tidy:
            lines = [json.dumps({"output": key, **made}) for key, made in self._made.items()]
            write_whole(self.path, "".join(line + "\n" for line in lines))
            self._lines, self._tidy = lines, True
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
        self._lines.append(line)
        self._made[entry["output"]] = {"source": entry["source"], "settings": entry["settings"]}


def sources(inputs: Sequence[str], glob: str, output: str) -> list[tuple[Path, Path]]:
    """Each document to parse and its path relative to the folder it was found in (a file given directly: its
    name); a missing input is refused first. The files in ``output``, when it is inside a folder, are left out of
    that folder's (they are earlier outputs)."""
    missing = [given for given in inputs if not os.path.exists(given)]
    if missing:
        names = ", ".join(repr(given) for given in missing)
        raise ParseError(f"no such file or folder: {names}", usage=True)
    found: list[tuple[Path, Path]] = []
    outputs = _same(Path(output))
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            try:
                files = folder_files(path, glob)
            except ValueError as exc:  # an empty or absolute pattern: "glob '...': why"
                raise ParseError(f"--{exc}", usage=True) from None
            if not _same(path).is_relative_to(outputs):  # DIR inside the folder: its files are no documents
                files = [file for file in files if not _same(file).is_relative_to(outputs)]
            found.extend((file, file.relative_to(path)) for file in files)
        else:
            found.append((path, Path(path.name)))
    if not found:
        known = " ".join(sorted(FORMATS))
        raise ParseError(
            f"no document to parse: no file matches --glob {glob!r} in a format the parser knows ({known})"
        )
    return found


def _same(path: Path) -> Path:
    """The path compared when two outputs, or an output and an input, are checked for being one file."""
    return Path(os.path.normcase(path.resolve()))


def plan_jobs(inputs: Sequence[str], output: str, glob: str, *, json: bool) -> list[Job]:
    """The jobs of a run, in input order: ``output/<path relative to its folder>.md`` (and ``.json``) each.

    Refused (``ParseError``, ``usage``) before anything is sent: a missing input, an output folder that is a
    file, two inputs that would write the same output, an output that would overwrite an input. A file given
    twice (or given and in a folder given) is parsed once, where it first came.
    """
    if os.path.exists(output) and not os.path.isdir(output):
        raise ParseError(f"-o {output!r} is a file: give a folder to write the parses to", usage=True)
    found = sources(inputs, glob, output)
    given = {_same(source) for source, _ in found}
    writers: dict[Path, Path] = {}  # an output, and the input that writes it
    clashes: list[str] = []
    jobs: list[Job] = []
    planned: set[Path] = set()
    for source, relative in found:
        if _same(source) in planned:
            continue  # the same file, given twice (or given and in a folder given): parsed once, the first way
        planned.add(_same(source))
        markdown = Path(output) / relative.with_suffix(".md")
        job = Job(source, source.stat().st_size, markdown, markdown.with_suffix(".json") if json else None)
        for out in job.outputs:
            writer = writers.setdefault(_same(out), source)
            if _same(writer) != _same(source):
                clashes.append(f"  {out}: written by both {writer} and {source}")
            elif _same(out) in given:
                clashes.append(f"  {out}: the parse of {source} would overwrite this input")
        jobs.append(job)
    if clashes:
        raise ParseError(
            "refusing to parse: these outputs would be written twice or replace an input (rename a file, "
            "or give another -o):\n" + "\n".join(clashes),
            usage=True,
        )
    return jobs


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a hidden temporary file beside it, so that an interrupted run leaves
    either the old file or the new one, never a part (a part would count as done on the next run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_text(text, encoding="utf-8", newline="")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
