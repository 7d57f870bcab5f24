"""Documents in: files, folders, bytes and file objects read into ``Document``s, parsed in batches as they come,
and what to do with the ones the server cannot parse."""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field, PrivateAttr, model_validator
from typing_extensions import Self

from .._core.batches import Batch, stand_ins
from .._core.documents import MAX_DOCUMENT_BYTES
from .._core.files import Pending, folder_files, pending_file
from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from .._http.dispatch import Gate, LoopGates, aiter_batches, run_batches
from .._http.files import aparse_files, parse_files
from ..errors import SIEError
from ..types import Document, Item, ParsedDocument
from .batching import Batching, BatchSize, Concurrent
from .model_options import ModelOptions

logger = logging.getLogger("sie_integrations")

Source = str | os.PathLike[str] | bytes | IO[bytes] | Document
"""A document to parse: a file's path, its bytes, a binary file object, or a ``Document``."""
OnError = Literal["raise", "warn", "skip"]


def read_document(source: Source, format: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES) -> Document:
    """``source`` as a ``Document``: a path is read (``FileNotFoundError`` / ``IsADirectoryError`` before anything
    is sent), a file object read to its end; ``format`` wins over the one told from the name or the bytes. An
    empty or too large document raises ``ValueError`` naming it.

    Args:
        source: A file's path, its bytes, a binary file object, or a ``Document``.
        format: ``"pdf"``, ``"docx"``, ``"html"``, ...; None: from the file's suffix, else its bytes.
        max_bytes: The largest document the server takes (default 16 MiB, Docling's default).
    """
    if isinstance(source, str | os.PathLike):
        return Pending(Path(source), 0, format, max_bytes).read()
    return Pending(_in_memory(source), 0, format, max_bytes).read()


def _in_memory(source: Source) -> Document:
    """Bytes, a file object (read to its end) or a ``Document`` as a ``Document``, unchecked."""
    if isinstance(source, Document):
        return source
    if isinstance(source, bytes | bytearray):
        return Document(bytes(source))
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, bytes):
            raise TypeError("a document's file object must be opened in binary mode ('rb')")
        name = getattr(source, "name", None)
        return Document(data, name=name if isinstance(name, str) else None)
    raise TypeError(f"a document is a path, bytes, a binary file or a Document, not {type(source).__name__}")


def document_files(paths: Source | Sequence[Source], glob: str = "**/*") -> list[Source]:
    """The documents to read: each source as given, a folder's files matching ``glob`` (those of a format the
    parser knows, hidden ones left out), sorted, each file once; a missing path raises ``FileNotFoundError``."""
    single = isinstance(paths, str | os.PathLike | bytes | bytearray | Document) or hasattr(paths, "read")
    sources: list[Source] = [paths] if single else list(paths)  # type: ignore[list-item, arg-type]
    out: list[Source] = []
    seen: set[Path] = set()
    for source in sources:
        if isinstance(source, str | os.PathLike) and Path(source).is_dir():
            found: list[Source] = list(folder_files(Path(source), glob))
        elif isinstance(source, str | os.PathLike) and not Path(source).exists():
            raise FileNotFoundError(f"no such file or folder: {os.fspath(source)!r}")
        else:
            found = [source]
        for one in found:
            if isinstance(one, str | os.PathLike):
                if Path(one).resolve() in seen:
                    continue  # a file given twice, or given and in a folder given: loaded once, where it came first
                seen.add(Path(one).resolve())
            out.append(one)
    return out


def plan(
    sources: Iterable[Source],
    format: str | None = None,
    *,
    check: bool = True,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[Pending]:
    """The documents to parse, files left on disk until their request is sent; with ``check``, one that cannot be
    sent (a file missing or unreadable, a document empty or too large) raises now, before anything is sent, else
    it fails when its turn comes. Bytes and file objects are read now."""
    planned = []
    for source in sources:
        if isinstance(source, str | os.PathLike):
            planned.append(pending_file(Path(source), format, check=check, max_bytes=max_bytes))
            continue
        document = _in_memory(source)
        if check:  # its format told (and its size checked) now, so not again when it is sent
            document = Pending(document, 0, format, max_bytes).read()
        planned.append(Pending(document, len(document.data), format, max_bytes))
    return planned


def _batches(files: Sequence[Pending], size: int) -> list[Batch[Item]]:
    return stand_ins([file.size for file in files], size)


def parse_batched(
    client: SIEClient, model: str, files: Sequence[Pending], batching: Batching, **args: Any
) -> Iterator[ParsedDocument]:
    """Each document parsed, in input order, as soon as it and those before it are: ``batching.size`` a request,
    up to its limit in flight, each file read only when its request is sent."""

    def run(batch: Batch[Item]) -> list[ParsedDocument]:
        parsed = parse_files(client, model, [files[p] for p in batch.positions], **args)
        batching.done(batch)
        return parsed

    for parsed in run_batches(run, _batches(files, batching.size), batching.limit):
        yield from parsed


async def aparse_batched(
    client: AsyncSIEClient,
    model: str,
    files: Sequence[Pending],
    batching: Batching,
    gate: Gate | None = None,
    **args: Any,
) -> AsyncIterator[ParsedDocument]:
    """Async ``parse_batched`` (the files read on a thread); through ``gate``, the adapter's for this event loop,
    so loads started at once (as ``SimpleDirectoryReader`` starts one a file) stay under ``max_concurrency``
    together."""

    async def run(batch: Batch[Item]) -> list[ParsedDocument]:
        parsed = await aparse_files(client, model, [files[p] for p in batch.positions], **args)
        batching.done(batch)
        return parsed

    async for parsed in aiter_batches(run, _batches(files, batching.size), batching.limit, gate):
        for one in parsed:
            yield one


class Failures:
    """The documents a load could not parse, and what ``on_error`` does about them."""

    def __init__(self, on_error: OnError) -> None:
        self.on_error = on_error
        self.failed: list[ParsedDocument] = []

    def keep(self, parsed: ParsedDocument) -> bool:
        """Whether ``parsed`` is a document to hand on; a failure is noted (and warned about) instead. A parse
        with no text is handed on, with a warning: a scan parsed without OCR reads as empty."""
        if parsed.error is None:
            if not parsed.markdown.strip() and not parsed.text.strip():
                what = parsed.name or "a document"
                warnings.warn(f"{what} has no text (a scan? options={{'ocr': True}} reads it)", stacklevel=3)
            return True
        self.failed.append(parsed)
        if self.on_error == "warn":
            warnings.warn(str(parsed.error), stacklevel=3)
        else:
            logger.info("%s", parsed.error)
        return False

    def finish(self) -> None:
        """With ``on_error="raise"``, the first failure's error, naming every document that failed."""
        if self.on_error != "raise" or not self.failed:
            return
        error = self.failed[0].error
        assert error is not None
        message = str(error)
        if len(self.failed) > 1:
            names = ", ".join(p.name or "?" for p in self.failed)
            message = f"{len(self.failed)} documents could not be parsed ({names}); the first: {message}"
        elif self.failed[0].name and self.failed[0].name not in message:  # a failed request, not a document
            message = f"{self.failed[0].name} could not be parsed: {message}"
        message += "; on_error='warn' or 'skip' keeps the others (and lists these in .failed)"
        if isinstance(error, SIEError):
            error.message = message
        error.args = (message,)
        raise error


Output = Literal["markdown", "text", "json"]


def content_of(parsed: ParsedDocument, output: Output) -> str:
    """A parse as one framework document's text: its Markdown, its plain text, or the parser's document as JSON
    (what Docling's node parsers read)."""
    if output == "json":
        return json.dumps(parsed.document, ensure_ascii=False)
    return parsed.markdown if output == "markdown" else parsed.text


def metadata_of(parsed: ParsedDocument, model: str) -> dict[str, Any]:
    """A parse's metadata: ``source`` and ``file_name`` (for a file), ``format`` (when known), ``model``, ``pages``
    (when given): strings and numbers only, as vector stores take them."""
    metadata: dict[str, Any] = {}
    if parsed.name is not None:
        metadata["source"] = parsed.name
        metadata["file_name"] = Path(parsed.name).name
    if parsed.format is not None:
        metadata["format"] = parsed.format
    metadata["model"] = model
    if parsed.pages is not None:
        metadata["pages"] = parsed.pages
    return metadata


Split = Literal["file", "section"]
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")


def sections(markdown: str) -> list[tuple[list[str], str]]:
    """Markdown cut at its headings: each section's heading path (its heading and those above it) and its text,
    heading line included; text before the first heading has an empty path, and a heading with no text of its
    own (before the next heading) is only in its children's paths. Tables stay whole, and a ``#`` line inside a
    fenced code block (closed by the same fence, as long or longer) is not a heading."""
    out: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    fence = ""
    for line in (raw.removesuffix("\r") for raw in markdown.split("\n")):
        opened = _FENCE.match(line)
        if opened and (not fence or (opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence))):
            fence = "" if fence else opened.group(1)
        heading = None if fence or opened else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        _flush(out, path, lines)
        level = len(heading.group(1))
        path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, heading.group(2))]
        lines = [line]
    _flush(out, path, lines)
    return out


def _flush(out: list[tuple[list[str], str]], path: list[tuple[int, str]], lines: list[str]) -> None:
    """A section into ``out``, unless it has no text but its heading."""
    body = lines[1:] if path and lines and _HEADING.match(lines[0]) else lines
    if any(text.strip() for text in body):
        out.append(([title for _, title in path], "\n".join(lines).strip()))


def pieces(parsed: ParsedDocument, model: str, output: Output, split: Split) -> list[tuple[str, dict[str, Any]]]:
    """What a parse becomes: one framework document (``split="file"``), or one a section of its Markdown with
    ``headings`` (the heading path, as ``"Guide > Install"``: a string, as vector stores take metadata) and
    ``section`` (its number in the file) in the metadata."""
    metadata = metadata_of(parsed, model)
    if split == "file":
        return [(content_of(parsed, output), metadata)]
    return [
        (text, {**metadata, "headings": " > ".join(headings), "section": number})
        for number, (headings, text) in enumerate(sections(parsed.markdown))
    ]


def load(
    client: SIEClient, model: str, files: Sequence[Pending], batching: Batching, failures: Failures, **args: Any
) -> Iterator[ParsedDocument]:
    """The documents parsed, in order, as they come; those that failed go to ``failures`` (raised at the end)."""
    for parsed in parse_batched(client, model, files, batching, **args):
        if failures.keep(parsed):
            yield parsed
    failures.finish()


async def aload(
    client: AsyncSIEClient,
    model: str,
    files: Sequence[Pending],
    batching: Batching,
    failures: Failures,
    gate: Gate | None = None,
    **args: Any,
) -> AsyncIterator[ParsedDocument]:
    """Async ``load``, through ``gate`` (see ``aparse_batched``)."""
    async for parsed in aparse_batched(client, model, files, batching, gate, **args):
        if failures.keep(parsed):
            yield parsed
    failures.finish()


class Parsing(ModelOptions, Concurrent):
    """What a document loader of either framework is set with: the parsing model, how files are found and read,
    what each parse becomes, and what a document the server cannot parse does."""

    model: str = "docling"
    """The parsing model (default ``"docling"``, Docling on the server)."""
    glob: str = "**/*"
    """The files of a folder to load: those matching it (default all) in a format the parser knows."""
    format: str | None = None
    """The format of every document (``"pdf"``, ``"html"``, ...); None (default): each file's suffix, else its bytes."""
    output: Output = "markdown"
    """What a document's text is: ``"markdown"`` (default, headings and tables kept), ``"text"``, or ``"json"``
    (Docling's document, for Docling's node parsers and chunkers)."""
    split: Split = "file"
    """``"file"`` (default): one document a file; ``"section"``: one a section of its Markdown, cut at its headings
    (tables kept whole), with ``headings`` (the heading path) and ``section`` in the metadata."""
    on_error: OnError = "raise"
    """A document the server cannot parse: ``"raise"`` (default) once the others are loaded, naming each that
    failed; ``"warn"``: a warning each, the rest loaded; ``"skip"``: logged only. ``failed`` lists them. With
    ``"warn"`` or ``"skip"``, a file that cannot be sent (unreadable, empty, too large) fails the same way,
    instead of raising before anything is sent."""
    max_document_bytes: int = Field(default=MAX_DOCUMENT_BYTES, gt=0)
    """The largest file sent (default 16 MiB, Docling's default on the server); raise it for a server that takes
    larger files. A larger one is refused, named: before anything is sent, or with ``on_error="warn"`` or
    ``"skip"`` as a failure of its own."""
    batch_size: BatchSize = 1
    """Documents a request (default 1: a server parses a request's documents one after another, so separate
    requests spread them over its workers)."""

    _failures: Failures = PrivateAttr(default_factory=lambda: Failures("raise"))
    _gates: LoopGates = PrivateAttr(default_factory=LoopGates)

    @model_validator(mode="after")
    def _check_split(self) -> Self:
        if self.split == "section" and self.output != "markdown":
            raise ValueError(
                f"split='section' cuts the Markdown at its headings: it needs output='markdown', not {self.output!r}"
            )
        return self

    @property
    def failed(self) -> list[ParsedDocument]:
        """The documents the last load could not parse, each with its ``error``."""
        return list(self._failures.failed)

    def _plan(self, sources: Source | Sequence[Source]) -> list[Pending]:
        """The documents to parse, each file read only when its request is sent; with ``on_error="raise"``, one
        that cannot be sent raises before anything is. A fresh failure list for this load."""
        check = self.on_error == "raise"
        files = plan(document_files(sources, self.glob), self.format, check=check, max_bytes=self.max_document_bytes)
        self._failures = Failures(self.on_error)
        return files

    def _gate(self) -> Gate:
        """This event loop's gate: async loads of this adapter started at once share ``max_concurrency``."""
        return self._gates.get(self._limit())
