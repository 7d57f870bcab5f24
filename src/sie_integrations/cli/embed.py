"""``sie-integrations embed``: embed a file of texts into .npy or JSONL, resumably, with a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

import httpx
import numpy as np

from .._core.batches import Batch, plan
from .._core.concurrency import Limit
from .._http.client import SIEClient
from .._http.dispatch import run_batches
from ..errors import ModelLoadFailedError, RequestError, SIEError
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Connection, error_line, run_command
from .embed_input import EmbedError, Inputs, input_kind, read_inputs
from .embed_output import Rows, RunKey, Sink, open_sink
from .progress import ProgressBar


@dataclass(frozen=True)
class EmbedOptions:
    """The arguments of one ``embed`` run."""

    model: str
    input: str
    output: str
    format: str | None = None
    input_format: str = "auto"
    batch_size: int = 64
    concurrency: int | None = None
    query: bool = False
    options: dict[str, Any] | None = None
    progress: bool = False
    overwrite: bool = False


def output_format(output: str, requested: str | None) -> str:
    """``npy`` or ``jsonl``: as requested, else from the output's suffix."""
    if requested:
        return requested
    lowered = output.lower()
    if lowered.endswith(".npy"):
        return "npy"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise EmbedError(f"cannot tell the format of {output!r} from its name: pass --format npy or --format jsonl")


def encode_rows(
    client: SIEClient, model: str, texts: Sequence[str], *, query: bool, options: dict[str, Any] | None = None
) -> Rows:
    """One batch as a float32 matrix, one row per text (``options``: the model's, sent with each request)."""
    results = client.encode(model, list(texts), output_types=["dense"], is_query=query, options=options)
    if any(r.dense is None for r in results):
        raise EmbedError(f"{model} returned no dense vector; is it a dense embedding model?")
    try:
        return np.stack([np.asarray(r.dense, dtype=np.float32) for r in results])
    except ValueError as exc:
        raise EmbedError(f"{model} returned vectors of different sizes in one batch") from exc


WINDOW = 8
"""Batches per window: the texts of a window are planned together (``_core/batches.py``) and written in input
order."""


def _batches(texts: Sequence[str], start: int, batch_size: int) -> Iterator[Batch[str]]:
    """Each window of ``texts[start:]`` planned into batches; positions count from ``start``."""
    span = batch_size * WINDOW
    for first in range(start, len(texts), span):
        for batch in plan(texts[first : first + span], batch_size):
            yield Batch([first - start + p for p in batch.positions], batch.items)


def ordered_batches(
    client: SIEClient,
    model: str,
    texts: Sequence[str],
    *,
    start: int,
    batch_size: int,
    limit: Limit,
    query: bool,
    options: dict[str, Any] | None = None,
) -> Generator[Rows, None, None]:
    """Encode ``texts[start:]`` with ``limit`` requests in flight, yielding rows in input order as they complete."""
    span = batch_size * WINDOW

    def run(batch: Batch[str]) -> tuple[Batch[str], Rows]:
        return batch, encode_rows(client, model, batch.items, query=query, options=options)

    window: Rows | None = None
    done = np.zeros(0, dtype=bool)
    given = 0
    sent = run_batches(run, _batches(texts, start, batch_size), limit)
    with closing(sent):  # stopping early stops the batches not yet sent
        for batch, rows in sent:
            first = batch.positions[0] // span * span
            positions = [p - first for p in batch.positions]
            if window is None:
                size = min(span, len(texts) - start - first)
                window, done, given = np.empty((size, rows.shape[1]), dtype=rows.dtype), np.zeros(size, bool), 0
            elif rows.shape[1] != window.shape[1]:
                raise EmbedError(f"{model} returned vectors of different sizes")
            window[positions] = rows
            done[positions] = True
            ready = given
            while ready < len(done) and done[ready]:
                ready += 1
            if ready > given:  # the rows now complete from the window's start, in input order
                yield window[given:ready]
                given = ready
            if given == len(done):
                window = None


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:.1f} texts/s" if seconds > 0 and count else "- texts/s"


def run_key(options: EmbedOptions, inputs: Inputs) -> RunKey:
    """What decides this run's vectors: output format, model, --query, --options and the input (file, content,
    format)."""
    fmt = output_format(options.output, options.format)
    kind = input_kind(options.input, options.input_format)
    return RunKey(
        fmt, options.model, options.query, inputs.path, inputs.size, inputs.sha256, kind, options.options or {}
    )


def rerun_may_fix(error: BaseException) -> bool:
    """False for what a rerun meets again: a 4xx refusal (but 408 and 429), a permanent load failure, no vectors."""
    if isinstance(error, RequestError):
        return error.status_code in (408, 429)
    if isinstance(error, ModelLoadFailedError):
        return not error.permanent
    return isinstance(error, (SIEError, OSError))


def stop_message(error: BaseException, sink: Sink, total: int, base_url: str) -> str:
    """Why the run stopped, where its work is saved, and whether rerunning continues it."""
    saved = f"{sink.done} of {total} texts are saved in {sink.saved_in}"
    if isinstance(error, KeyboardInterrupt):
        if not sink.done:
            return "interrupted before any text was embedded; nothing was saved"
        return f"interrupted: {saved}; rerun the same command to continue"
    reason = f"sie-integrations embed: {error_line(error, base_url)}"
    if not sink.done:
        return reason
    if rerun_may_fix(error):
        return f"{reason}; {saved}: rerun the same command to continue"
    return f"{reason}; {saved} (a rerun fails the same way until the cause is fixed, then continues from there)"


def write_all(work: Generator[Rows, None, None], sink: Sink, ids: Sequence[Any], bar: ProgressBar) -> None:
    """Append each batch to the output as it arrives, then finish the output."""
    try:
        with closing(work):
            for rows in work:
                sink.write(ids[sink.done : sink.done + len(rows)], rows)
                bar.advance(len(rows))
        sink.finish()
    finally:
        bar.close()
        sink.close()


def run_embed(
    options: EmbedOptions,
    client: SIEClient,
    *,
    stdin: BinaryIO | None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Embed every text not yet in the output, appending in input order; the exit code."""
    inputs = read_inputs(options.input, input_format=options.input_format, stdin=stdin)
    if not inputs.texts:
        where = "stdin" if options.input == "-" else options.input
        raise EmbedError(f"{where} holds no text to embed (blank lines are skipped)")
    sink = open_sink(options.output, run_key(options, inputs), inputs.ids, overwrite=options.overwrite)
    total, skipped = len(inputs.texts), sink.done
    if sink.complete:
        print(
            f"nothing to do: {options.output} already holds all {total} texts, made with the same model, options "
            "and input (--overwrite embeds them again)",
            file=stdout,
        )
        return EXIT_OK
    if skipped:
        print(f"resuming: {skipped} of {total} texts already in {sink.saved_in}", file=stderr)
    bar = ProgressBar(total, done=skipped, stream=stderr, enabled=options.progress)
    started = time.perf_counter()
    work = ordered_batches(
        client,
        options.model,
        inputs.texts,
        start=skipped,
        batch_size=options.batch_size,
        limit=Limit(pinned=options.concurrency) if options.concurrency else Limit(),
        query=options.query,
        options=options.options,
    )
    try:
        write_all(work, sink, inputs.ids, bar)
    except (KeyboardInterrupt, SIEError, EmbedError, OSError) as exc:
        if not sink.done:
            sink.discard()
        print(stop_message(exc, sink, total, client.base_url), file=stderr)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_FAILED
    seconds = time.perf_counter() - started
    done = sink.done - skipped
    also = f" ({skipped} skipped as already done)" if skipped else ""
    texts = "text" if done == 1 else "texts"
    print(f"embedded {done} {texts}{also} in {seconds:.2f} s, {_rate(done, seconds)} -> {options.output}", file=stdout)
    return EXIT_OK


def embed_command(options: EmbedOptions, connection: Connection, *, http_client: httpx.Client | None = None) -> int:
    """Run ``embed`` (``http_client``: e.g. one on an ``httpx.MockTransport``); the exit code."""

    def run(client: SIEClient) -> int:
        return run_embed(options, client, stdin=sys.stdin.buffer, stdout=sys.stdout, stderr=sys.stderr)

    def exit_code(exc: Exception) -> int | None:
        return EXIT_FAILED if isinstance(exc, EmbedError | ValueError | OSError) else None

    return run_command("embed", connection, http_client, (options.batch_size, options.concurrency), run, exit_code)
