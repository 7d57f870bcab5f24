"""The settings both clients build requests with: the resolved URL and key, headers, timeouts, retry policy."""

from __future__ import annotations

import ipaddress
import logging
import os
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx import USE_CLIENT_DEFAULT
from pydantic import SecretStr

from .._core.call import Call
from .._core.concurrency import DEFAULT_CAP
from .._core.retry import RetryPolicy
from .._version import __version__
from .options import ClientOptions, EnvKey, env_key_for, resolve_base_url, unnamed_server_hint

logger = logging.getLogger("sie_integrations")

DEFAULT_TIMEOUT = httpx.Timeout(150.0, connect=10.0)
USER_AGENT = f"sie-integrations/{__version__} httpx/{httpx.__version__}"
_OWN_HEADERS = frozenset(
    {"authorization", "user-agent", "x-sie-machine-profile", "x-sie-pool", "accept", "content-type"}
)
_warned_plain_http: set[str] = set()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(api_key: str | SecretStr | None, base_url: str, explicit_base_url: bool) -> SecretStr | None:
    """The key to send: ``api_key``, else ``SIE_API_KEY`` where ``env_key_for`` lets it go (an ``EnvKey`` is the
    variable's key, whoever passes it)."""
    if isinstance(api_key, EnvKey):
        api_key = None
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if api_key:
        return SecretStr(api_key)
    key = env_key_for(base_url if explicit_base_url else None)
    if key is None and os.environ.get("SIE_API_KEY"):
        logger.debug("SIE_API_KEY is not sent to %s: it is not the server SIE_BASE_URL names", base_url)
    return key


def split_gpu(gpu: str | None, pool: str | None) -> tuple[str | None, str | None]:
    """``"l4"`` -> (None, "l4"); ``"my-pool/l4"`` -> ("my-pool", "l4"). Returns (pool, profile)."""
    profile = gpu
    if gpu and "/" in gpu:
        gpu_pool, profile = gpu.split("/", 1)
        if pool and pool != gpu_pool:
            raise ValueError(f"gpu={gpu!r} names pool {gpu_pool!r} but pool={pool!r}")
        pool = gpu_pool
    return pool or None, profile or None


def with_read_timeout(timeout: httpx.Timeout, read: float) -> httpx.Timeout:
    """``timeout`` with another read timeout: the longest wait for the next bytes of a response."""
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def _require_h2() -> None:
    try:
        import h2  # noqa: F401
    except ImportError as exc:
        raise ImportError("http2=True needs the h2 package: pip install 'sie-integrations[http2]'") from exc


class ClientConfig:
    """Everything both clients need to build requests, from their options; no I/O."""

    def __init__(self, options: ClientOptions) -> None:
        if options.wire_format not in ("msgpack", "json"):
            raise ValueError("wire_format must be 'msgpack' or 'json'")
        if options.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if options.provision_timeout <= 0:
            raise ValueError("provision_timeout must be > 0")
        chunk_timeout = options.stream_chunk_timeout
        if chunk_timeout is not None and not chunk_timeout > 0:  # NaN fails too
            raise ValueError("stream_chunk_timeout must be > 0 seconds, or None")
        self.options = options
        self.base_url = resolve_base_url(options.base_url)
        self.api_key = resolve_api_key(options.api_key, self.base_url, explicit_base_url=options.base_url is not None)
        self.connect_hint = unnamed_server_hint(options.base_url, options.api_key)
        self.timeout = DEFAULT_TIMEOUT if options.timeout is None else httpx.Timeout(options.timeout)
        # An explicit timeout also applies to an injected client; otherwise the client's own setting stands.
        self._request_timeout = None if options.timeout is None else self.timeout
        self.stream_chunk_timeout = None if chunk_timeout is None else float(chunk_timeout)
        self.pool, self.gpu = split_gpu(options.gpu, options.pool)
        self.policy = RetryPolicy(options.wait_for_capacity, float(options.provision_timeout), options.max_retries)
        self.wire_format = options.wire_format
        self.http2 = options.http2
        if options.http2:
            _require_h2()
        self.headers = self._fixed_headers(options.headers or {})
        self._warn_plain_http()

    def _fixed_headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in extra.items() if k.lower() not in _OWN_HEADERS}
        headers["User-Agent"] = USER_AGENT
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        if self.gpu:
            headers["X-SIE-MACHINE-PROFILE"] = self.gpu
        if self.pool:
            headers["X-SIE-Pool"] = self.pool
        return headers

    def _warn_plain_http(self) -> None:
        parts = urlsplit(self.base_url)
        scheme, host = parts.scheme, (parts.hostname or "").lower()
        if self.api_key is not None and scheme == "http" and not _is_loopback(host) and host not in _warned_plain_http:
            _warned_plain_http.add(host)
            warnings.warn(
                f"an API key is configured for {self.base_url} over plain http://; it travels unencrypted",
                stacklevel=5,
            )

    def request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any], *, stream: bool = False
    ) -> httpx.Request:
        """The request of one attempt; a stream's reads wait at most ``stream_chunk_timeout`` when it is set."""
        timeout = self._request_timeout if call.timeout is None else httpx.Timeout(call.timeout)
        if stream and self.stream_chunk_timeout is not None:
            timeout = with_read_timeout(timeout or http.timeout, self.stream_chunk_timeout)
        return http.build_request(
            call.method,
            self.base_url + call.path,
            content=call.body,
            headers={**self.headers, **call.headers},
            timeout=USE_CLIENT_DEFAULT if timeout is None else timeout,
        )

    def url(self, call: Call[Any]) -> str:
        """The URL a call goes to, as httpx writes it (in error messages)."""
        return str(httpx.URL(self.base_url + call.path))

    def client_kwargs(self) -> dict[str, Any]:
        """Settings of the httpx clients this library creates."""
        return {
            "timeout": self.timeout,
            "follow_redirects": False,
            "limits": httpx.Limits(max_connections=DEFAULT_CAP, max_keepalive_connections=DEFAULT_CAP),
            "http2": self.http2,
        }

    def describe(self, cls_name: str) -> str:
        key = "'**********'" if self.api_key is not None else "None"
        return f"{cls_name}(base_url={self.base_url!r}, api_key={key}, gpu={self.gpu!r}, pool={self.pool!r})"
