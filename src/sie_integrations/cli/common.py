"""What the CLI commands share: exit codes, connection options, the client they build, error lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from .._http.client import SIEClient
from .._http.config import ClientConfig
from .._http.options import ClientOptions, env_key_for, resolve_base_url
from ..errors import (
    AccountInactiveError,
    InsufficientCreditsError,
    ModelNotFoundError,
    RelayUnavailableError,
    SIEConnectionError,
    SIEError,
    SIETimeoutError,
    SpendLimitError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


# The client options the command line offers, with their metavars. Their help, type, default and checks
# are ClientOptions'; headers are left out (a header on the command line shows up in `ps`). A command takes
# the ones it uses (``add_client_flags(names=...)``).
FLAGS = {
    "base_url": "URL",
    "api_key": "KEY",
    "timeout": "S",
    "stream_chunk_timeout": "S",
    "gpu": "PROFILE",
    "pool": "NAME",
    "wait_for_capacity": None,
    "provision_timeout": "S",
    "max_retries": "N",
    "wire_format": None,
    "http2": None,
}


def flag(name: str) -> str:
    """The command-line flag of a client option."""
    return "--" + name.replace("_", "-")


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def add_client_flags(
    parser: argparse.ArgumentParser, names: Sequence[str], *, defaults: Mapping[str, Any], helps: Mapping[str, str]
) -> None:
    """Add a ``connection`` group with a flag for each of these client options (names in ``FLAGS``)."""
    group = parser.add_argument_group("connection")
    for name in names:
        metavar = FLAGS[name]
        field = ClientOptions.model_fields[name]
        kinds = get_args(field.annotation) or (field.annotation,)
        text = helps.get(name, field.description or "")
        default = defaults.get(name)
        if bool in kinds:
            group.add_argument(flag(name), action=argparse.BooleanOptionalAction, default=default, help=text)
        elif get_origin(field.annotation) is Literal:
            group.add_argument(flag(name), choices=kinds, default=default, help=text)
        else:
            read = _seconds if float in kinds else int if int in kinds else str
            group.add_argument(flag(name), metavar=metavar, type=read, default=default, help=text)


def client_options(args: argparse.Namespace) -> ClientOptions:
    """The client options given on the command line, checked as the client checks them.

    ``ValueError`` (its message naming the flag) when one is wrong.
    """
    given = {name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None}
    if "api_key" in given:
        given["api_key"] = SecretStr(given["api_key"])
    options = ClientOptions.model_construct(**given)
    try:
        ClientConfig(options)
    except (ValueError, ImportError) as exc:
        message = str(exc)
        for name in FLAGS:
            if message.startswith(f"{name} "):
                message = flag(name) + message[len(name) :]
        raise ValueError(message) from None
    return options


@dataclass(frozen=True)
class Connection:
    """The client options a command runs with (unset ones come from the environment, else the defaults)."""

    options: ClientOptions = field(default_factory=lambda: ClientOptions())

    @property
    def url(self) -> str:
        """The resolved base URL (``--base-url``, else ``SIE_BASE_URL``, else the client default)."""
        return resolve_base_url(self.options.base_url)

    @property
    def timeout(self) -> float | None:
        """``--timeout`` in seconds, or None."""
        timeout = self.options.timeout
        return timeout if timeout is None or isinstance(timeout, float | int) else timeout.read

    def key_source(self) -> str | None:
        """Where the key that will be sent comes from: ``"--api-key"``, ``"SIE_API_KEY"`` or None."""
        if self.options.api_key is not None and self.options.api_key.get_secret_value():
            return "--api-key"
        return "SIE_API_KEY" if env_key_for(self.options.base_url) is not None else None

    def env_key_withheld(self) -> bool:
        """True when ``SIE_API_KEY`` is set but not sent, because ``--base-url`` names another server."""
        return bool(os.environ.get("SIE_API_KEY")) and self.key_source() is None

    def with_options(self, **changes: Any) -> Connection:
        """These options with some changed."""
        return Connection(self.options.model_copy(update=changes))

    def client(self, http_client: httpx.Client | None = None, **changes: Any) -> SIEClient:
        """An ``SIEClient`` for these options (and ``changes``), on ``http_client`` when one is given (tests)."""
        return SIEClient.from_options(self.options.model_copy(update=changes), http_client)


def run_command(
    name: str,
    connection: Connection,
    http_client: httpx.Client | None,
    sizes: tuple[int, int | None],
    run: Callable[[SIEClient], int],
    exit_code: Callable[[Exception], int | None],
) -> int:
    """Run a command's ``run`` with a client: ``sizes`` (``--batch-size``, ``--concurrency``) checked first; an
    error that ``exit_code`` gives a code to is printed, named after the command, and exits with that code."""
    batch_size, concurrency = sizes
    if batch_size < 1 or (concurrency is not None and concurrency < 1):
        print(f"sie-integrations {name}: --batch-size and --concurrency must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        with connection.client(http_client) as client:
            return run(client)
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        print(f"sie-integrations {name}: {exc}", file=sys.stderr)
        return code


def start_hint(base_url: str) -> str:
    """What to try when nothing answers at ``base_url``."""
    port = urlsplit(base_url).port or 8080
    return (
        f"is the server running? check the port ({port}) in --base-url / SIE_BASE_URL, or start one "
        "(docs: Run an SIE server)"
    )


def error_line(error: BaseException, base_url: str) -> str:
    """One line explaining an error, with a hint when the cause is likely on the user's side."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, SIETimeoutError):
        return f"{text} — is the server overloaded, or is --timeout too short?"
    if isinstance(error, SIEConnectionError):
        return f"the server is not reachable at {base_url}: {text} — {start_hint(base_url)}"
    if isinstance(error, ModelNotFoundError):
        return f"{text} — `sie-integrations doctor` lists the models the server has"
    if isinstance(error, AccountInactiveError | RelayUnavailableError | InsufficientCreditsError | SpendLimitError):
        return text  # the key is fine: the account or its billing says no
    if isinstance(error, SIEError) and error.status_code in (401, 403):
        return f"{text} — check the API key (--api-key or SIE_API_KEY)"
    return text


def json_object(text: str) -> dict[str, Any]:
    """``--options`` (of ``embed`` and ``parse``): a JSON object (``'{"ocr": true}'``)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, such as '{{\"ocr\": true}}', not {text}")
    return value
