"""Graph documents in tests: hiding the packages whose graph classes they would use, and naming their nodes."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from sie_integrations.langchain._graph import GRAPH_MODULES


def block(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make these packages look not installed, even where already imported."""
    for name in GRAPH_MODULES:
        if name.split(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def node_keys(nodes: Any) -> list[tuple[str, str]]:
    """Each node's id and type, in order."""
    return [(n.id, n.type) for n in nodes]
