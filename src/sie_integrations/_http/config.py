"""Client settings shared by the sync and async clients: base URL, key, routing headers, retries."""

from __future__ import annotations

import ipaddress
import logging
import os
import warnings
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from httpx import USE_CLIENT_DEFAULT
from httpx._client import UseClientDefault
from pydantic import SecretStr

from .._core.call import Call
from .._core.retry import RetryPolicy
from .._version import __version__

logger = logging.getLogger("sie_integrations")

DEFAULT_BASE_URL = "http://localhost:8080"
DEFAULT_TIMEOUT = httpx.Timeout(150.0, connect=10.0)
USER_AGENT = f"sie-integrations/{__version__} httpx/{httpx.__version__}"
_OWN_HEADERS = frozenset(
    {"authorization", "user-agent", "x-sie-machine-profile", "x-sie-pool", "accept", "content-type"}
)
_warned_plain_http: set[str] = set()

TimeoutLike = float | httpx.Timeout | None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs name the same scheme, host and port."""
    return _origin(a.strip()) == _origin(b.strip())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None) -> str:
    url = (base_url or os.environ.get("SIE_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    scheme, host, _ = _origin(url)
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"base_url must be an absolute http:// or https:// URL, got {url!r}")
    return url


def resolve_api_key(api_key: str | SecretStr | None, base_url: str, explicit_base_url: bool) -> SecretStr | None:
    """The key to send. The ``SIE_API_KEY`` variable only goes to the server ``SIE_BASE_URL`` names."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if api_key:
        return SecretStr(api_key)
    env_key = os.environ.get("SIE_API_KEY")
    if not env_key:
        return None
    env_url = os.environ.get("SIE_BASE_URL")
    # Compare origins without validating SIE_BASE_URL: a malformed variable must not break an explicit base_url.
    if explicit_base_url and (env_url is None or not same_origin(env_url, base_url)):
        logger.debug("SIE_API_KEY is not sent to %s: it is not the server SIE_BASE_URL names", base_url)
        return None
    return SecretStr(env_key)


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
    """Everything both clients need to build requests; no I/O."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | SecretStr | None,
        *,
        timeout: TimeoutLike,
        stream_chunk_timeout: float | None,
        gpu: str | None,
        pool: str | None,
        wait_for_capacity: bool,
        provision_timeout: float,
        max_retries: int,
        headers: Mapping[str, str] | None,
        wire_format: Literal["msgpack", "json"],
        http2: bool = False,
    ) -> None:
        if wire_format not in ("msgpack", "json"):
            raise ValueError("wire_format must be 'msgpack' or 'json'")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if provision_timeout <= 0:
            raise ValueError("provision_timeout must be > 0")
        if stream_chunk_timeout is not None and not stream_chunk_timeout > 0:  # NaN fails too
            raise ValueError("stream_chunk_timeout must be > 0 seconds, or None")
        self.base_url = resolve_base_url(base_url)
        self.api_key = resolve_api_key(api_key, self.base_url, explicit_base_url=base_url is not None)
        self.timeout = DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout)
        # An explicit timeout also applies to an injected client; otherwise the client's own setting stands.
        self._request_timeout: httpx.Timeout | UseClientDefault = (
            USE_CLIENT_DEFAULT if timeout is None else self.timeout
        )
        self.stream_chunk_timeout = None if stream_chunk_timeout is None else float(stream_chunk_timeout)
        self.pool, self.gpu = split_gpu(gpu, pool)
        self.policy = RetryPolicy(wait_for_capacity, float(provision_timeout), max_retries)
        self.wire_format = wire_format
        self.http2 = http2
        if http2:
            _require_h2()
        self.headers = self._fixed_headers(headers or {})
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
        scheme, host, _ = _origin(self.base_url)
        if self.api_key is not None and scheme == "http" and not _is_loopback(host) and host not in _warned_plain_http:
            _warned_plain_http.add(host)
            warnings.warn(
                f"an API key is configured for {self.base_url} over plain http://; it travels unencrypted",
                stacklevel=4,
            )

    def request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any], *, stream: bool = False
    ) -> httpx.Request:
        """The request of one attempt; a stream's reads wait at most ``stream_chunk_timeout`` when it is set."""
        timeout = self._request_timeout if call.timeout is None else httpx.Timeout(call.timeout)
        if stream and self.stream_chunk_timeout is not None:
            base = http.timeout if isinstance(timeout, UseClientDefault) else timeout
            timeout = with_read_timeout(base, self.stream_chunk_timeout)
        return http.build_request(
            call.method,
            self.base_url + call.path,
            content=call.body,
            headers={**self.headers, **call.headers},
            timeout=timeout,
        )

    def url(self, call: Call[Any]) -> str:
        """The URL a call goes to."""
        return self.base_url + call.path

    @property
    def flow_kwargs(self) -> dict[str, Any]:
        """The settings ``exchange()`` takes besides the call."""
        return {"chunk_timeout": self.stream_chunk_timeout}

    def client_kwargs(self) -> dict[str, Any]:
        """Settings of the httpx clients this library creates."""
        return {
            "timeout": self.timeout,
            "follow_redirects": False,
            "limits": httpx.Limits(max_connections=64, max_keepalive_connections=32),
            "http2": self.http2,
        }

    def describe(self, cls_name: str) -> str:
        key = "'**********'" if self.api_key is not None else "None"
        return f"{cls_name}(base_url={self.base_url!r}, api_key={key}, gpu={self.gpu!r}, pool={self.pool!r})"
