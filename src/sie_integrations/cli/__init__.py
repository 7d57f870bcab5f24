"""The ``sie-integrations`` command."""

from .app import EXIT_CODES, build_parser, main

__all__ = ["EXIT_CODES", "build_parser", "main"]
