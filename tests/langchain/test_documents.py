"""``SIEDocumentLoader`` on ``FakeSIE`` (an ``httpx.MockTransport``): files, folders and bytes parsed in order,
several requests in flight, failures after the rest, options sent, nothing sent for a missing file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from langchain_core.documents import Document

from sie_integrations import ServerError
from sie_integrations.langchain import SIEDocumentLoader
from tests.fakes.sie import FakeSIE, parsed


def folder(tmp_path: Path) -> Path:
    for name, text in [("a.html", "alpha"), ("b.pdf", "%PDF-1.4 broken"), ("c.md", "gamma"), ("d.csv", "x,y")]:
        (tmp_path / name).write_text(text)
    return tmp_path


def sent(server: FakeSIE) -> list[list[tuple[str | None, str]]]:
    return [
        [(i["document"]["format"], i["document"]["data"].decode()) for i in b["items"]] for b in server.sent("extract")
    ]


def test_a_folder_loads_in_order_with_metadata_and_failures_raise_after_the_rest(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    loader = SIEDocumentLoader(folder(tmp_path), batch_size=2, max_concurrency=2, **server.connection())
    loaded: list[Document] = []
    with pytest.raises(ServerError, match=r"b\.pdf could not be parsed: Document conversion failed"):
        loaded.extend(loader.lazy_load())  # each is handed on before the error
    assert [d.page_content for d in loaded] == ["# alpha", "# gamma", "# x,y"]
    assert loaded[0].metadata == {
        "source": str(tmp_path / "a.html"),
        "file_name": "a.html",
        "format": "html",
        "model": "docling",
        "pages": 1,
    }
    assert sent(server) == [[("html", "alpha"), ("pdf", "%PDF-1.4 broken")], [("md", "gamma"), ("csv", "x,y")]]
    assert [p.name for p in loader.failed] == [str(tmp_path / "b.pdf")]


async def test_warn_and_skip_load_the_rest_natively_async(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    loader = SIEDocumentLoader(folder(tmp_path), on_error="warn", output="text", **server.connection())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        documents = await loader.aload()
    assert [d.page_content for d in documents] == ["alpha", "gamma", "x,y"]
    assert len(caught) == 1 and "b.pdf could not be parsed" in str(caught[0].message)
    skipped = SIEDocumentLoader(folder(tmp_path), on_error="skip", glob="*.md", **server.connection())
    assert [d.metadata["file_name"] for d in skipped.load()] == ["c.md"]
    assert len(server.sent("extract")) == 4 + 1  # one document a request by default


def test_bytes_files_options_and_the_json_output() -> None:
    server = FakeSIE(extract=parsed)
    loader = SIEDocumentLoader(
        [b"<html><p>raw</p></html>"], options={"ocr": True}, output="json", **server.connection()
    )
    (document,) = loader.load()
    assert '"schema_name": "DoclingDocument"' in document.page_content
    assert document.metadata == {"format": "html", "model": "docling", "pages": 1}
    assert server.sent("extract")[0]["params"] == {"options": {"ocr": True}}


def test_a_missing_file_fails_before_anything_is_sent(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    (tmp_path / "here.md").write_text("x")
    with pytest.raises(FileNotFoundError):
        SIEDocumentLoader([tmp_path / "here.md", tmp_path / "gone.md"], **server.connection()).load()
    assert server.requests == []


def test_one_document_a_section(tmp_path: Path) -> None:
    server = FakeSIE(extract=lambda text: {"data": {"markdown": text, "text": text, "document": {}}})
    (tmp_path / "guide.md").write_text("# Guide\n\nintro\n\n## Install\n\nsteps")
    documents = SIEDocumentLoader(tmp_path / "guide.md", split="section", **server.connection()).load()
    assert [(d.page_content, d.metadata["headings"], d.metadata["section"]) for d in documents] == [
        ("# Guide\n\nintro", ["Guide"], 0),
        ("## Install\n\nsteps", ["Guide", "Install"], 1),
    ]
    with pytest.raises(ValueError, match="split='section'"):
        SIEDocumentLoader(tmp_path, split="section", output="text", **server.connection())
