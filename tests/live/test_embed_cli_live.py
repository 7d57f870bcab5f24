"""``sie-integrations embed --options`` against the real peer (live), replayed from cassettes by default: the
options go with every request (an unknown profile is refused by the server, named), and a rerun with other
options is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sie_integrations.cli import main
from tests.support.live import FACTS, MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]


@pytest.fixture(autouse=True)
def _no_sie_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIE_BASE_URL", raising=False)
    monkeypatch.delenv("SIE_API_KEY", raising=False)


def test_embed_sends_model_options(tmp_path: Path, sie_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "facts.txt"
    source.write_text("\n".join(FACTS) + "\n", encoding="utf-8")
    out = tmp_path / "facts.npy"
    args = ["embed", MINILM, str(source), "-o", str(out), "--base-url", sie_url]
    assert main([*args, "--options", '{"profile": "default"}']) == 0
    assert np.load(out).shape == (len(FACTS), 384)
    capsys.readouterr()
    assert main([*args, "--options", '{"profile": "nope"}']) == 1
    assert "its --options was {'profile': 'default'}, this run's is {'profile': 'nope'}" in capsys.readouterr().err
    code = main([*args, "--options", '{"profile": "nope"}', "--overwrite"])
    assert code == 1 and "Profile 'nope' not found" in capsys.readouterr().err
