"""Documents in (``_adapters/documents.py``): reading paths, bytes and files, finding a folder's documents, and
what a load does with the ones the server cannot parse."""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path

import pytest

from sie_integrations import Document, ParsedDocument, ServerError, read_document
from sie_integrations._adapters.documents import (
    Failures,
    content_of,
    document_files,
    metadata_of,
    pieces,
    plan,
    sections,
)
from sie_integrations._core.files import BatchParse, Pending


def test_paths_bytes_and_files_are_read_with_their_format(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>hi</p>")
    assert read_document(page) == Document(b"<p>hi</p>", "html", str(page))
    assert read_document(str(page), format="md").format == "md"  # the caller's format wins
    assert read_document(b"%PDF-1.4") == Document(b"%PDF-1.4", "pdf", None)
    with page.open("rb") as handle:
        assert read_document(handle).name == str(page)
    assert read_document(io.BytesIO(b"x")).format == "md"  # UTF-8 text
    assert read_document(io.BytesIO(b"\xff\xfe\x00")).format is None
    with pytest.raises(TypeError, match="binary mode"), page.open("r") as text:
        read_document(text)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        read_document(tmp_path / "missing.pdf")
    with pytest.raises(ValueError, match="is empty"):
        read_document(b"")


def test_a_folders_documents_are_found_sorted_hidden_and_unknown_ones_left_out(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("z.md", "b/a.docx", "notes.bin", ".hidden.md", ".git/x.md", "b/c.PDF"):
        (tmp_path / name).write_bytes(b"x")
    found = document_files(tmp_path)
    assert [Path(p).relative_to(tmp_path).as_posix() for p in found] == ["b/a.docx", "b/c.PDF", "z.md"]
    assert document_files([tmp_path], glob="*.md") == [tmp_path / "z.md"]
    assert document_files([b"raw", tmp_path / "notes.bin"]) == [b"raw", tmp_path / "notes.bin"]  # given: kept
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        document_files(tmp_path / "nope")


def failed(name: str) -> ParsedDocument:
    error = ServerError(f"{name} could not be parsed: Document conversion failed", code="INFERENCE_ERROR")
    return ParsedDocument(name, "pdf", error=error)


def test_failures_raise_after_the_rest_naming_each() -> None:
    failures = Failures("raise")
    assert failures.keep(ParsedDocument("a.html", "html", "# A"))
    assert not failures.keep(failed("b.pdf")) and not failures.keep(failed("c.pdf"))
    with pytest.raises(ServerError, match=r"2 documents could not be parsed \(b\.pdf, c\.pdf\)"):
        failures.finish()


def test_failures_warn_or_are_skipped() -> None:
    warned = Failures("warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warned.keep(failed("b.pdf"))
    assert [str(w.message) for w in caught] == [
        "b.pdf could not be parsed: Document conversion failed (code=INFERENCE_ERROR)"
    ]
    warned.finish()
    skipped = Failures("skip")
    skipped.keep(failed("b.pdf"))
    skipped.finish()
    assert [p.name for p in skipped.failed] == ["b.pdf"]


def test_content_and_metadata_of_a_parse() -> None:
    parse = ParsedDocument("/data/a.pdf", "pdf", "# A", "A", {"pages": {"1": {}}})
    assert [content_of(parse, output) for output in ("markdown", "text")] == ["# A", "A"]
    assert content_of(parse, "json") == '{"pages": {"1": {}}}'
    assert metadata_of(parse, "docling") == {
        "source": "/data/a.pdf",
        "file_name": "a.pdf",
        "format": "pdf",
        "model": "docling",
        "pages": 1,
    }
    assert metadata_of(ParsedDocument(None, None), "docling") == {"model": "docling"}  # no None: stores refuse it


MARKDOWN = """Intro before any heading.

# Guide

Read this first.

## Install

| step | command |
|------|---------|
| 1 | pip install x |

```bash
# not a heading
```

### Check

Run it.

## Use

Call it.

# Appendix
"""


def test_markdown_is_cut_at_its_headings_with_each_sections_heading_path() -> None:
    cut = sections(MARKDOWN)
    assert [headings for headings, _ in cut] == [
        [],
        ["Guide"],
        ["Guide", "Install"],
        ["Guide", "Install", "Check"],
        ["Guide", "Use"],
    ]  # "# Appendix" has no text of its own
    install = cut[2][1]
    assert install.startswith("## Install") and "| 1 | pip install x |" in install and "# not a heading" in install
    assert cut[0][1] == "Intro before any heading."


def test_section_pieces_carry_the_file_metadata_and_their_place() -> None:
    parse = ParsedDocument("a.md", "md", markdown="# A\n\nx\n\n## B\n\ny")
    assert pieces(parse, "docling", "markdown", "section") == [
        (
            "# A\n\nx",
            {
                "source": "a.md",
                "file_name": "a.md",
                "format": "md",
                "model": "docling",
                "headings": "A",
                "section": 0,
            },
        ),
        (
            "## B\n\ny",
            {
                "source": "a.md",
                "file_name": "a.md",
                "format": "md",
                "model": "docling",
                "headings": "A > B",
                "section": 1,
            },
        ),
    ]
    assert pieces(parse, "docling", "markdown", "file")[0][0] == parse.markdown


def test_a_folder_inside_a_hidden_one_is_read(tmp_path: Path) -> None:
    inside = tmp_path / ".cache" / "docs"
    inside.mkdir(parents=True)
    (inside / "a.md").write_bytes(b"x")
    assert document_files(inside) == [inside / "a.md"]


def test_the_section_cut_follows_commonmark_fences_and_closing_hashes() -> None:
    markdown = "# C#\n\ntext\n\n````\n~~~\n# inside the code\n````\n\n## Next ##\r\n\r\nmore\r\n"
    cut = sections(markdown)
    assert [headings for headings, _ in cut] == [["C#"], ["C#", "Next"]]
    assert "# inside the code" in cut[0][1]
    assert cut[1][1] == "## Next ##\n\nmore"


def test_a_parse_with_no_text_is_handed_on_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Failures("raise").keep(ParsedDocument("scan.png", None))
    assert ["scan.png has no text" in str(w.message) for w in caught] == [True]


def test_a_file_over_the_limit_is_refused_by_its_size_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 4096)

    def never(path: Path) -> bytes:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(Path, "read_bytes", never)
    (failed,) = BatchParse([Pending(big, 0, max_bytes=1024)]).answered([])
    assert str(failed.error) == f"{big} is 4 KiB, over the server's limit of 1 KiB"


def test_a_kept_failure_holds_no_frames(tmp_path: Path) -> None:
    """A failure in ``failed`` keeps no traceback (its causes neither): their frames held the request's documents."""
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 4096)
    (failed,) = BatchParse([Pending(Document(big.read_bytes(), "md", str(big)), 0, max_bytes=1024)]).answered([])
    assert isinstance(failed.error, ValueError) and failed.error.__traceback__ is None
    crashed = ServerError("crashed", status_code=500)
    try:
        try:
            raise OSError("lost")
        except OSError as cause:
            raise crashed from cause
    except ServerError:
        refused = BatchParse([Pending(Document(b"# a", "md", "a.md"), 3)]).refused(crashed)
    assert refused[0].error is crashed and crashed.__traceback__ is None
    assert crashed.__cause__ is not None and crashed.__cause__.__traceback__ is None


def test_a_pipe_is_read_whatever_its_size_says(tmp_path: Path) -> None:
    """A named pipe (or ``/dev/stdin``) tells no size: it is read, then checked."""
    fifo = tmp_path / "notes.md"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"# from a pipe"))
    writer.start()
    (pending,) = plan([fifo])
    assert pending.size == 0 and pending.read().data == b"# from a pipe"
    writer.join()


def test_a_file_given_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# a")
    (tmp_path / "b.md").write_text("# b")
    found = document_files([tmp_path / "b.md", tmp_path, str(tmp_path / "a.md")])
    assert found == [tmp_path / "b.md", tmp_path / "a.md"]
