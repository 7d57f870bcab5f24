"""The connection fields every framework adapter shares, and the clients built from them."""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from ._async_client import AsyncSIEClient
from ._client import SIEClient
from ._config import same_origin


class _Clients:
    """The lazily built clients of one adapter. Pickles as empty: clients never cross processes."""

    def __init__(self) -> None:
        self.sync: SIEClient | None = None
        self.async_: AsyncSIEClient | None = None

    def __reduce__(self) -> tuple[type[_Clients], tuple[()]]:
        return (_Clients, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> _Clients:
        return _Clients()


def _env_key() -> SecretStr | None:
    key = os.environ.get("SIE_API_KEY")
    return SecretStr(key) if key else None


class SIEConnection(BaseModel):
    """Where and how to reach SIE. ``api_key`` defaults to ``SIE_API_KEY``, ``base_url`` to ``SIE_BASE_URL``."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    base_url: str | None = Field(default_factory=lambda: os.environ.get("SIE_BASE_URL"))
    api_key: SecretStr | None = Field(default_factory=_env_key, exclude=True)
    timeout: float | None = None
    gpu: str | None = None
    pool: str | None = None
    wait_for_capacity: bool = True
    max_retries: int = 3
    http2: bool = False
    """Offer HTTP/2 to an ``https://`` server (``pip install 'sie-integrations[http2]'``)."""
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)

    _clients: _Clients = PrivateAttr(default_factory=lambda: _Clients())

    @model_validator(mode="after")
    def _keep_env_key_at_home(self) -> SIEConnection:
        """The ``SIE_API_KEY`` variable goes only to the server ``SIE_BASE_URL`` names."""
        env_url = os.environ.get("SIE_BASE_URL")
        key_from_env = "api_key" not in self.model_fields_set
        explicit_url = self.base_url if "base_url" in self.model_fields_set else None
        if (
            key_from_env
            and explicit_url is not None
            and self.api_key is not None
            and (env_url is None or not same_origin(env_url, explicit_url))
        ):
            self.api_key = None
        return self

    def _connection_args(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "timeout": self.timeout,
            "gpu": self.gpu,
            "pool": self.pool,
            "wait_for_capacity": self.wait_for_capacity,
            "max_retries": self.max_retries,
            "http2": self.http2,
        }

    @property
    def client(self) -> SIEClient:
        """The synchronous client, built on first use."""
        if self._clients.sync is None:
            self._clients.sync = SIEClient(**self._connection_args(), http_client=self.http_client)
        return self._clients.sync

    @property
    def async_client(self) -> AsyncSIEClient:
        """The asynchronous client (one connection pool per event loop), built on first use."""
        if self._clients.async_ is None:
            self._clients.async_ = AsyncSIEClient(**self._connection_args(), http_client=self.http_async_client)
        return self._clients.async_

    def close(self) -> None:
        """Close the synchronous connection pool."""
        if self._clients.sync is not None:
            self._clients.sync.close()
            self._clients.sync = None

    async def aclose(self) -> None:
        """Close this event loop's connection pool."""
        if self._clients.async_ is not None:
            await self._clients.async_.aclose()
            self._clients.async_ = None


class SIEStreamingConnection(SIEConnection):
    """The connection fields of the adapters that stream (the chat models), plus ``stream_chunk_timeout``."""

    stream_chunk_timeout: float | None = Field(default=None, gt=0)
    """Seconds a stream may go without sending anything before it fails with ``SIETimeoutError``
    (``None``: the read timeout of ``timeout``)."""

    def _connection_args(self) -> dict[str, Any]:
        return {**super()._connection_args(), "stream_chunk_timeout": self.stream_chunk_timeout}
