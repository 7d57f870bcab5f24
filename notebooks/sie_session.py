"""Where the notebooks talk to SIE: a live server, or a session recorded from the real SIE peer.

``SIE_NOTEBOOK_MODE``: ``live`` (needs ``SIE_BASE_URL``), ``replay`` (the cassette), ``record``
(re-records from the peer on http://127.0.0.1:18080), or unset: live when a server answers,
else replay.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sie_integrations import SIEClient, SIEError

RECORDED_URL = "http://127.0.0.1:18080"
CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "notebooks"
START = "../shared/peer/setup.sh && ../shared/peer/start.sh, then SIE_BASE_URL=http://127.0.0.1:18080"


def _answers(url: str) -> bool:
    try:
        with SIEClient(url, timeout=3.0, max_retries=0) as probe:
            return probe.health().ok
    except SIEError:
        return False


class Session:
    """The base URL to use, and the cassette being replayed or recorded, if any."""

    def __init__(self, name: str) -> None:
        mode = os.environ.get("SIE_NOTEBOOK_MODE", "")
        url = os.environ.get("SIE_BASE_URL", "http://localhost:8080").rstrip("/")
        self._cassette: Any = None
        if mode == "live" or (not mode and _answers(url)):
            self.base_url, self.mode = url, "live"
        else:
            self.base_url, self.mode = RECORDED_URL, "record" if mode == "record" else "replay"
            import vcr

            recorder = vcr.VCR(
                record_mode="all" if self.mode == "record" else "none",
                match_on=["method", "scheme", "host", "port", "path", "query", "body"],
                filter_headers=["authorization"],
                decode_compressed_response=True,
            )
            self._cassette = recorder.use_cassette(str(CASSETTES / f"{name}.yaml"))
            self._cassette.__enter__()
        if self.mode == "live":
            print(f"Live against {self.base_url}")
        elif self.mode == "record":
            print(f"Recording from {self.base_url}")
        else:
            print(f"Replaying a session recorded from the real SIE peer (no server answered). To run live: {START}")

    def close(self) -> None:
        """Stop replaying (or save the recording)."""
        if self._cassette is not None:
            self._cassette.__exit__(None, None, None)
            self._cassette = None
