"""Documents in: our loader (parsing on the SIE server) against in-process Docling (langchain-docling's
``DoclingLoader``) on the same files and the same machine, and what each adds to an environment.

    uv run --all-extras python benchmarks/documents.py [--count 60] [--reps 3]

``SIE_BASE_URL`` (default ``http://127.0.0.1:18080``) must serve ``docling``. In-process Docling runs in
``benchmarks/.venvs/docling312``: Python 3.12 with ``langchain-docling`` and ``langchain-core``, whose Docling and
torch are the peer kit's own (a ``.pth`` file adds the peer venv's site-packages: the same Docling the server
runs, no second 8 GB install). The corpus is HTML, Markdown, CSV, DOCX and XLSX (the peer's Docling has no
layout model for PDFs). Results: ``benchmarks/results/documents.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venvs" / "docling312"
DOCLING_PY = VENV / "bin" / "python"
OURS_MIN = HERE / ".venvs" / "ours312"
PEER_VENV = Path(os.environ.get("SIE_PEER_HOME", Path.home() / ".cache" / "sie-peer")) / "venv"
PEER_PY = PEER_VENV / "bin" / "python"
URL = os.environ.get("SIE_BASE_URL", "http://127.0.0.1:18080")

SECTION = (
    "The {n}th paragraph of document {d} explains how the team plans its work, which tools it uses and how "
    "the results are checked before they are shipped to customers in {city}."
)
CITIES = ["Paris", "Oslo", "Lisbon", "Rome", "Berlin"]

# Written by the peer's Python, which has python-docx and openpyxl (Docling's own dependencies).
OFFICE = """
import sys
from pathlib import Path
from docx import Document
from openpyxl import Workbook
out, count = Path(sys.argv[1]), int(sys.argv[2])
for d in range(count):
    doc = Document()
    doc.add_heading(f"Report {d}", 0)
    for s in range(4):
        doc.add_heading(f"Section {s}", 1)
        doc.add_paragraph(sys.argv[3].format(n=s, d=d, city=["Paris", "Oslo", "Lisbon"][s % 3]))
    doc.save(out / f"report-{d:03d}.docx")
    book = Workbook()
    sheet = book.active
    sheet.append(["item", "city", "amount"])
    for r in range(20):
        sheet.append([f"item {r}", ["Paris", "Oslo"][r % 2], r * 10 + d])
    book.save(out / f"sheet-{d:03d}.xlsx")
"""

OURS_WORKER = """
import json, resource, sys, time
from sie_integrations.langchain import SIEDocumentLoader
paths, url = json.loads(sys.argv[1]), sys.argv[2]
SIEDocumentLoader(paths[:2], base_url=url).load()  # warm-up: connection, server-side Docling
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
docs = SIEDocumentLoader(paths, base_url=url).load()
wall = time.perf_counter() - t0
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
print(json.dumps({"docs": len(docs), "wall_s": wall, "cpu_s": cpu, "rss_mb": cpu1.ru_maxrss / 1024,
                  "chars": sum(len(d.page_content) for d in docs)}))
"""

DOCLING_WORKER = """
import json, resource, sys, time
from langchain_docling import DoclingLoader
from langchain_docling.loader import ExportType
paths = json.loads(sys.argv[1])
t0 = time.perf_counter()
DoclingLoader(file_path=paths[:2], export_type=ExportType.MARKDOWN).load()  # warm-up: Docling's converters
warm = time.perf_counter() - t0
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.perf_counter()
docs = DoclingLoader(file_path=paths, export_type=ExportType.MARKDOWN).load()
wall = time.perf_counter() - t0
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
print(json.dumps({"docs": len(docs), "wall_s": wall, "cpu_s": cpu, "rss_mb": cpu1.ru_maxrss / 1024,
                  "warmup_s": warm, "chars": sum(len(d.page_content) for d in docs)}))
"""

# The installed size of a distribution and everything it requires (with the extras it asks for), as RECORD lists it.
CLOSURE = """
import json, sys
from importlib import metadata
from packaging.requirements import Requirement
top = Requirement(sys.argv[1])
seen, todo, size = set(), [(top.name, tuple(top.extras))], 0
while todo:
    name, extras = todo.pop()
    key = (name.lower().replace("_", "-"), tuple(sorted(extras)))
    if key in seen:
        continue
    seen.add(key)
    try:
        dist = metadata.distribution(key[0])
    except metadata.PackageNotFoundError:
        continue
    if not extras:
        size += sum(f.size or 0 for f in dist.files or [])
    else:
        todo.append((key[0], ()))
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (*extras, "")):
            todo.append((req.name, tuple(req.extras)))
print(json.dumps({"packages": len({name for name, extras in seen if not extras}), "mb": size / 2**20}))
"""


VERSION = "import json, sys; from importlib.metadata import version; print(json.dumps(version(sys.argv[1])))"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_venvs() -> None:
    """``docling312``: langchain-docling over the peer's Docling; ``ours312``: sie-integrations[langchain] alone."""
    if not (VENV / ".ok").exists():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run(["uv", "venv", "-q", "-p", str(PEER_PY), str(VENV)], check=True)
        peer_site = next(PEER_VENV.glob("lib/python3*/site-packages"))
        (next(VENV.glob("lib/python3*/site-packages")) / "peer.pth").write_text(f"{peer_site}\n")
        subprocess.run(["uv", "pip", "install", "-q", "-p", str(DOCLING_PY), "langchain-core"], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", "-p", str(DOCLING_PY), "--no-deps", "langchain-docling"], check=True
        )
        (VENV / ".ok").write_text("ok\n")
    if not (OURS_MIN / ".ok").exists():
        shutil.rmtree(OURS_MIN, ignore_errors=True)
        subprocess.run(["uv", "venv", "-q", "-p", str(PEER_PY), str(OURS_MIN)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", "-p", str(OURS_MIN / "bin" / "python"), f"{HERE.parent}[langchain]"],
            check=True,
        )
        (OURS_MIN / ".ok").write_text("ok\n")


def corpus(folder: Path, count: int) -> list[str]:
    """``count`` documents: a fifth each of HTML, Markdown, CSV, DOCX and XLSX, a few KB each."""
    each = max(1, count // 5)
    for d in range(each):
        paragraphs = [SECTION.format(n=s, d=d, city=CITIES[s % 5]) for s in range(4)]
        html = "".join(f"<h2>Section {s}</h2><p>{p}</p>" for s, p in enumerate(paragraphs))
        (folder / f"page-{d:03d}.html").write_text(f"<html><body><h1>Page {d}</h1>{html}</body></html>")
        md = "\n\n".join(f"## Section {s}\n\n{p}" for s, p in enumerate(paragraphs))
        (folder / f"notes-{d:03d}.md").write_text(f"# Notes {d}\n\n{md}\n")
        rows = "\n".join(f"item {r},{CITIES[r % 5]},{r * 10 + d}" for r in range(20))
        (folder / f"table-{d:03d}.csv").write_text(f"item,city,amount\n{rows}\n")
    subprocess.run([str(PEER_PY), "-c", OFFICE, str(folder), str(each), SECTION], check=True)
    return sorted(str(p) for p in folder.iterdir())


def run(py: Path | str, code: str, *args: str) -> dict:
    done = subprocess.run([str(py), "-c", code, *args], capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_ms(py: Path | str, statement: str, reps: int) -> float:
    subprocess.run([str(py), "-c", statement], check=True, capture_output=True)  # warm the bytecode caches
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([str(py), "-c", statement], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="documents in the corpus (default 60)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions, alternating (default 3)")
    args = parser.parse_args()
    ensure_venvs()
    results: dict = {"count": args.count, "reps": args.reps, "url": URL, "runs": {"ours": [], "docling": []}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpus(Path(tmp), args.count)
        results["count"] = len(paths)
        log(f"{len(paths)} documents in {tmp}")
        for rep in range(args.reps):
            for name, py, code in (("ours", sys.executable, OURS_WORKER), ("docling", DOCLING_PY, DOCLING_WORKER)):
                row = run(py, code, json.dumps(paths), URL)
                results["runs"][name].append(row)
                log(f"rep {rep + 1} {name}: {row['docs'] / row['wall_s']:.1f} docs/s, client CPU {row['cpu_s']:.2f} s")
    for name, rows in results["runs"].items():
        wall = statistics.median(r["wall_s"] for r in rows)
        results[name] = {
            "docs_per_s": results["count"] / wall,
            "wall_s": wall,
            "client_cpu_s": statistics.median(r["cpu_s"] for r in rows),
            "peak_rss_mb": statistics.median(r["rss_mb"] for r in rows),
        }
    results["docling"]["warmup_s"] = statistics.median(r["warmup_s"] for r in results["runs"]["docling"])
    results["ours"]["installed"] = run(OURS_MIN / "bin" / "python", CLOSURE, "sie-integrations[langchain]")
    results["docling"]["installed"] = run(DOCLING_PY, CLOSURE, "langchain-docling")
    results["docling"]["installed_local"] = run(DOCLING_PY, CLOSURE, "langchain-docling[local]")
    results["ours"]["import_ms"] = import_ms(
        OURS_MIN / "bin" / "python", "from sie_integrations.langchain import SIEDocumentLoader", args.reps + 2
    )
    results["docling"]["import_ms"] = import_ms(
        DOCLING_PY, "from langchain_docling import DoclingLoader", args.reps + 2
    )
    results["versions"] = {
        "langchain-docling": run(DOCLING_PY, VERSION, "langchain-docling"),
        "docling-slim": run(DOCLING_PY, VERSION, "docling-slim"),
        "sie-integrations": run(OURS_MIN / "bin" / "python", VERSION, "sie-integrations"),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "documents.json").write_text(json.dumps(results, indent=1) + "\n")
    for name in ("ours", "docling"):
        r = results[name]
        installed = r["installed"]
        log(
            f"{name}: {r['docs_per_s']:.1f} docs/s, client CPU {r['client_cpu_s']:.2f} s, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB, installed {installed['mb']:.0f} MB in {installed['packages']} "
            f"packages, import {r['import_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
