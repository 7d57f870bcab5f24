"""The ``sie-integrations`` command line: ``doctor`` checks a server, ``embed`` embeds a file of texts, ``parse``
parses documents into Markdown."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

import httpx

from .._core.documents import MAX_DOCUMENT_BYTES
from .._http.options import resolve_base_url
from .._version import __version__
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    FLAGS,
    Connection,
    add_client_flags,
    client_options,
    json_object,
)
from .doctor import DEFAULT_DOCTOR_TIMEOUT, doctor_command
from .embed import EmbedOptions, embed_command
from .parse import ParseOptions, parse_command

EXIT_CODES = """exit codes: 0 ok, 1 a check or request failed, 2 bad arguments, 3 server unreachable (doctor),
130 interrupted (embed, parse: rerun the same command to continue)"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _mebibytes(text: str) -> int:
    """``--max-mib``: MiB, as bytes."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of MiB: {text!r}") from None
    if not 1 / 2**20 <= value <= 2**20:  # NaN and infinity too
        raise argparse.ArgumentTypeError(f"must be between 1 byte and 1 TiB (0.000001 to 1048576), not {text}")
    return int(value * 2**20)


# doctor sets the provision timeout itself (its --timeout), and probes with its own HTTP/1.1 client.
DOCTOR_FLAGS = ("base_url", "api_key", "timeout", "gpu", "pool", "wait_for_capacity", "max_retries", "wire_format")
EMBED_FLAGS = tuple(name for name in FLAGS if name != "stream_chunk_timeout")  # embed opens no stream


def _client_flags(names: Sequence[str], retries: int, timeout_help: str) -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    helps = {
        "api_key": "API key (default: SIE_API_KEY, sent only to the SIE_BASE_URL server; prefer it: arguments "
        "show up in `ps`)",
        "timeout": timeout_help,
        "max_retries": f"retries after 429, back-pressure 503s and failed connections (default: {retries})",
    }
    add_client_flags(shared, names, defaults={"max_retries": retries}, helps=helps)
    return shared


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="sie-integrations",
        description="Command line tools for SIE, the Superlinked Inference Engine.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    doctor = commands.add_parser(
        "doctor",
        parents=[
            _client_flags(
                DOCTOR_FLAGS, 0, f"seconds per request and per model load (default: {DEFAULT_DOCTOR_TIMEOUT:g})"
            )
        ],
        help="check that a server is reachable, its models, auth and per-endpoint latency",
        description="Check an SIE server: reachability, version, models, auth, and one timed request per endpoint.",
        epilog=EXIT_CODES,
    )
    doctor.add_argument("--json", action="store_true", help="print a machine-readable report")

    embed = commands.add_parser(
        "embed",
        parents=[_client_flags(EMBED_FLAGS, 3, "seconds per request attempt (default: 150 read, 10 connect)")],
        help="embed a file of texts into a .npy matrix or JSONL, resumably",
        description=(
            "Embed texts with MODEL. INPUT: a text file (one text per line, blank lines skipped), a .jsonl file "
            "(objects with 'text' and an optional 'id'), or - for stdin. Interrupted runs resume: rerun the same "
            "command and only the texts not yet written are sent. A finished OUTPUT is reused only by the same "
            "model, --query, --options and input (OUTPUT.json records them); anything else is refused unless "
            "--overwrite."
        ),
        epilog=EXIT_CODES,
    )
    embed.add_argument("model", metavar="MODEL", help="e.g. sentence-transformers/all-MiniLM-L6-v2")
    embed.add_argument("input", metavar="INPUT", help="text file, .jsonl file, or - for stdin")
    embed.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="output file (.npy or .jsonl)")
    embed.add_argument("--format", choices=["npy", "jsonl"], help="output format (default: from OUTPUT's suffix)")
    embed.add_argument(
        "--input-format", choices=["auto", "text", "jsonl"], default="auto", help="default: jsonl for *.jsonl"
    )
    embed.add_argument("--batch-size", type=_positive_int, default=64, metavar="N", help="texts per request (64)")
    embed.add_argument(
        "--concurrency", type=_positive_int, default=None, metavar="N", help="requests in flight (default: adapts)"
    )
    embed.add_argument("--query", action="store_true", help="embed the texts as queries (is_query)")
    embed.add_argument(
        "--options", type=json_object, metavar="JSON", help='model options, e.g. \'{"profile": "legal"}\''
    )
    embed.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is no TTY")
    embed.add_argument("--overwrite", action="store_true", help="discard an existing output or progress and start over")

    parse = commands.add_parser(
        "parse",
        parents=[_client_flags(EMBED_FLAGS, 3, "seconds per request attempt (default: 150 read, 10 connect)")],
        help="parse documents (PDF, DOCX, PPTX, XLSX, HTML, ...) into Markdown files, resumably",
        description=(
            "Parse each file with --model into DIR/<name>.md (and, with --json, the parser's document as "
            "DIR/<name>.json); a folder's files keep their path under it. Reruns skip the files whose outputs are "
            "newer than them. Files the server cannot parse are named at the end, with its reason (exit 1)."
        ),
        epilog=EXIT_CODES,
    )
    parse.add_argument("inputs", nargs="+", metavar="PATH", help="a document, or a folder of documents")
    parse.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write to")
    parse.add_argument("--model", default="docling", help="the parsing model (default: docling)")
    parse.add_argument(
        "--glob", default="**/*", help="a folder's files to parse (default: **/*, those of a format the parser knows)"
    )
    parse.add_argument("--json", action="store_true", help="also write the parser's document as JSON")
    parse.add_argument(
        "--options", type=json_object, metavar="JSON", help="model options, e.g. '{\"ocr\": true}' (default: none)"
    )
    parse.add_argument("--batch-size", type=_positive_int, default=1, metavar="N", help="documents per request (1)")
    parse.add_argument(
        "--max-mib",
        dest="max_bytes",
        type=_mebibytes,
        default=MAX_DOCUMENT_BYTES,
        metavar="MiB",
        help="the largest file sent (default: 16, the server's default)",
    )
    parse.add_argument(
        "--concurrency", type=_positive_int, default=None, metavar="N", help="requests in flight (default: adapts)"
    )
    parse.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is no TTY")
    parse.add_argument("--overwrite", action="store_true", help="parse every file again, even those already done")
    return parser


def main(argv: Sequence[str] | None = None, *, http_client: httpx.Client | None = None) -> int:
    """Entry point; ``http_client`` replaces the network (tests pass one on an ``httpx.MockTransport``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        resolve_base_url(args.base_url)
    except ValueError as exc:
        print(f"sie-integrations: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        connection = Connection(client_options(args))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.command == "doctor":
            return doctor_command(connection, as_json=args.json, http_client=http_client)
        if args.command == "parse":
            given = {field.name: getattr(args, field.name) for field in dataclasses.fields(ParseOptions)}
            parse = ParseOptions(**{**given, "progress": args.progress or sys.stderr.isatty()})
            return parse_command(parse, connection, http_client=http_client)
        given = {field.name: getattr(args, field.name) for field in dataclasses.fields(EmbedOptions)}
        options = EmbedOptions(**{**given, "progress": args.progress or sys.stderr.isatty()})
        return embed_command(options, connection, http_client=http_client)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `sie-integrations doctor | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # keeps the interpreter's final flush quiet
        return EXIT_FAILED
