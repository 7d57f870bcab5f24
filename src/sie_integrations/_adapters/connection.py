"""The connection fields every framework adapter shares (the client options), and the clients built from them."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, cast

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from pydantic.fields import ModelPrivateAttr
from typing_extensions import Self

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from .._http.options import ClientOptions, EnvKey, env_key_for


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


def _default(attr: ModelPrivateAttr) -> Any:
    factory = cast(Callable[[], Any] | None, attr.default_factory)
    return factory() if factory is not None else copy.deepcopy(attr.default)


def _env_key() -> EnvKey | None:
    key = os.environ.get("SIE_API_KEY")
    return EnvKey(key) if key else None


class SIEConnection(ClientOptions):
    """Every client option, as fields of an adapter; ``base_url`` and ``api_key`` default to the environment.

    Unknown constructor arguments raise ``ValueError`` naming the closest field; ``_renames`` maps the other
    names a subclass takes for a field to the field.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    base_url: str | None = Field(
        default_factory=lambda: os.environ.get("SIE_BASE_URL"),
        description=ClientOptions.model_fields["base_url"].description,
    )
    """The SIE server or gateway URL (absolute ``http://`` or ``https://``, optionally with a path prefix);
    defaults to the ``SIE_BASE_URL`` environment variable, else ``http://localhost:8080``."""
    api_key: SecretStr | None = Field(
        default_factory=_env_key, exclude=True, description=ClientOptions.model_fields["api_key"].description
    )
    """The bearer key; defaults to the ``SIE_API_KEY`` environment variable, which is sent only to the server
    ``SIE_BASE_URL`` names (not to another ``base_url``). Left out of serialization."""
    timeout: float | None = Field(  # seconds only: an adapter's fields stay JSON
        default=None, description="Seconds per attempt (default: 150 s read, 10 s connect)."
    )
    """Seconds per attempt; None (default): 150 s to read, 10 s to connect."""
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    """An ``httpx.Client`` for the synchronous calls instead of an owned one (for proxies, custom transports
    or connection limits); never closed by the adapter, left out of serialization."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)
    """An ``httpx.AsyncClient`` for the async calls instead of owned ones (one per event loop); never closed
    by the adapter, left out of serialization."""

    _clients: _Clients = PrivateAttr(default_factory=lambda: _Clients())
    _renames: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _check_arguments(cls, data: Any) -> Any:
        """Other names (``_renames``) taken for their fields; unknown constructor arguments refused, never dropped."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for other, name in cls._renames.items():
            if other in data and name not in data:
                data[name] = data.pop(other)
        unknown = sorted(str(k) for k in data if k not in known_arguments(cls))
        if unknown:
            raise ValueError(unknown_arguments_message(cls.__name__, unknown, known_arguments(cls)))
        return data

    @model_validator(mode="after")
    def _keep_env_key_at_home(self) -> SIEConnection:
        """The ``SIE_API_KEY`` variable's key is held only where ``env_key_for`` lets it go (the client checks
        again when it sends: a copy may change ``base_url``)."""
        explicit_url = self.base_url if "base_url" in self.model_fields_set else None
        if isinstance(self.api_key, EnvKey) and env_key_for(explicit_url) is None:
            self.__dict__["api_key"] = None
        return self

    def _start_afresh(self) -> None:
        """A copy builds and learns its own: clients, capabilities and limits back to their defaults, so it uses
        its own settings and nothing it learned of another server or model."""
        private = {name: _default(attr) for name, attr in self.__private_attributes__.items()}
        object.__setattr__(self, "__pydantic_private__", private)

    def __copy__(self) -> Self:
        copied = super().__copy__()
        copied._start_afresh()
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        memo = {} if memo is None else memo
        for given in self._given_clients().values():  # the user's: shared, never copied
            memo[id(given)] = given
        copied = super().__deepcopy__(memo)
        copied._start_afresh()
        return copied

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy that builds and learns its own (clients, capabilities); the ``http_client`` and
        ``http_async_client`` given are shared, not copied. Nothing is sent.

        Args:
            update: Field values to change in the copy, checked as when an adapter is built (``api_key="..."``
                becomes a ``SecretStr``; a bad value raises ``ValidationError``).
            deep: Copy the field values too.
        """
        given = self._given_clients() if deep else {}  # pydantic deep-copies the fields not updated itself
        copied = super().model_copy(update={**given, **(update or {})}, deep=deep)
        for name, value in (update or {}).items():
            if name in type(self).model_fields:
                type(self).__pydantic_validator__.validate_assignment(copied, name, value)
        return copied

    def _given_clients(self) -> dict[str, Any]:
        return {"http_client": self.http_client, "http_async_client": self.http_async_client}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._start_afresh()

    @property
    def client(self) -> SIEClient:
        """The synchronous client, built on first use."""
        if self._clients.sync is None:
            self._clients.sync = SIEClient.from_options(self.client_options(), self.http_client)
        return self._clients.sync

    @property
    def async_client(self) -> AsyncSIEClient:
        """The asynchronous client (one connection pool per event loop), built on first use."""
        if self._clients.async_ is None:
            self._clients.async_ = AsyncSIEClient.from_options(self.client_options(), self.http_async_client)
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
