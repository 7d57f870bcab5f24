"""Documents to parse (``_core/documents.py``): their format, the size limit, and answers read as parses."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from sie_integrations import Document, ServerError
from sie_integrations._core.documents import MAX_DOCUMENT_BYTES, check_document, format_of, parse_answer
from sie_integrations._core.endpoints import Endpoints


def office(entry: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("report.PDF", b"anything", "pdf"),
        ("notes.markdown", b"# x", "md"),
        ("page.htm", b"<p>", "html"),
        (None, b"%PDF-1.7 ...", "pdf"),
        (None, office("word/document.xml"), "docx"),
        (None, office("ppt/presentation.xml"), "pptx"),
        (None, office("xl/workbook.xml"), "xlsx"),
        (None, b"  <!DOCTYPE html><html>", "html"),
        (None, b"PK\x03\x04 not a zip", None),
        (None, b"\xef\xbb\xbf<html><body>", "html"),
        (None, b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "html"),
        ("data.bin", b"plain words", "md"),  # UTF-8 text: Markdown without markup
        ("notes.txt", b"# Title", "md"),
        (None, b"\xff\xfe\x00binary", None),  # the server tells
    ],
)
def test_the_format_comes_from_the_suffix_else_the_bytes(name: str | None, data: bytes, expected: str | None) -> None:
    assert format_of(name, data) == expected


def test_an_empty_or_too_large_document_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"big\.pdf is 16,777,217 bytes, over the server's limit of 16,777,216 bytes \(16 MiB\)"
    ):
        check_document(Document(b"x" * (MAX_DOCUMENT_BYTES + 1), "pdf", "big.pdf"))
    with pytest.raises(ValueError, match=r"empty\.html is empty"):
        check_document(Document(b"", None, "empty.html"))
    check_document(Document(b"x" * MAX_DOCUMENT_BYTES))


def test_a_server_that_takes_larger_files_gets_them_when_told() -> None:
    """``max_bytes`` is the one limit: the client sends what the server takes, and refuses above it."""
    endpoints = Endpoints("msgpack")
    big = Document(b"x" * (MAX_DOCUMENT_BYTES + 1), "md", "big.md")
    with pytest.raises(
        ValueError, match=r"big\.md is 16,777,217 bytes, over the server's limit of 16,777,216 bytes \(16 MiB\)"
    ):
        endpoints.parse("docling", [big])
    assert endpoints.parse("docling", [big], max_bytes=32 * 2**20).path == "/v1/extract/docling"
    with pytest.raises(ValueError, match=r"small\.md is 2 KiB, over the server's limit of 1 KiB"):
        endpoints.parse("docling", [Document(b"x" * 2048, "md", "small.md")], max_bytes=1024)


def test_an_answer_keeps_each_parse_and_each_failure_in_order() -> None:
    body = {
        "model": "docling",
        "items": [
            {"id": "item-0", "data": {"markdown": "# A", "text": "A", "document": {"pages": {"1": {}, "2": {}}}}},
            {"id": "item-1", "error": {"code": "INFERENCE_ERROR", "message": "Document conversion failed"}},
        ],
    }
    documents = [Document(b"a", "html", "a.html"), Document(b"b", "pdf", "b.pdf")]
    first, second = parse_answer(json.dumps(body).encode(), "application/json", documents)
    assert (first.name, first.format, first.markdown, first.text, first.pages, first.error) == (
        "a.html",
        "html",
        "# A",
        "A",
        2,
        None,
    )
    assert isinstance(second.error, ServerError)
    assert second.error.code == "INFERENCE_ERROR"
    assert str(second.error).startswith("b.pdf could not be parsed: Document conversion failed")
    assert (second.markdown, second.pages) == ("", None)
