"""Recorded traffic never carries credentials (the live tier sends a key so that this can fail), and each
recording belongs to the live test module its path names."""

from __future__ import annotations

import re

from tests.support.live import CASSETTES, LIVE_API_KEY, TESTS


def test_cassettes_exist_and_hold_no_credentials() -> None:
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert len(files) >= 20
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert LIVE_API_KEY not in text, path
        assert not re.search(r"(?im)^\s*-?\s*authorization:", text), path
        assert not re.search(r"(?i)bearer\s+[a-z0-9]", text), path


def test_each_cassette_folder_is_a_live_test_module() -> None:
    """Cassettes are keyed by the test's path: ``cassettes/live/x/test_y/`` holds ``tests/live/x/test_y.py``'s."""
    folders = {path.parent for path in (CASSETTES / "live").rglob("*.yaml")}
    assert folders
    for folder in folders:
        module = TESTS / folder.relative_to(CASSETTES).with_suffix(".py")
        assert module.is_file(), f"{folder.relative_to(CASSETTES)} belongs to no test module"
