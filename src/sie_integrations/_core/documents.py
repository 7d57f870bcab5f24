"""Documents to parse: their format, the server's size limit, and ``/v1/extract`` answers read as parses."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from ..errors import (
    AccountStateUnavailableError,
    ModelLoadFailedError,
    RequestError,
    ServerError,
    SIEError,
    SIETimeoutError,
)
from ..types import Document, Item, ParsedDocument
from .answers import count_check, decode_object, malformed
from .call import Call, WireFormat, check_finite, model_path, native_post
from .extract import item_error
from .items import items_wire

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""The largest document a server parses by default (Docling's ``max_file_size_bytes``)."""

FORMATS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".csv": "csv",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
}
"""A file's suffix, and the format it is sent as: the document formats Docling reads."""

_OFFICE = {"word/": "docx", "ppt/": "pptx", "xl/": "xlsx"}


def sniffed_format(data: bytes) -> str | None:
    """The format of a file's bytes, where they tell: PDF, the Office formats (by their zip entries), HTML and
    XHTML; other UTF-8 text is read as Markdown (plain text is Markdown without markup)."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        return next((fmt for prefix, fmt in _OFFICE.items() if any(n.startswith(prefix) for n in names)), None)
    head = data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or (head.startswith(b"<?xml") and b"<html" in head):
        return "html"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if head.startswith(b"<") else "md"


def format_of(name: str | None, data: bytes) -> str | None:
    """The format to send a document as: from its name's suffix, else from its bytes, else None (the server's
    guess)."""
    suffix = PurePath(name).suffix.lower() if name else ""
    return FORMATS.get(suffix) or sniffed_format(data)


def check_size(what: str, size: int, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
    """A ``ValueError`` naming ``what`` when ``size`` bytes are none or more than the server takes."""
    if not size:
        raise ValueError(f"{what} is empty")
    if size > max_bytes:
        given, limit = _size(size), _size(max_bytes)
        if given == limit:  # rounding hides the difference
            given, limit = f"{size:,} bytes", f"{max_bytes:,} bytes ({limit})"
        raise ValueError(f"{what} is {given}, over the server's limit of {limit}")


def _size(count: int) -> str:
    """``count`` bytes to a tenth of the largest unit they fill: ``"16 MiB"``, ``"2.5 KiB"``, ``"12 bytes"``."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


def check_document(document: Document, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
    """A ``ValueError`` naming the document when it is empty or larger than the server takes."""
    what = document.name or "a document"
    if not isinstance(document.data, bytes):
        raise TypeError(f"{what}: Document.data must be bytes, not {type(document.data).__name__}")
    check_size(what, len(document.data), max_bytes)


def parse_call(
    model: str,
    documents: Sequence[Document],
    *,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Call[list[ParsedDocument]]:
    for document in documents:
        if not isinstance(document, Document):
            raise TypeError(f"documents must be Document objects, not {type(document).__name__}")
        check_document(document, max_bytes)
    body: dict[str, Any] = {"items": items_wire([Item(document=d) for d in documents], wire)}
    if options:
        check_finite(dict(options), "options")
        body["params"] = {"options": dict(options)}
    path = f"/v1/extract/{model_path(model)}"
    return native_post(path, body, wire, lambda raw, ctype: parse_answer(raw, ctype, documents))


def parse_answer(content: bytes, content_type: str | None, documents: Sequence[Document]) -> list[ParsedDocument]:
    """One ``ParsedDocument`` per document, in order; a document the server could not parse carries its error."""
    body = decode_object(content, content_type, "extract")
    parsed = []
    for position, raw in enumerate(count_check("extract", body.get("items"), len(documents))):
        if not isinstance(raw, Mapping):
            raise malformed("extract", "an item is not an object")
        document = documents[position]
        if raw.get("error") is not None:
            error = item_error(raw["error"], position, str(raw.get("id") or f"item-{position}"))
            reason = raw["error"].get("message") if isinstance(raw["error"], Mapping) else None
            error.message = f"{document.name or f'document {position}'} could not be parsed: {reason or error.message}"
            error.args = (error.message,)
            parsed.append(ParsedDocument(document.name, document.format, error=error))
            continue
        data = raw.get("data")
        data = data if isinstance(data, Mapping) else {}
        markdown, text, doc = data.get("markdown", ""), data.get("text", ""), data.get("document", {})
        if not isinstance(markdown, str) or not isinstance(text, str) or not isinstance(doc, Mapping):
            raise malformed("extract", "a parse's markdown, text or document has the wrong type")
        parsed.append(ParsedDocument(document.name, document.format, markdown, text, dict(doc)))
    return parsed


def fails_every_request(error: SIEError) -> bool:
    """Whether ``error`` is one every request would meet (nothing answers, an unknown model or one that cannot
    parse, a refused key or account, bad options, a model that does not load, an account the gateway cannot
    read), so a load stops; a timeout, a 5xx, 408, 413
    or 429 after the retries fails the documents of its request only."""
    if isinstance(error, RequestError):
        return error.status_code not in (408, 413, 429)
    if isinstance(error, SIETimeoutError):
        return False
    if isinstance(error, ServerError):
        return isinstance(error, ModelLoadFailedError | AccountStateUnavailableError)
    return True
