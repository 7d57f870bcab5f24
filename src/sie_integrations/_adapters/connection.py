"""The connection fields every framework adapter shares, and the clients built from them."""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from .._http.config import same_origin


class _Clients:
    """The lazily built clients of one adapter. Pickles as empty: clients never cross processes."""

    def __init__(self) -> None:
        self.sync: SIEClient | None = None
        self.async_: AsyncSIEClient | None = None

    def __reduce__(self) -> tuple[type[_Clients], tuple[()]]:
        return (_Clients, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> _Clients:
        return _Clients()


def known_arguments(cls: type[BaseModel]) -> set[str]:
    """The constructor arguments a model takes: field names and their aliases."""
    names = set(cls.model_fields)
    names.update(f.alias for f in cls.model_fields.values() if f.alias)
    return names


def unknown_arguments_message(owner: str, unknown: list[str], known: set[str]) -> str:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return f"{owner} got unknown argument(s) {', '.join(hints)}"


def carry_unknown(owner: type[BaseModel], data: dict[str, Any], unknown: list[str], into: str) -> dict[str, Any]:
    """``data`` with the unknown arguments moved into the field ``into`` (sent with every request), with a warning."""
    extra = dict(data.get(into) or {})
    for name in unknown:
        extra[name] = data.pop(name)
    warnings.warn(
        f"{unknown_arguments_message(owner.__name__, unknown, known_arguments(owner))}: "
        f"moved to {into} and sent with every request",
        UserWarning,
        stacklevel=4,
    )
    return {**data, into: extra}


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
    provision_timeout: float = Field(default=900.0, gt=0)
    """Total seconds one call may spend waiting for capacity (loading, provisioning, back-pressure)."""
    max_retries: int = Field(default=3, ge=0)
    stream_chunk_timeout: float | None = Field(default=None, gt=0)
    """Seconds a stream may go without sending anything before it fails with ``SIETimeoutError``
    (``None``: the read timeout of ``timeout``)."""
    headers: dict[str, str] | None = Field(default=None, exclude=True, repr=False)
    """Extra headers sent with every request (kept out of dumps and ``repr``: they may hold credentials)."""
    wire_format: Literal["msgpack", "json"] = "msgpack"
    """Body format of encode, score and extract answers."""
    http2: bool = False
    """Offer HTTP/2 to an ``https://`` server (``pip install 'sie-integrations[http2]'``)."""
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)

    _clients: _Clients = PrivateAttr(default_factory=lambda: _Clients())

    @model_validator(mode="before")
    @classmethod
    def _check_arguments(cls, data: Any) -> Any:
        """Unknown constructor arguments are never dropped: see ``_unknown_arguments``."""
        if not isinstance(data, Mapping):
            return data
        unknown = sorted(str(k) for k in data if k not in known_arguments(cls))
        return cls._unknown_arguments(dict(data), unknown) if unknown else data

    @classmethod
    def _unknown_arguments(cls, data: dict[str, Any], unknown: list[str]) -> dict[str, Any]:
        """Refuse them; the chat models send them with every request instead."""
        raise ValueError(unknown_arguments_message(cls.__name__, unknown, known_arguments(cls)))

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
            "stream_chunk_timeout": self.stream_chunk_timeout,
            "wait_for_capacity": self.wait_for_capacity,
            "provision_timeout": self.provision_timeout,
            "max_retries": self.max_retries,
            "headers": self.headers,
            "wire_format": self.wire_format,
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
