"""``SIEDocumentReader`` against the real SIE peer's Docling (live), replayed from cassettes by default: as a
reader, and as a ``SimpleDirectoryReader`` file extractor feeding a node parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import MarkdownNodeParser

from sie_integrations.llama_index import SIEDocumentReader
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]

FILES = {
    "guide.html": "<html><body><h1>Setup</h1><p>Install the server.</p><h2>Ports</h2><p>8080 serves the API.</p>"
    "</body></html>",
    "notes.md": "# Notes\n\n## Models\n\n- docling parses documents\n",
    "scan.pdf": "%PDF-1.4 not really a PDF",
}


def folder(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


async def test_the_reader_loads_sync_and_async(sie_url: str, tmp_path: Path) -> None:
    reader = SIEDocumentReader(base_url=sie_url, api_key=LIVE_API_KEY, on_error="skip")
    documents = reader.load_data(folder(tmp_path))
    assert [d.metadata["file_name"] for d in documents] == ["guide.html", "notes.md"]
    assert [Path(p.name or "").name for p in reader.failed] == ["scan.pdf"]
    again = await reader.aload_data([tmp_path / "guide.html"])
    assert again[0].text == documents[0].text and "# Setup" in again[0].text


def test_a_directory_reader_extractor_into_markdown_nodes(sie_url: str, tmp_path: Path) -> None:
    reader = SIEDocumentReader(base_url=sie_url, api_key=LIVE_API_KEY, on_error="skip")
    extractor = {".html": reader, ".md": reader, ".pdf": reader}
    documents = SimpleDirectoryReader(str(folder(tmp_path)), file_extractor=extractor).load_data()
    nodes = MarkdownNodeParser().get_nodes_from_documents(documents)
    headers = {node.metadata.get("header_path") for node in nodes}
    assert any("Setup" in (h or "") for h in headers)
    assert any("8080 serves the API" in node.get_content() for node in nodes)


def test_doclings_own_node_parser_reads_the_json_output(sie_url: str, tmp_path: Path) -> None:
    """``output="json"`` is Docling's document, as ``DoclingReader(export_type=JSON)`` gives it: the text
    ``DoclingNodeParser`` (llama-index-node-parser-docling) cuts along the document's own structure."""
    from llama_index.node_parser.docling import DoclingNodeParser

    folder(tmp_path)
    reader = SIEDocumentReader(base_url=sie_url, api_key=LIVE_API_KEY, output="json")
    nodes = DoclingNodeParser().get_nodes_from_documents(reader.load_data(tmp_path / "guide.html"))
    texts = [node.get_content() for node in nodes]
    assert any("Install the server." in text for text in texts), texts
    assert any("8080 serves the API" in text for text in texts), texts
    assert all(node.metadata["file_name"] == "guide.html" for node in nodes)
    assert any("Ports" in (node.metadata.get("headings") or []) for node in nodes)  # DoclingNodeParser's own
