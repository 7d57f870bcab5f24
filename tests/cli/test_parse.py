"""``sie-integrations parse`` against ``FakeSIE`` (a Docling-like ``extract``) on an ``httpx.MockTransport``: the
outputs and their names, reruns, failures, refusals before anything is sent, and what each request carries."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sie_integrations._core.documents import fails_every_request as stops_the_run
from sie_integrations.cli import main
from sie_integrations.cli.parse_files import RECORD
from sie_integrations.errors import (
    ModelLoadFailedError,
    ModelNotFoundError,
    RateLimitError,
    RequestError,
    ServerError,
    SIEConnectionError,
    SIETimeoutError,
)
from tests.fakes.sie import FakeSIE, parsed

BASE = "https://sie.test"


@pytest.fixture(autouse=True)
def _no_sie_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIE_BASE_URL and SIE_API_KEY: none of these tests may see the developer's."""
    monkeypatch.delenv("SIE_BASE_URL", raising=False)
    monkeypatch.delenv("SIE_API_KEY", raising=False)


Refusal = Callable[[str, int, Any], "httpx.Response | None"]


def docling(refuse: Refusal | None = None) -> FakeSIE:
    """A server whose ``extract`` parses as ``tests.fakes.sie.parsed`` does: ``# <bytes>`` as Markdown, a
    per-item ``Document conversion failed`` for bytes starting with ``%PDF``."""
    return FakeSIE(extract=parsed, refuse=refuse)


def run(
    args: list[str], server: FakeSIE | None, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, str, str]:
    code = main(
        ["parse", *args, "--base-url", BASE, *flags],
        http_client=server.client() if server is not None else None,
    )
    out, err = capsys.readouterr()
    return code, out, err


def sent(server: FakeSIE) -> list[list[str]]:
    """The documents of each extract request, as text, in the order they arrived."""
    return [[bytes(item["document"]["data"]).decode() for item in body["items"]] for body in server.sent("extract")]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def corpus(root: Path) -> Path:
    """A folder of documents: two at the top, one in a sub-folder, and files that are not parsed."""
    docs = root / "docs"
    write(docs / "a.html", "<p>alpha</p>")
    write(docs / "b.md", "beta")
    write(docs / "sub" / "c.csv", "x,y\n1,2\n")
    write(docs / "image.png", "not a document format")
    write(docs / ".hidden.md", "hidden file")
    write(docs / ".cache" / "d.md", "inside a hidden folder")
    return docs


def files(folder: Path) -> set[str]:
    """The outputs in ``folder`` (the record of what made them left out)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != RECORD}


def test_parse_writes_one_markdown_file_per_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder keeps its files' paths under DIR, a file given directly goes to DIR/<name>.md; hidden files and
    formats the parser does not know are left out."""
    docs = corpus(tmp_path)
    single = write(tmp_path / "elsewhere" / "notes.txt", "gamma")
    server = docling()
    code, out, err = run([str(docs), str(single), "-o", str(tmp_path / "out")], server, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("parsed 4 files in ")
    assert out.rstrip().endswith(f"-> {tmp_path / 'out'}")
    assert files(tmp_path / "out") == {"a.md", "b.md", "sub/c.md", "notes.md"}
    assert (tmp_path / "out" / "a.md").read_text() == "# <p>alpha</p>\n"
    assert (tmp_path / "out" / "sub" / "c.md").read_text() == "# x,y\n1,2\n"
    assert (tmp_path / "out" / "notes.md").read_text() == "# gamma\n"
    assert sorted(sent(server)) == [["<p>alpha</p>"], ["beta"], ["gamma"], ["x,y\n1,2\n"]]  # one document each
    formats = [item["document"]["format"] for body in server.sent("extract") for item in body["items"]]
    assert sorted(formats) == ["csv", "html", "md", "md"]  # a .txt file: UTF-8 text, sent as Markdown
    assert {r.url.path for r in server.requests} == {"/v1/extract/docling"}


def test_parse_json_writes_the_parsers_document_beside_the_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "in" / "a.html", "<p>alpha</p>")
    code, _, _ = run([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json"], docling(), capsys)
    assert code == 0
    assert files(tmp_path / "out") == {"a.md", "a.json"}
    document = json.loads((tmp_path / "out" / "a.json").read_text())
    assert document == parsed("<p>alpha</p>")["data"]["document"]


def test_parse_sends_the_model_its_options_and_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = corpus(tmp_path)
    write(docs / "e.md", "epsilon")
    server = docling()
    args = [str(docs), "-o", str(tmp_path / "out"), "--model", "org/parser", "--options", '{"ocr": true}']
    code, _, _ = run(args, server, capsys, "--batch-size", "2", "--concurrency", "1")
    assert code == 0
    assert sent(server) == [["<p>alpha</p>", "beta"], ["epsilon", "x,y\n1,2\n"]]  # in input (sorted) order
    assert all(body["params"] == {"options": {"ocr": True}} for body in server.sent("extract"))
    assert {r.url.path for r in server.requests} == {"/v1/extract/org/parser"}


def test_parse_sends_no_options_unless_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "a.md", "alpha")
    server = docling()
    assert run([str(tmp_path / "a.md"), "-o", str(tmp_path / "out")], server, capsys)[0] == 0
    assert "params" not in server.sent("extract")[0]


def test_parse_glob_picks_a_folders_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = corpus(tmp_path)
    server = docling()
    code, _, _ = run([str(docs), "-o", str(tmp_path / "out"), "--glob", "*.html"], server, capsys)
    assert code == 0
    assert sent(server) == [["<p>alpha</p>"]]
    assert files(tmp_path / "out") == {"a.md"}


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` older than now."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - int(seconds * 1e9)))


def test_parse_rerun_skips_the_files_already_parsed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An output newer than its file is not parsed again; a file changed since is; --overwrite parses all."""
    docs = corpus(tmp_path)
    for path in docs.rglob("*"):
        if path.is_file():
            age(path, 60)
    args = [str(docs), "-o", str(tmp_path / "out")]
    assert run(args, docs_server := docling(), capsys)[0] == 0
    assert len(sent(docs_server)) == 3

    again = docling()
    code, out, err = run(args, again, capsys)
    assert (code, err) == (0, "")
    assert out == (
        f"nothing to do: all 3 files are already parsed in {tmp_path / 'out'} (each output is newer than its file "
        "and made with this --model and --options; --overwrite parses them again)\n"
    )
    assert again.requests == []

    write(docs / "b.md", "beta, edited")
    changed = docling()
    code, out, err = run(args, changed, capsys)
    assert code == 0
    assert err == f"skipping 2 of 3 files, already parsed in {tmp_path / 'out'}\n"
    assert out.startswith("parsed 1 file (2 skipped as already done) in ")
    assert sent(changed) == [["beta, edited"]]
    assert (tmp_path / "out" / "b.md").read_text() == "# beta, edited\n"

    overwrite = docling()
    assert run([*args, "--overwrite"], overwrite, capsys)[0] == 0
    assert len(sent(overwrite)) == 3


def test_parse_rerun_with_other_options_or_model_parses_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rerun with another --options or --model parses the files again (it used to say "nothing to do"); a
    rerun with the same ones skips them, whatever the order of the options' keys."""
    docs = corpus(tmp_path)
    for path in docs.rglob("*"):
        if path.is_file():
            age(path, 60)
    args = [str(docs), "-o", str(tmp_path / "out")]
    assert run([*args, "--options", '{"ocr": false, "profile": "default"}'], docling(), capsys)[0] == 0
    same = docling()
    code, out, _ = run([*args, "--options", '{"profile": "default", "ocr": false}'], same, capsys)
    assert (code, same.requests) == (0, [])
    assert out.startswith("nothing to do: all 3 files are already parsed")

    ocr = docling()
    code, out, err = run([*args, "--options", '{"ocr": true}'], ocr, capsys)
    assert code == 0
    assert err == (
        f"parsing 3 files again: parsed in {tmp_path / 'out'} from another file or with another model or options "
        '(now --model docling, --options {"ocr": true})\n'
    )
    assert [body["params"] for body in ocr.sent("extract")] == [{"options": {"ocr": True}}] * 3
    assert run([*args, "--options", '{"ocr": true}'], again := docling(), capsys)[0] == 0
    assert again.requests == []

    other = docling()
    assert run([*args, "--options", '{"ocr": true}', "--model", "my-docling"], other, capsys)[0] == 0
    assert {request.url.path for request in other.requests} == {"/v1/extract/my-docling"}


def test_parse_rerun_parses_again_what_the_record_does_not_vouch_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output made from another file of the same name, or that the record does not name (deleted, or a
    line cut short by a killed run), is parsed again; the record is tidied to one line an output."""
    first, second = write(tmp_path / "one" / "a.md", "alpha"), write(tmp_path / "two" / "a.md", "beta")
    age(first, 120)
    age(second, 60)  # older than the output the first run writes
    out = tmp_path / "out"
    assert run([str(first), "-o", str(out)], docling(), capsys)[0] == 0
    other = docling()
    code, _, err = run([str(second), "-o", str(out)], other, capsys)
    assert (code, sent(other)) == (0, [["beta"]])
    assert "parsing 1 file again: parsed in" in err and "from another file" in err
    assert (out / "a.md").read_text() == "# beta\n"

    record = out / RECORD
    record.write_text(record.read_text() + '{"output": "a.md", "sour')  # a killed run's last line
    same = docling()
    assert run([str(second), "-o", str(out)], same, capsys)[0] == 0
    assert same.requests == []
    (out / "a.md").unlink()
    assert run([str(second), "-o", str(out)], docling(), capsys)[0] == 0
    lines = record.read_text().splitlines()
    assert all(json.loads(line)["output"] == "a.md" for line in lines) and len(lines) <= 3

    record.unlink()
    unrecorded = docling()
    code, _, err = run([str(second), "-o", str(out)], unrecorded, capsys)
    assert (code, sent(unrecorded)) == (0, [["beta"]])
    assert err == f"parsing 1 file again: {record} does not say what made their outputs\n"


def test_parse_a_file_given_and_in_a_folder_given_is_parsed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = corpus(tmp_path)
    server = docling()
    code, out, _ = run([str(docs / "sub" / "c.csv"), str(docs), "-o", str(tmp_path / "out")], server, capsys)
    assert code == 0 and out.startswith("parsed 3 files in ")
    assert sorted(text for batch in sent(server) for text in batch) == ["<p>alpha</p>", "beta", "x,y\n1,2\n"]
    assert files(tmp_path / "out") == {"c.md", "a.md", "b.md"}  # where it first came: given directly


def test_parse_max_mib_is_the_largest_file_sent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = corpus(tmp_path)
    write(docs / "big.md", "x" * 3 * 2**20)
    server = docling()
    code, _, err = run([str(docs), "-o", str(tmp_path / "out"), "--max-mib", "2.5"], server, capsys)
    assert code == 1
    assert f"  {docs / 'big.md'} is 3 MiB, over the server's limit of 2.5 MiB" in err.splitlines()
    assert len(sent(server)) == 3
    larger = docling()
    assert run([str(docs), "-o", str(tmp_path / "out"), "--max-mib", "4"], larger, capsys)[0] == 0
    assert [len(batch[0]) for batch in sent(larger)] == [3 * 2**20]  # only the one not parsed yet
    with pytest.raises(SystemExit) as refused:
        run([str(docs), "-o", str(tmp_path / "out"), "--max-mib", "0"], None, capsys)
    assert refused.value.code == 2 and "--max-mib: must be between 1 byte and 1 TiB" in capsys.readouterr().err


def test_parse_rerun_with_json_parses_files_that_have_no_json_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "a.md", "alpha")
    age(source, 60)
    args = [str(source), "-o", str(tmp_path / "out")]
    assert run(args, docling(), capsys)[0] == 0
    server = docling()
    assert run([*args, "--json"], server, capsys)[0] == 0
    assert sent(server) == [["alpha"]]
    assert files(tmp_path / "out") == {"a.md", "a.json"}


def test_parse_names_each_file_that_failed_after_parsing_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A per-item error (a PDF the server cannot convert) and an empty file (never sent): both named with their
    reason at the end, exit 1; the others are written, and a rerun sends only the failures again."""
    docs = corpus(tmp_path)
    write(docs / "broken.pdf", "%PDF-1.4 not really")
    write(docs / "empty.md", "")
    server = docling()
    args = [str(docs), "-o", str(tmp_path / "out")]
    code, out, err = run(args, server, capsys)
    assert code == 1
    assert out.startswith("parsed 3 of 5 files in ")
    assert err.splitlines() == [
        "sie-integrations parse: 2 files could not be parsed:",
        f"  {docs / 'broken.pdf'} could not be parsed: Document conversion failed (code=INFERENCE_ERROR)",
        f"  {docs / 'empty.md'} is empty",
    ]
    assert files(tmp_path / "out") == {"a.md", "b.md", "sub/c.md"}
    assert len(sent(server)) == 4  # the empty file is not sent

    again = docling()
    code, out, err = run(args, again, capsys)
    assert code == 1
    assert out.startswith("parsed 0 of 2 files (3 skipped as already done) in ")
    assert sent(again) == [["%PDF-1.4 not really"]]


def test_parse_a_failed_request_fails_its_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 500 to one request: its file is named with the server's message, the others are parsed."""

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if route == "extract" and number == 2:
            return httpx.Response(500, json={"detail": {"code": "INTERNAL_ERROR", "message": "the parser crashed"}})
        return None

    docs = corpus(tmp_path)
    server = docling(refuse)
    code, out, err = run([str(docs), "-o", str(tmp_path / "out")], server, capsys, "--concurrency", "1")
    assert code == 1
    assert out.startswith("parsed 2 of 3 files in ")
    lines = err.splitlines()
    assert lines[0] == "sie-integrations parse: 1 file could not be parsed:"
    assert lines[1].startswith(f"  {docs / 'b.md'}: the parser crashed")
    assert files(tmp_path / "out") == {"a.md", "sub/c.md"}


def test_parse_stops_at_an_unknown_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What every request would meet stops the run at once, with doctor's hint; exit 1."""

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        return httpx.Response(404, json={"detail": {"code": "MODEL_NOT_FOUND", "message": "Model 'nope' not found"}})

    docs = corpus(tmp_path)
    server = docling(refuse)
    args = [str(docs), "-o", str(tmp_path / "out"), "--model", "nope"]
    code, out, err = run(args, server, capsys, "--concurrency", "1")
    assert (code, out) == (1, "")
    assert err.startswith("sie-integrations parse: Model 'nope' not found")
    assert "`sie-integrations doctor` lists the models" in err
    assert len(server.sent("extract")) == 1
    assert not (tmp_path / "out").exists()


def test_parse_ctrl_c_keeps_the_files_parsed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while the 2nd request is in flight: exit 130, the first output kept whole, a rerun continues."""

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if route == "extract" and number == 2:
            raise KeyboardInterrupt
        return None

    docs = corpus(tmp_path)
    for path in docs.rglob("*"):
        if path.is_file():
            age(path, 60)
    args = [str(docs), "-o", str(tmp_path / "out")]
    code, _, err = run(args, docling(refuse), capsys, "--concurrency", "1")
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        f"interrupted: 1 of 3 files parsed into {tmp_path / 'out'}; rerun the same command to continue "
        "(the files parsed are skipped)"
    )
    assert files(tmp_path / "out") == {"a.md"}  # no partial file left behind
    server = docling()
    code, out, _ = run(args, server, capsys)
    assert code == 0
    assert out.startswith("parsed 2 files (1 skipped as already done)")
    assert sorted(sent(server)) == [["beta"], ["x,y\n1,2\n"]]


def test_parse_a_missing_input_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.md", "alpha")
    server = docling()
    missing = tmp_path / "nope.pdf"
    code, out, err = run([str(tmp_path / "a.md"), str(missing), "-o", str(tmp_path / "out")], server, capsys)
    assert (code, out) == (2, "")
    assert err == f"sie-integrations parse: no such file or folder: {str(missing)!r}\n"
    assert server.requests == []


def test_parse_refuses_two_inputs_that_write_the_same_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    write(docs / "report.html", "<p>html</p>")
    write(docs / "report.md", "markdown")
    write(tmp_path / "other" / "a.md", "alpha")
    write(tmp_path / "third" / "a.md", "alpha again")
    server = docling()
    inputs = [str(docs), str(tmp_path / "other" / "a.md"), str(tmp_path / "third" / "a.md")]
    code, out, err = run([*inputs, "-o", str(tmp_path / "out")], server, capsys)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0].startswith("sie-integrations parse: refusing to parse: these outputs would be written twice")
    other, third = tmp_path / "other" / "a.md", tmp_path / "third" / "a.md"
    assert lines[1:] == [
        f"  {tmp_path / 'out' / 'report.md'}: written by both {docs / 'report.html'} and {docs / 'report.md'}",
        f"  {tmp_path / 'out' / 'a.md'}: written by both {other} and {third}",
    ]
    assert server.requests == []


def test_parse_refuses_to_overwrite_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "docs" / "a.md", "alpha")
    server = docling()
    code, _, err = run([str(tmp_path / "docs"), "-o", str(tmp_path / "docs")], server, capsys)
    assert code == 2
    assert "the parse of" in err
    assert "would overwrite this input" in err
    assert (tmp_path / "docs" / "a.md").read_text() == "alpha"
    assert server.requests == []


def test_parse_refuses_an_output_folder_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "a.md", "alpha")
    target = write(tmp_path / "out.txt", "a file")
    server = docling()
    code, _, err = run([str(tmp_path / "a.md"), "-o", str(target)], server, capsys)
    assert code == 2
    assert err == f"sie-integrations parse: -o {str(target)!r} is a file: give a folder to write the parses to\n"
    assert server.requests == []


def test_parse_a_file_given_twice_is_parsed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = corpus(tmp_path)
    server = docling()
    code, out, _ = run([str(docs), str(docs / "a.html"), "-o", str(tmp_path / "out")], server, capsys)
    assert code == 0
    assert out.startswith("parsed 3 files in ")
    assert len(sent(server)) == 3


def test_parse_leaves_out_its_own_outputs_inside_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o inside the folder parsed: the second run does not take the first run's Markdown as documents."""
    docs = corpus(tmp_path)
    args = [str(docs), "-o", str(docs / "parsed")]
    assert run(args, docling(), capsys)[0] == 0
    again = docling()
    code, out, _ = run(args, again, capsys)
    assert code == 0
    assert out.startswith("nothing to do: all 3 files")
    assert again.requests == []


def test_parse_a_folder_without_documents_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "in" / "image.png", "png")
    server = docling()
    code, _, err = run([str(tmp_path / "in"), "-o", str(tmp_path / "out")], server, capsys)
    assert code == 1
    assert err.startswith("sie-integrations parse: no document to parse: no file matches --glob '**/*' in a format")
    assert server.requests == []


@pytest.mark.parametrize("options", ["[1, 2]", "not json", '"ocr"'])
def test_parse_options_must_be_a_json_object(options: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["parse", str(tmp_path), "-o", str(tmp_path / "out"), "--options", options])
    assert exit_.value.code == 2
    assert "--options" in capsys.readouterr().err


def test_parse_progress_bar_counts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = corpus(tmp_path)
    code, _, err = run([str(docs), "-o", str(tmp_path / "out"), "--progress"], docling(), capsys)
    assert code == 0
    assert "\r3/3 [########################] 100%" in err
    assert "texts/s" not in err
    assert err.endswith("\n")


def test_what_stops_a_run() -> None:
    """What every request would meet stops the run; what may be one request's bad luck fails its files only."""
    assert stops_the_run(ModelNotFoundError("no model", status_code=404))
    assert stops_the_run(RequestError("bad options", status_code=400))
    assert stops_the_run(RequestError("refused key", status_code=401))
    assert stops_the_run(SIEConnectionError("refused"))
    assert stops_the_run(ModelLoadFailedError("no weights", status_code=503))
    assert not stops_the_run(SIETimeoutError("slow"))
    assert not stops_the_run(ServerError("crash", status_code=500))
    assert not stops_the_run(RequestError("too large", status_code=413))
    assert not stops_the_run(RateLimitError("busy", status_code=429))
