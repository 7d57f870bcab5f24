"""The docs' own checks: they hold code to run, and every command line they show parses."""

from __future__ import annotations

import pytest

from sie_integrations.cli import build_parser
from tests.support.docs import cli_commands, snippets


def test_the_docs_have_snippets() -> None:
    found = snippets()
    assert len(found) >= 40
    assert all(s.code.strip() for s in found)


def test_every_documented_command_line_parses() -> None:
    commands = cli_commands()
    assert len(commands) >= 4
    parser = build_parser()
    for where, argv in commands:
        if "--help" in argv or "-h" in argv:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{where}: the CLI refuses these arguments (exit {exc.code})")
