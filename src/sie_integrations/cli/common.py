"""What the CLI commands share: exit codes, connection options, the client they build, error lines."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .._http.client import SIEClient
from .._http.config import resolve_api_key
from .._http.options import resolve_base_url
from ..errors import ModelNotFoundError, SIEConnectionError, SIEError, SIETimeoutError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Connection:
    """Where to reach the server, as given on the command line (None: from the environment)."""

    base_url: str | None = None
    api_key: str | None = None
    timeout: float | None = None
    max_retries: int = 3

    @property
    def url(self) -> str:
        """The resolved base URL (``--base-url``, else ``SIE_BASE_URL``, else the client default)."""
        return resolve_base_url(self.base_url)

    def key_source(self) -> str | None:
        """Where the key that will be sent comes from: ``"--api-key"``, ``"SIE_API_KEY"`` or None."""
        if self.api_key:
            return "--api-key"
        sent = resolve_api_key(None, self.url, explicit_base_url=self.base_url is not None)
        return "SIE_API_KEY" if sent is not None else None

    def env_key_withheld(self) -> bool:
        """True when ``SIE_API_KEY`` is set but not sent, because ``--base-url`` names another server."""
        return not self.api_key and bool(os.environ.get("SIE_API_KEY")) and self.key_source() is None

    def client(self, http_client: httpx.Client | None = None, *, provision_timeout: float = 900.0) -> SIEClient:
        """An ``SIEClient`` for these settings, on ``http_client`` when one is given (tests)."""
        return SIEClient(
            self.base_url,
            self.api_key or None,
            timeout=self.timeout,
            max_retries=self.max_retries,
            provision_timeout=provision_timeout,
            http_client=http_client,
        )


def start_hint(base_url: str) -> str:
    """What to try when nothing answers at ``base_url``."""
    port = urlsplit(base_url).port or 8080
    return (
        f"is the server running? start one with `sie-server serve --port {port}`, "
        "or point --base-url / SIE_BASE_URL at a running server"
    )


def error_line(error: BaseException, base_url: str) -> str:
    """One line explaining an error, with a hint when the cause is likely on the user's side."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, SIETimeoutError):
        return f"{text} — is the server overloaded, or is --timeout too short?"
    if isinstance(error, SIEConnectionError):
        return f"{text} — {start_hint(base_url)}"
    if isinstance(error, ModelNotFoundError):
        return f"{text} — `sie-integrations doctor` lists the models the server has"
    if isinstance(error, SIEError) and error.status_code in (401, 403):
        return f"{text} — check the API key (--api-key or SIE_API_KEY)"
    return text
