"""Documents on disk and how a batch of them is parsed: a folder's files, each file read only when its request is
sent, and one ``ParsedDocument`` per file whatever happened to it (unreadable, refused with its request, parsed)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import SIEError
from ..types import Document, ParsedDocument
from .documents import FORMATS, MAX_DOCUMENT_BYTES, check_document, check_size, fails_every_request, format_of

E = TypeVar("E", bound=BaseException)


def folder_files(folder: Path, glob: str) -> list[Path]:
    """A folder's files that match ``glob`` and are of a format the parser knows, none hidden (no part of their
    path inside the folder starts with a dot), sorted; ``ValueError`` for a pattern ``Path.glob`` refuses."""
    try:
        matches = list(folder.glob(glob))
    except (ValueError, NotImplementedError) as exc:  # an empty pattern; an absolute one (Python < 3.13)
        raise ValueError(f"glob {glob!r}: {exc}") from None
    return sorted(
        path
        for path in matches
        if path.suffix.lower() in FORMATS
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )


@dataclass(frozen=True)
class Pending:
    """A document to parse: a file, read only when its request is sent, or a ``Document`` already in memory;
    ``size`` in bytes (0 when unknown), ``format`` the one given for it (None: from its name, else its bytes),
    ``max_bytes`` the largest the server takes."""

    source: Path | Document
    size: int
    format: str | None = None
    max_bytes: int = MAX_DOCUMENT_BYTES

    @property
    def name(self) -> str | None:
        return str(self.source) if isinstance(self.source, Path) else self.source.name

    def read(self) -> Document:
        """The document, its format set; ``OSError`` when the file cannot be read, ``ValueError`` when it is empty
        or larger than the server takes (a file found too large by its size, before it is read)."""
        if isinstance(self.source, Path):
            _check_regular(self.source, self.source.stat(), self.max_bytes)
            document = Document(self.source.read_bytes(), name=str(self.source))
        else:
            document = self.source
        fmt = self.format or document.format or format_of(document.name, document.data)
        document = Document(document.data, fmt, document.name)
        check_document(document, self.max_bytes)
        return document


def pending_file(
    path: Path, format: str | None = None, *, check: bool = True, max_bytes: int = MAX_DOCUMENT_BYTES
) -> Pending:
    """A file to parse later; with ``check``, refused now when it is missing, a folder, unreadable, empty or too
    large (``OSError`` / ``ValueError`` naming it), else such a file fails when its turn comes."""
    try:
        status = path.stat()
    except OSError:
        if check:
            raise
        return Pending(path, 0, format, max_bytes)
    if check:
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(f"{path} is a folder")
        if not os.access(path, os.R_OK):
            raise PermissionError(f"{path} cannot be read (permission denied)")
        _check_regular(path, status, max_bytes)
    return Pending(path, status.st_size if stat.S_ISREG(status.st_mode) else 0, format, max_bytes)


def _check_regular(path: Path, status: os.stat_result, max_bytes: int) -> None:
    """``check_size`` on a regular file's size (a pipe or a device tells none: it is checked once read)."""
    if stat.S_ISREG(status.st_mode):
        check_size(str(path), status.st_size, max_bytes)


def bare(error: E) -> E:
    """``error`` without its tracebacks (its causes' too), to be kept: their frames would hold what the failed
    call held, a request's documents among it."""
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in chain:
        link.__traceback__ = None
        chain.append(link)
        link = link.__cause__ or link.__context__
    return error


class BatchParse:
    """The documents of one request: those that could be read go to the server, and the answer (or the request's
    error) is read back as one ``ParsedDocument`` per document, in order."""

    def __init__(self, files: Sequence[Pending]) -> None:
        self.files = files
        self.documents: list[Document] = []
        self._outcomes: list[ParsedDocument | None] = []
        for file in files:
            try:
                self.documents.append(file.read())
                self._outcomes.append(None)
            except OSError as exc:  # gone or unreadable since it was planned: this file fails
                error = type(exc)(f"{file.name} could not be read: {exc.strerror or exc}")
                self._outcomes.append(ParsedDocument(file.name, file.format, error=error))
            except ValueError as exc:  # empty or too large, found only now (``pending_file(check=False)``)
                self._outcomes.append(ParsedDocument(file.name, file.format, error=bare(exc)))

    def answered(self, answers: Sequence[ParsedDocument]) -> list[ParsedDocument]:
        """The server's parses of ``documents`` put beside the files that could not be read."""
        parses = iter(answers)
        return [outcome if outcome is not None else next(parses) for outcome in self._outcomes]

    def refused(self, error: SIEError) -> list[ParsedDocument]:
        """Each document sent failed with the request's ``error`` (after its retries); an error every request would
        meet (``fails_every_request``) is raised instead."""
        if fails_every_request(error):
            raise error
        return self.answered([ParsedDocument(d.name, d.format, error=bare(error)) for d in self.documents])
