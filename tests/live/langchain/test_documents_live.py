"""``SIEDocumentLoader`` against the real SIE peer's Docling (live), replayed from cassettes by default: HTML,
Markdown and CSV parse for real; a PDF fails on the CPU peer (no layout model) after the others are loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from sie_integrations import RequestError, ServerError
from sie_integrations.langchain import SIEDocumentLoader
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]

FILES = {
    "guide.html": "<html><body><h1>Setup</h1><p>Install the <b>server</b>.</p>"
    "<table><tr><th>port</th><th>use</th></tr><tr><td>8080</td><td>API</td></tr></table></body></html>",
    "notes.md": "# Notes\n\n## Models\n\n- docling parses documents\n- MiniLM embeds them\n",
    "prices.csv": "item,price\nGPU hour,2.5\n",
    "scan.pdf": "%PDF-1.4 not really a PDF",
}


def folder(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_folder_parses_for_real_and_the_pdf_fails_after_the_rest(sie_url: str, tmp_path: Path) -> None:
    """An empty file fails alone too, never sent (``on_error="skip"``)."""
    (folder(tmp_path) / "empty.md").write_bytes(b"")
    loader = SIEDocumentLoader(tmp_path, base_url=sie_url, api_key=LIVE_API_KEY, on_error="skip")
    documents = loader.load()
    by_name = {d.metadata["file_name"]: d for d in documents}
    assert sorted(by_name) == ["guide.html", "notes.md", "prices.csv"]
    assert "# Setup" in by_name["guide.html"].page_content
    assert "port | use" in by_name["guide.html"].page_content and "8080 | API" in by_name["guide.html"].page_content
    assert "## Models" in by_name["notes.md"].page_content
    assert "GPU hour" in by_name["prices.csv"].page_content
    assert by_name["guide.html"].metadata["format"] == "html"
    assert [(Path(p.name or "").name, type(p.error).__name__) for p in loader.failed] == [
        ("empty.md", "ValueError"),
        ("scan.pdf", "ServerError"),
    ]
    with pytest.raises(ServerError, match=r"scan\.pdf could not be parsed: Document conversion failed"):
        SIEDocumentLoader(tmp_path / "scan.pdf", base_url=sie_url, api_key=LIVE_API_KEY).load()


async def test_async_text_output_and_options_reach_the_server(sie_url: str, tmp_path: Path) -> None:
    folder(tmp_path)
    loader = SIEDocumentLoader(
        tmp_path / "notes.md", base_url=sie_url, api_key=LIVE_API_KEY, output="text", options={"profile": "default"}
    )
    (document,) = await loader.aload()
    assert "docling parses documents" in document.page_content and "#" not in document.page_content
    refused = SIEDocumentLoader(
        tmp_path / "notes.md", base_url=sie_url, api_key=LIVE_API_KEY, options={"profile": "nope"}
    )
    with pytest.raises(RequestError, match="Profile 'nope' not found"):
        refused.load()


def test_one_document_a_section_of_the_parsed_markdown(sie_url: str, tmp_path: Path) -> None:
    folder(tmp_path)
    loader = SIEDocumentLoader(tmp_path / "notes.md", base_url=sie_url, api_key=LIVE_API_KEY, split="section")
    sections = loader.load()
    assert [d.metadata["headings"] for d in sections] == ["Notes > Models"]  # "# Notes" has no text of its own
    assert "docling parses documents" in sections[0].page_content
