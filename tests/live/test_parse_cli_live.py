"""``sie-integrations parse`` against the real Docling of the SIE peer (live), replayed from cassettes by default:
HTML, Markdown and CSV parse for real; a PDF fails on the CPU peer (no layout model), which is named at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sie_integrations.cli import main
from tests.support.live import LIVE_API_KEY

pytestmark = [pytest.mark.live, pytest.mark.vcr]

REPORT = """<!doctype html>
<html><body>
<h1>Quarterly report</h1>
<p>Sales grew in every region.</p>
<table>
<tr><th>region</th><th>sales</th></tr>
<tr><td>north</td><td>120</td></tr>
<tr><td>south</td><td>95</td></tr>
</table>
</body></html>
"""


@pytest.fixture(autouse=True)
def _no_sie_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIE_BASE_URL", raising=False)
    monkeypatch.delenv("SIE_API_KEY", raising=False)


def documents(root: Path) -> Path:
    """A folder with an HTML report, Markdown notes in a sub-folder, a CSV, and a fake PDF; all a minute old, so
    the outputs written now are newer."""
    docs = root / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "report.html").write_text(REPORT, encoding="utf-8")
    (docs / "notes" / "todo.md").write_text("# To do\n\n- parse the reports\n- index them\n", encoding="utf-8")
    (docs / "sales.csv").write_text("region,sales\nnorth,120\nsouth,95\n", encoding="utf-8")
    (docs / "scan.pdf").write_bytes(b"%PDF-1.4\n% not a real PDF\n%%EOF\n")
    for path in docs.rglob("*"):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60 * 10**9))
    return docs


def parse(args: list[str], sie_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["parse", *args, "--base-url", sie_url, "--api-key", LIVE_API_KEY])
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_a_folder_with_docling(tmp_path: Path, sie_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file parsed into DIR under its path in the folder, Docling's JSON beside it; the PDF the server cannot
    convert is named with its reason after the others are written (exit 1), and a rerun sends only it."""
    docs, out = documents(tmp_path), tmp_path / "out"
    code, stdout, err = parse([str(docs), "-o", str(out), "--json", "--concurrency", "2"], sie_url, capsys)
    assert code == 1
    assert stdout.startswith("parsed 3 of 4 files in ")
    assert err.splitlines() == [
        "sie-integrations parse: 1 file could not be parsed:",
        f"  {docs / 'scan.pdf'} could not be parsed: Document conversion failed (code=INFERENCE_ERROR)",
    ]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        ".sie-integrations-parse.jsonl",  # what made each output: a rerun with other options parses again
        "notes/todo.json",
        "notes/todo.md",
        "report.json",
        "report.md",
        "sales.json",
        "sales.md",
    ]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Quarterly report\n")
    assert "Sales grew in every region." in report
    assert "| region   |   sales |" in report
    assert "| north    |     120 |" in report
    assert "| north    |     120 |" in (out / "sales.md").read_text(encoding="utf-8")
    assert "- parse the reports" in (out / "notes" / "todo.md").read_text(encoding="utf-8")
    document = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert document["schema_name"] == "DoclingDocument"
    assert any(t.get("text") == "Quarterly report" for t in document["texts"])
    assert len(document["tables"]) == 1

    code, stdout, err = parse([str(docs), "-o", str(out), "--json"], sie_url, capsys)
    assert code == 1
    assert stdout.startswith("parsed 0 of 1 file (3 skipped as already done) in ")
    assert err.splitlines()[0] == f"skipping 3 of 4 files, already parsed in {out}"
    assert "scan.pdf could not be parsed: Document conversion failed" in err


def test_parse_sends_model_options_and_batches(
    tmp_path: Path, sie_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two files given directly, in one request, with model options: the server takes them, both are written."""
    docs = documents(tmp_path)
    out = tmp_path / "out"
    args = [str(docs / "report.html"), str(docs / "sales.csv"), "-o", str(out), "--options", '{"ocr": true}']
    code, stdout, err = parse([*args, "--batch-size", "2"], sie_url, capsys)
    assert (code, err) == (0, "")
    assert stdout.startswith("parsed 2 files in ")
    assert sorted(p.name for p in out.iterdir()) == [".sie-integrations-parse.jsonl", "report.md", "sales.md"]
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Quarterly report\n")

    code, stdout, err = parse([*args, "--batch-size", "2"], sie_url, capsys)
    assert (code, stdout) == (
        0,
        f"nothing to do: all 2 files are already parsed in {out} (each output is newer than "
        "its file and made with this --model and --options; --overwrite parses them again)\n",
    )
    other = [*args[:-1], '{"profile": "default"}']  # other options: parsed again, with them
    code, stdout, err = parse(other, sie_url, capsys)
    assert code == 0 and stdout.startswith("parsed 2 files in ")
    assert err == (
        f"parsing 2 files again: parsed in {out} from another file or with another model or options "
        '(now --model docling, --options {"profile": "default"})\n'
    )


def test_parse_an_unknown_model_stops_at_once(tmp_path: Path, sie_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    docs = documents(tmp_path)
    args = [str(docs), "-o", str(tmp_path / "out"), "--model", "no-such-parser", "--concurrency", "1"]
    code, stdout, err = parse(args, sie_url, capsys)
    assert (code, stdout) == (1, "")
    assert err.startswith("sie-integrations parse: Model 'no-such-parser' not found")
    assert "`sie-integrations doctor` lists the models" in err
    assert not (tmp_path / "out").exists()
