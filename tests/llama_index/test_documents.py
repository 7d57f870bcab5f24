"""``SIEDocumentReader`` on ``FakeSIE`` (an ``httpx.MockTransport``): ``load_data``, ``aload_data``,
``lazy_load_data``, and as a ``SimpleDirectoryReader`` file extractor for any extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llama_index.core import SimpleDirectoryReader

from sie_integrations import ServerError
from sie_integrations.llama_index import SIEDocumentReader
from tests.fakes.sie import FakeSIE, parsed


def folder(tmp_path: Path) -> Path:
    for name, text in [("a.html", "alpha"), ("b.pdf", "%PDF-1.4 broken"), ("c.md", "gamma")]:
        (tmp_path / name).write_text(text)
    return tmp_path


def test_load_data_and_its_lazy_and_async_twins(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    reader = SIEDocumentReader(on_error="skip", model_name="docling", **server.connection())
    documents = reader.load_data(folder(tmp_path), extra_info={"team": "docs"})
    assert [(d.text, d.metadata["file_name"], d.metadata["team"]) for d in documents] == [
        ("# alpha", "a.html", "docs"),
        ("# gamma", "c.md", "docs"),
    ]
    assert [d.text for d in reader.lazy_load_data(tmp_path / "c.md")] == ["# gamma"]
    with pytest.raises(ServerError, match="could not be parsed"):
        SIEDocumentReader(**server.connection()).load_data(tmp_path / "b.pdf")


async def test_aload_data_is_native_async(tmp_path: Path) -> None:
    sync, native = FakeSIE(extract=parsed), FakeSIE(extract=parsed)
    reader = SIEDocumentReader(
        base_url="https://sie.test", http_client=sync.client(), http_async_client=native.async_client()
    )
    documents = await reader.aload_data([folder(tmp_path) / "a.html", folder(tmp_path) / "c.md"])
    assert [d.text for d in documents] == ["# alpha", "# gamma"]
    assert sync.requests == [] and len(native.sent("extract")) == 2


async def test_aload_data_reads_each_file_when_its_request_is_sent_and_skips_an_empty_one(tmp_path: Path) -> None:
    """The parse of ``a.html`` rewrites ``c.md``, which is parsed as it is after that; an empty file fails alone."""
    docs = folder(tmp_path)
    (docs / "empty.md").write_bytes(b"")

    def rewriting(text: str) -> dict[str, Any]:
        if text == "alpha":
            (docs / "c.md").write_text("gamma, rewritten")
        return parsed(text)

    server = FakeSIE(extract=rewriting)
    reader = SIEDocumentReader(on_error="skip", max_concurrency=1, **server.connection())
    documents = await reader.aload_data(docs)
    assert [d.text for d in documents] == ["# alpha", "# gamma, rewritten"]
    assert [(Path(p.name or "").name, type(p.error).__name__) for p in reader.failed] == [
        ("b.pdf", "ServerError"),
        ("empty.md", "ValueError"),
    ]


def test_a_simple_directory_reader_file_extractor_for_any_extension(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    reader = SIEDocumentReader(on_error="skip", **server.connection())
    extractor = {".html": reader, ".pdf": reader, ".md": reader}
    documents = SimpleDirectoryReader(str(folder(tmp_path)), file_extractor=extractor).load_data()
    by_name = {d.metadata["file_name"]: d for d in documents}
    assert sorted(by_name) == ["a.html", "c.md"]
    assert by_name["a.html"].text == "# alpha"
    assert by_name["a.html"].metadata["format"] == "html"
    assert "file_path" in by_name["a.html"].metadata  # SimpleDirectoryReader's own metadata, merged


def test_one_document_a_section(tmp_path: Path) -> None:
    server = FakeSIE(extract=lambda text: {"data": {"markdown": text, "text": text, "document": {}}})
    (tmp_path / "guide.md").write_text("# Guide\n\nintro\n\n## Install\n\nsteps")
    documents = SIEDocumentReader(split="section", **server.connection()).load_data(tmp_path / "guide.md")
    assert [(d.text, d.metadata["headings"]) for d in documents] == [
        ("# Guide\n\nintro", "Guide"),
        ("## Install\n\nsteps", "Guide > Install"),
    ]


async def test_alazy_load_data_is_awaited_as_base_reader_has_it(tmp_path: Path) -> None:
    server = FakeSIE(extract=parsed)
    reader = SIEDocumentReader(base_url="https://sie.test", http_async_client=server.async_client())
    documents = await reader.alazy_load_data(folder(tmp_path) / "c.md")
    assert [d.text for d in documents] == ["# gamma"]
    assert documents[0].id_ == str(tmp_path / "c.md")
    assert "source" in documents[0].excluded_embed_metadata_keys


def test_a_file_on_another_file_system(tmp_path: Path) -> None:
    """``SimpleDirectoryReader(fs=...)`` passes its fsspec file system: the file is read through it."""
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    fs.pipe("/bucket/notes.md", b"remote")
    server = FakeSIE(extract=parsed)
    (document,) = SIEDocumentReader(**server.connection()).load_data("/bucket/notes.md", fs=fs)
    assert (document.text, document.metadata["file_name"]) == ("# remote", "notes.md")


async def test_loads_started_at_once_stay_under_max_concurrency_together(tmp_path: Path) -> None:
    """``SimpleDirectoryReader.aload_data`` calls the reader once a file, all at once: 12 files with
    ``max_concurrency=2`` sent 12 requests at once before; they share the adapter's limit."""
    for n in range(12):
        (tmp_path / f"n{n:02d}.md").write_text(f"note {n}")
    server = FakeSIE(extract=parsed, delay=0.02)
    reader = SIEDocumentReader(max_concurrency=2, base_url="https://sie.test", http_async_client=server.async_client())
    extractor = {".md": reader}
    documents = await SimpleDirectoryReader(str(tmp_path), file_extractor=extractor).aload_data()
    assert sorted(d.text for d in documents) == sorted(f"# note {n}" for n in range(12))
    assert server.max_in_flight == 2
