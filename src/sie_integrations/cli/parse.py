"""``sie-integrations parse``: documents parsed into one Markdown file each (and, with ``--json``, the parser's own
document as JSON beside it), with a progress bar; a rerun skips the files already parsed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from .._core.batches import Batch, stand_ins
from .._core.concurrency import Limit
from .._core.documents import MAX_DOCUMENT_BYTES
from .._http.client import SIEClient
from .._http.dispatch import run_batches
from .._http.files import parse_files
from ..errors import SIEError
from ..types import Item, ParsedDocument
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Connection, error_line, run_command
from .parse_files import RECORD, Job, ParseError, Record, plan_jobs, write_whole
from .progress import ProgressBar, render_bar


@dataclass(frozen=True)
class ParseOptions:
    """The arguments of one ``parse`` run."""

    inputs: Sequence[str]
    output: str
    model: str = "docling"
    glob: str = "**/*"
    json: bool = False
    options: dict[str, Any] | None = None
    batch_size: int = 1
    max_bytes: int = MAX_DOCUMENT_BYTES
    concurrency: int | None = None
    progress: bool = False
    overwrite: bool = False


@dataclass(frozen=True)
class Outcome:
    """A job's parse, or why it has none: ``error``, a file that cannot be read or sent, or the server's reason."""

    job: Job
    parsed: ParsedDocument | None = None
    error: BaseException | None = None


def parse_batch(client: SIEClient, options: ParseOptions, jobs: Sequence[Job]) -> list[Outcome]:
    """Read the files (only now, so a large run holds few in memory) and parse those that could be read; one
    outcome per job, in order."""
    files = [job.file(options.max_bytes) for job in jobs]
    parses = parse_files(client, options.model, files, options=options.options)
    return [
        Outcome(job, parsed if parsed.error is None else None, parsed.error)
        for job, parsed in zip(jobs, parses, strict=True)
    ]


def write_outputs(outcome: Outcome) -> None:
    """The parse as Markdown (ending in a newline), and Docling's document as JSON when asked; the JSON first, so
    the Markdown, written last, marks the job done."""
    assert outcome.parsed is not None
    job, parsed = outcome.job, outcome.parsed
    if job.json is not None:
        write_whole(job.json, json.dumps(parsed.document, ensure_ascii=False, indent=2) + "\n")
    markdown = parsed.markdown
    write_whole(job.markdown, markdown if markdown.endswith("\n") or not markdown else markdown + "\n")


class FileProgress(ProgressBar):
    """``ProgressBar`` counting files."""

    def draw(self) -> None:
        if self._enabled:
            self._drawn_at = self._clock()
            line = render_bar(self.done, self.total, self.rate()).replace(" texts/s", " files/s")
            self._stream.write("\r" + line + "\x1b[K")
            self._stream.flush()


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


class Run:
    """One run's jobs and what became of them: written, failed, skipped as already done."""

    def __init__(self, options: ParseOptions, jobs: list[Job], base_url: str) -> None:
        self.options = options
        self.base_url = base_url
        self.record = Record(Path(options.output), {"model": options.model, "options": options.options or {}})
        self.todo: list[Job] = []
        self.again = {"other": 0, "unrecorded": 0}
        """Outputs newer than their files, parsed again: made otherwise, or the record does not say."""
        for job in jobs:
            state = "new" if options.overwrite or not job.done() else self.record.state(job)
            if state != "current":
                self.todo.append(job)
            if state in self.again:
                self.again[state] += 1
        self.skipped = len(jobs) - len(self.todo)
        self.written = 0
        self.failed: list[Outcome] = []

    def why(self, outcome: Outcome) -> str:
        """One line naming the file and the reason it was not parsed."""
        assert outcome.error is not None
        text = error_line(outcome.error, self.base_url)
        name = str(outcome.job.source)
        return text if text.startswith(name) else f"{name}: {text}"

    def take(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.error is not None:
                self.failed.append(outcome)
            else:
                self.record.writing(outcome.job)
                write_outputs(outcome)
                self.record.done(outcome.job)
                self.written += 1

    def failures(self, stderr: TextIO) -> None:
        if self.failed:
            print(f"sie-integrations parse: {_files(len(self.failed))} could not be parsed:", file=stderr)
            for outcome in self.failed:
                print(f"  {self.why(outcome)}", file=stderr)

    def stopped(self, error: BaseException) -> str:
        """Why the run stopped, and what a rerun does."""
        saved = f"{self.written} of {_files(len(self.todo))} parsed into {self.options.output}"
        if isinstance(error, KeyboardInterrupt):
            if not self.written:
                return "interrupted before any file was parsed"
            if self.options.overwrite:
                return f"interrupted: {saved}; rerun without --overwrite to continue (the files parsed are skipped)"
            return f"interrupted: {saved}; rerun the same command to continue (the files parsed are skipped)"
        reason = f"sie-integrations parse: {error_line(error, self.base_url)}"
        if not self.written:
            return reason
        return f"{reason}; {saved} before it stopped: rerun the same command to continue once the cause is fixed"


def run_parse(options: ParseOptions, client: SIEClient, *, stdout: TextIO, stderr: TextIO) -> int:
    """Parse every file not yet done, writing each output as its parse arrives, in input order; the exit code."""
    jobs = plan_jobs(options.inputs, options.output, options.glob, json=options.json)
    run = Run(options, jobs, client.base_url)
    if not run.todo:
        print(
            f"nothing to do: all {_files(len(jobs))} are already parsed in {options.output} (each output is newer "
            "than its file and made with this --model and --options; --overwrite parses them again)",
            file=stdout,
        )
        return EXIT_OK
    if run.skipped:
        print(f"skipping {run.skipped} of {_files(len(jobs))}, already parsed in {options.output}", file=stderr)
    if run.again["other"]:
        print(
            f"parsing {_files(run.again['other'])} again: parsed in {options.output} from another file or with "
            f"another model or options (now --model {options.model}, --options {json.dumps(options.options or {})})",
            file=stderr,
        )
    if run.again["unrecorded"]:
        print(
            f"parsing {_files(run.again['unrecorded'])} again: {Path(options.output) / RECORD} does not say what "
            "made their outputs",
            file=stderr,
        )
    bar = FileProgress(len(jobs), done=run.skipped, stream=stderr, enabled=options.progress)
    limit = Limit(pinned=options.concurrency) if options.concurrency else Limit()
    started = time.perf_counter()

    def parse(batch: Batch[Item]) -> list[Outcome]:
        return parse_batch(client, options, [run.todo[p] for p in batch.positions])

    try:
        planned = stand_ins([job.size for job in run.todo], options.batch_size)
        with closing(run_batches(parse, planned, limit)) as results:
            for outcomes in results:
                run.take(outcomes)
                bar.advance(len(outcomes))
    except (KeyboardInterrupt, SIEError, OSError) as exc:
        bar.close()
        run.failures(stderr)
        print(run.stopped(exc), file=stderr)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_FAILED
    bar.close()
    seconds = time.perf_counter() - started
    also = f" ({run.skipped} skipped as already done)" if run.skipped else ""
    count = f"{run.written} of {_files(len(run.todo))}" if run.failed else _files(run.written)
    print(f"parsed {count}{also} in {seconds:.2f} s -> {options.output}", file=stdout)
    run.failures(stderr)
    return EXIT_FAILED if run.failed else EXIT_OK


def parse_command(options: ParseOptions, connection: Connection, *, http_client: httpx.Client | None = None) -> int:
    """Run ``parse`` (``http_client``: e.g. one on an ``httpx.MockTransport``); the exit code."""

    def run(client: SIEClient) -> int:
        return run_parse(options, client, stdout=sys.stdout, stderr=sys.stderr)

    def exit_code(exc: Exception) -> int | None:
        if isinstance(exc, ParseError):
            return EXIT_USAGE if exc.usage else EXIT_FAILED
        return EXIT_FAILED if isinstance(exc, ValueError | OSError) else None

    return run_command("parse", connection, http_client, (options.batch_size, options.concurrency), run, exit_code)
