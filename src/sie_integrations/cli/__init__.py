"""The ``sie-integrations`` command."""

from .main import main

__all__ = ["main"]
