"""The files of ``sie-integrations parse``: the documents to parse (files, and folders expanded with a glob), the
output each one writes, whether it is already done, and the outputs written whole or not at all."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._core.batches import Batch, in_order_groups
from .._core.documents import FORMATS, check_document, format_of
from ..types import Document, Item


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


def folder_files(folder: Path, glob: str) -> list[Path]:
    """A folder's files that match ``glob`` and are of a format the parser knows, none hidden (no part of their
    path inside the folder starts with a dot), sorted."""
    try:
        matches = list(folder.glob(glob))
    except (ValueError, NotImplementedError) as exc:  # an empty or absolute pattern
        raise ParseError(f"--glob {glob!r}: {exc}", usage=True) from None
    found = []
    for path in matches:
        inside = path.relative_to(folder)
        if path.suffix.lower() in FORMATS and not any(part.startswith(".") for part in inside.parts) and path.is_file():
            found.append(path)
    return sorted(found)


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
            files = folder_files(path, glob)
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
    twice is parsed once.
    """
    if os.path.exists(output) and not os.path.isdir(output):
        raise ParseError(f"-o {output!r} is a file: give a folder to write the parses to", usage=True)
    found = sources(inputs, glob, output)
    given = {_same(source) for source, _ in found}
    writers: dict[Path, Path] = {}  # an output, and the input that writes it
    clashes: list[str] = []
    jobs: list[Job] = []
    for source, relative in found:
        markdown = Path(output) / relative.with_suffix(".md")
        job = Job(source, source.stat().st_size, markdown, markdown.with_suffix(".json") if json else None)
        if _same(markdown) in writers and _same(writers[_same(markdown)]) == _same(source):
            continue  # the same file, given twice
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


def batches(jobs: Sequence[Job], size: int) -> Iterator[Batch[Item]]:
    """The jobs in input order, grouped as ``in_order_groups`` groups documents; a batch's items stand for its jobs
    (no text: each counts as one item in the cost the concurrency limit weighs a request by), as the files are
    read only when sent."""
    for group in in_order_groups([job.size for job in jobs], size):
        yield Batch(group, [Item(id=str(jobs[p].source)) for p in group])


def read(job: Job) -> Document:
    """The job's file as a ``Document``, its format from its name, else its bytes; ``OSError`` when it cannot be
    read, ``ValueError`` when it is empty or larger than the server takes."""
    data = job.source.read_bytes()
    name = str(job.source)
    document = Document(data, format_of(name, data), name)
    check_document(document)
    return document


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
