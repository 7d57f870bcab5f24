"""``SIEDocumentLoader`` on ``FakeSIE`` (an ``httpx.MockTransport``): files, folders and bytes parsed in order,
several requests in flight, failures after the rest, options sent, nothing sent for a missing file."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from langchain_core.documents import Document

from sie_integrations import ModelNotFoundError, ServerError
from sie_integrations.langchain import SIEDocumentLoader
from tests.fakes.scripted import MockServer
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
    assert sorted(sent(server)) == [[("html", "alpha"), ("pdf", "%PDF-1.4 broken")], [("md", "gamma"), ("csv", "x,y")]]
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
    assert document.id is None  # bytes have no source to name them by
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
        ("# Guide\n\nintro", "Guide", 0),
        ("## Install\n\nsteps", "Guide > Install", 1),
    ]
    with pytest.raises(ValueError, match="split='section'"):
        SIEDocumentLoader(tmp_path, split="section", output="text", **server.connection())


def test_a_pdf_parsed_on_a_gpu_server_gives_its_pages(tmp_path: Path) -> None:
    """The CPU peer cannot parse PDFs (no layout model): a MockTransport answers as a GPU server's Docling does,
    in the shape of the peer's answers (``data = {text, markdown, document}``, pages keyed by number)."""
    pages = {str(n): {"size": {"width": 612.0, "height": 792.0}, "page_no": n} for n in (1, 2, 3)}
    document = {"schema_name": "DoclingDocument", "version": "1.10.0", "name": "report", "pages": pages}
    data = {"text": "Quarterly report", "markdown": "# Quarterly report", "document": document}
    item = {"id": "item-0", "entities": [], "relations": [], "classifications": [], "objects": [], "data": data}
    server = MockServer().msgpack(200, {"model": "docling", "items": [item]})
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7 three pages")
    (loaded,) = SIEDocumentLoader(tmp_path / "report.pdf", options={"ocr": True}, **server.connection()).load()
    assert loaded.page_content == "# Quarterly report"
    assert (loaded.metadata["format"], loaded.metadata["pages"]) == ("pdf", 3)
    sent = msgpack.unpackb(server.requests[0].content)
    assert sent["items"] == [{"document": {"data": b"%PDF-1.7 three pages", "format": "pdf"}}]
    assert sent["params"] == {"options": {"ocr": True}}


def test_one_file_object_is_one_document(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    (tmp_path / "a.md").write_text("line one\nline two\nline three\n")
    with (tmp_path / "a.md").open("rb") as handle:
        documents = SIEDocumentLoader(handle, **server.connection()).load()
    assert [d.page_content for d in documents] == ["# line one\nline two\nline three\n"]
    assert documents[0].id == str(tmp_path / "a.md")  # named by its source: re-indexing replaces it


def test_a_request_that_fails_fails_its_documents_only_and_a_fatal_one_stops(tmp_path: Path) -> None:
    """A 500 after the retries fails the documents of that request; an unknown model stops the load."""
    crash = httpx.Response(500, json={"detail": {"code": "INTERNAL_ERROR", "message": "worker crashed"}})

    def crash_on_gamma(route: str, n: int, body: Any) -> httpx.Response | None:
        return crash if route == "extract" and body["items"][0]["document"]["data"] == b"gamma" else None

    server = FakeSIE(extract=parsed, refuse=crash_on_gamma)
    loader = SIEDocumentLoader(folder(tmp_path), on_error="skip", max_retries=0, **server.connection())
    assert [d.metadata["file_name"] for d in loader.load()] == ["a.html", "d.csv"]
    failed = {Path(f.name or "").name: f.error for f in loader.failed}
    assert sorted(failed) == ["b.pdf", "c.md"]
    assert isinstance(failed["c.md"], ServerError) and "worker crashed" in str(failed["c.md"])
    unknown = httpx.Response(404, json={"detail": {"code": "MODEL_NOT_FOUND", "message": "no such model"}})
    gone = FakeSIE(refuse=lambda route, n, body: unknown)
    with pytest.raises(ModelNotFoundError):
        SIEDocumentLoader(folder(tmp_path), on_error="skip", **gone.connection()).load()


def test_each_file_is_read_only_when_its_request_is_sent(tmp_path: Path) -> None:
    """A folder is not held in memory: the parse of ``a.html`` rewrites ``c.md``, and ``c.md`` is parsed as it is
    after that (one request at a time), so it was read only when its request went out."""
    docs = folder(tmp_path)

    def rewriting(text: str) -> dict[str, Any]:
        if text == "alpha":
            (docs / "c.md").write_text("gamma, rewritten")
        return parsed(text)

    server = FakeSIE(extract=rewriting)
    loader = SIEDocumentLoader(docs, on_error="skip", max_concurrency=1, **server.connection())
    assert [d.page_content for d in loader.lazy_load()] == ["# alpha", "# gamma, rewritten", "# x,y"]


@pytest.mark.parametrize("on_error", ["warn", "skip"])
def test_an_empty_or_too_large_file_in_a_folder_fails_alone_with_warn_or_skip(tmp_path: Path, on_error: str) -> None:
    docs = folder(tmp_path)
    (docs / "empty.md").write_bytes(b"")
    (docs / "huge.html").write_bytes(b"<html>" + b" " * (16 * 1024 * 1024))
    server = FakeSIE(extract=parsed)
    loader = SIEDocumentLoader(docs, on_error=on_error, **server.connection())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = loader.load()
    assert [d.metadata["file_name"] for d in loaded] == ["a.html", "c.md", "d.csv"]
    assert {Path(p.name or "").name: str(p.error) for p in loader.failed} == {
        "b.pdf": f"{docs / 'b.pdf'} could not be parsed: Document conversion failed (code=INFERENCE_ERROR)",
        "empty.md": f"{docs / 'empty.md'} is empty",
        "huge.html": f"{docs / 'huge.html'} is 16,777,222 bytes, over the server's limit of 16,777,216 bytes (16 MiB)",
    }
    assert len(caught) == (3 if on_error == "warn" else 0)
    assert sorted(len(b["items"]) for b in server.sent("extract")) == [1, 1, 1, 1]  # the two never sent


def test_an_empty_or_too_large_file_raises_before_anything_is_sent(tmp_path: Path) -> None:
    docs = folder(tmp_path)
    (docs / "huge.html").write_bytes(b"<html>" + b" " * (16 * 1024 * 1024))
    server = FakeSIE(extract=parsed)
    with pytest.raises(
        ValueError, match=r"huge\.html is 16,777,222 bytes, over the server's limit of 16,777,216 bytes \(16 MiB\)"
    ):
        SIEDocumentLoader(docs, **server.connection()).load()
    assert server.sent("extract") == []
    larger = SIEDocumentLoader(docs, on_error="skip", max_document_bytes=32 * 2**20, **server.connection())
    assert [d.metadata["file_name"] for d in larger.load()] == ["a.html", "c.md", "d.csv", "huge.html"]
    with pytest.raises(ValueError, match=r"a\.html is 5 bytes, over the server's limit of 3 bytes"):
        SIEDocumentLoader(docs, max_document_bytes=3, **server.connection()).load()


def test_a_file_gone_before_its_turn_fails_after_the_rest(tmp_path: Path) -> None:
    docs = folder(tmp_path)

    def removing(text: str) -> dict[str, Any]:
        if text == "alpha":
            (docs / "c.md").unlink()
        return parsed(text)

    server = FakeSIE(extract=removing)
    loader = SIEDocumentLoader(docs, glob="*[!f]", max_concurrency=1, **server.connection())
    loaded: list[Document] = []
    with pytest.raises(FileNotFoundError, match=r"c\.md could not be read: No such file or directory; on_error="):
        loaded.extend(loader.lazy_load())
    assert [d.page_content for d in loaded] == ["# alpha", "# x,y"]


def test_leaving_lazy_load_early_does_not_wait_for_the_requests_in_flight(tmp_path: Path) -> None:
    """The second request is held until the test lets it go; closing the loader's iterator after the first
    document returns while it is still held (it used to wait for it)."""
    docs = folder(tmp_path)
    release, arrived, finished = threading.Event(), threading.Event(), threading.Event()

    def held(text: str) -> dict[str, Any]:
        if text != "alpha":
            arrived.set()
            release.wait(30)
            finished.set()
        return parsed(text)

    server = FakeSIE(extract=held)
    loader = SIEDocumentLoader(docs, glob="*[!f]", max_concurrency=2, **server.connection())
    documents = loader.lazy_load()
    assert next(documents).page_content == "# alpha"
    assert arrived.wait(30)  # the next request is in flight
    documents.close()
    assert not finished.is_set()  # closed while the request in flight is still held
    release.set()
    assert finished.wait(30)
