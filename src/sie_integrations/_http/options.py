"""The client options, defined once: the clients, the adapters and the command line all take these."""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_BASE_URL = "http://localhost:8080"
HOSTED_BASE_URL = "https://api.superlinked.com"
"""SIE's hosted service: never a default (nothing leaves the machine unless the user names where it goes)."""
TimeoutLike = float | httpx.Timeout | None


class ClientOptions(BaseModel):
    """Where and how a client reaches SIE, and how long it waits for capacity.

    The adapters validate these as pydantic fields; the clients take them as given (``model_construct``) and
    ``ClientConfig`` checks them, as a plain Python API does. Each field's ``description`` is also the command
    line's help; the docstring under it is what the reference shows.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    base_url: str | None = Field(
        default=None, description="Server URL; defaults to SIE_BASE_URL, else http://localhost:8080."
    )
    """The SIE server or gateway URL (absolute ``http://`` or ``https://``, optionally with a path prefix);
    None (default): the ``SIE_BASE_URL`` environment variable, else ``http://localhost:8080``."""
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        description="Bearer key; defaults to SIE_API_KEY (sent only to the SIE_BASE_URL server).",
    )
    """The bearer key; None (default): the ``SIE_API_KEY`` environment variable, which is sent only to the
    server ``SIE_BASE_URL`` names. Left out of ``model_dump()``."""
    timeout: TimeoutLike = Field(
        default=None, description="Seconds per attempt, or an httpx.Timeout (default: 150 s read, 10 s connect)."
    )
    """Seconds per attempt, or an ``httpx.Timeout``; None (default): 150 s to read, 10 s to connect."""
    stream_chunk_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a stream may go without sending anything (its first bytes included) before it is "
        "closed with SIETimeoutError; None (default) uses the read timeout.",
    )
    """Seconds a stream may go without sending anything (its first bytes included) before it is closed with
    ``SIETimeoutError``; None (default): the read timeout."""
    gpu: str | None = Field(default=None, description='Machine profile to route to, or "pool/profile".')
    """The machine profile a gateway routes to (``"l4"``), or ``"pool/profile"`` for one of a pool's; None
    (default): the gateway chooses. Leave it unset for a standalone server: it refuses (400) a profile that is
    not its own."""
    pool: str | None = Field(default=None, description="Pool to route to.")
    """The pool a gateway routes to (usually given as ``gpu="pool/profile"``); None (default): no pool."""
    wait_for_capacity: bool = Field(
        default=True,
        description="Wait while the model loads or capacity is provisioned (202 / 503) or busy (429 / 503).",
    )
    """Wait, and send again, while the model loads or capacity is provisioned (202, 503) or the server is busy
    (429, back-pressure 503s), for up to ``provision_timeout``. False: fail fast (busy answers still get
    ``max_retries``). Default True."""
    provision_timeout: float = Field(
        default=900.0, gt=0, description="Total seconds one call may spend waiting for capacity."
    )
    """Total seconds one call may spend waiting for capacity (default 900)."""
    max_retries: int = Field(
        default=3, ge=0, description="Retries after 429, back-pressure 503s and failed connections."
    )
    """Retries after 429s, back-pressure 503s and failed connections (default 3). A generation is never sent
    again once it may have reached the server. ``0`` sends nothing twice, whatever the answer: no capacity or
    back-pressure waits either (a 429 raises ``RateLimitError`` at once, for fallbacks)."""
    headers: dict[str, str] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Extra headers sent with every request (may hold credentials).",
    )
    """Extra headers sent with every request. They may hold credentials, so ``repr()`` and ``model_dump()``
    leave them out."""
    wire_format: Literal["msgpack", "json"] = Field(
        default="msgpack", description='Body format of encode, score and extract: "msgpack" (default) or "json".'
    )
    """The body format of encode, score and extract: ``"msgpack"`` (default, compact) or ``"json"``."""
    http2: bool = Field(
        default=False,
        description="Offer HTTP/2 to https:// servers (pip install 'sie-integrations[http2]'); "
        "plain http:// stays HTTP/1.1.",
    )
    """Offer HTTP/2 to ``https://`` servers (needs ``pip install 'sie-integrations[http2]'``); plain
    ``http://`` stays HTTP/1.1. Default False."""

    def client_options(self) -> ClientOptions:
        """Just the client options (a subclass, such as an adapter, has more fields)."""
        return ClientOptions.model_validate({name: getattr(self, name) for name in ClientOptions.model_fields})


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs name the same scheme, host and port."""
    return _origin(a.strip()) == _origin(b.strip())


def resolve_base_url(base_url: str | None) -> str:
    """The URL requests go to: ``base_url``, else ``SIE_BASE_URL``, else the default; checked."""
    url = (base_url or os.environ.get("SIE_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    scheme, host, _ = _origin(url)
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"base_url must be an absolute http:// or https:// URL, got {url!r}")
    return url


def unnamed_server_hint(base_url: str | None, api_key: object) -> str | None:
    """What a connection error adds when no server was named (``base_url`` or ``SIE_BASE_URL``): that the local
    default was tried, and how to name a server or SIE's hosted service; None when one was named."""
    if base_url or os.environ.get("SIE_BASE_URL"):
        return None
    name = (
        f"set SIE_BASE_URL (or base_url, --base-url) to your server's URL, or to {HOSTED_BASE_URL} for SIE's "
        "hosted service"
    )
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    if key or os.environ.get("SIE_API_KEY"):
        return f"an API key is set but no server was named, so the local default {DEFAULT_BASE_URL} was tried: {name}"
    return f"no server was named, so the local default {DEFAULT_BASE_URL} was tried: {name}"


class EnvKey(SecretStr):
    """A key read from the ``SIE_API_KEY`` variable: wherever it is held (a copy, a configured model), it is sent
    only where ``env_key_for`` lets it."""


def env_key_for(base_url: str | None) -> EnvKey | None:
    """The ``SIE_API_KEY`` variable, where it may be sent: only to the server ``SIE_BASE_URL`` names.

    ``base_url`` is the URL the caller named; ``None`` means the ``SIE_BASE_URL`` server itself.
    """
    env_key = os.environ.get("SIE_API_KEY")
    if not env_key:
        return None
    env_url = os.environ.get("SIE_BASE_URL")
    # Compare origins without validating SIE_BASE_URL: a malformed variable must not break an explicit base_url.
    if base_url is not None and (env_url is None or not same_origin(env_url, base_url)):
        return None
    return EnvKey(env_key)
