"""What both clients share: their options, the settings built from them, and their repr."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import SecretStr
from typing_extensions import Self

from .._core.call import Call
from .._core.endpoints import Endpoints
from .._core.exchange import Reply, Step, exchange
from .._core.retry import Broken
from .config import ClientConfig
from .options import ClientOptions, TimeoutLike

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def like(method: F, build: Callable[..., Any], owner: str, stream: str | None = None) -> F:
    """``method`` of ``owner`` named, documented and signed as the endpoint ``build``, returning what it returns."""
    signature = inspect.signature(build)
    built = str(signature.return_annotation)  # "Call[X]" or "Streamed[X]"
    result = built[built.index("[") + 1 : -1]
    method.__name__ = build.__name__
    method.__qualname__ = f"{owner}.{build.__name__}"
    method.__doc__ = build.__doc__
    method.__signature__ = signature.replace(return_annotation=f"{stream}[{result}]" if stream else result)  # type: ignore[attr-defined]
    return method


class BaseClient(Generic[H]):
    """A client for an SIE server or gateway; ``SIEClient`` and ``AsyncSIEClient`` add the I/O."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        *,
        timeout: TimeoutLike = None,
        stream_chunk_timeout: float | None = None,
        gpu: str | None = None,
        pool: str | None = None,
        wait_for_capacity: bool = True,
        provision_timeout: float = 900.0,
        max_retries: int = 3,
        headers: Mapping[str, str] | None = None,
        wire_format: Literal["msgpack", "json"] = "msgpack",
        http2: bool = False,
        http_client: H | None = None,
    ) -> None:
        """Options (the fields of ``ClientOptions``) and an optional injected ``http_client``.

        Args:
            base_url: Server URL; defaults to ``SIE_BASE_URL``, else ``http://localhost:8080``.
            api_key: Bearer key; defaults to ``SIE_API_KEY`` (sent only to the ``SIE_BASE_URL`` server).
            timeout: Seconds per attempt, or an ``httpx.Timeout`` (default: 150 s read, 10 s connect).
            stream_chunk_timeout: Seconds a stream may go without sending anything (its first bytes included)
                before it is closed with ``SIETimeoutError``; ``None`` (default) uses the read timeout.
            gpu: Machine profile to route to, or ``"pool/profile"``.
            pool: Pool to route to.
            wait_for_capacity: Wait while the model loads or capacity is provisioned (202 / 503).
            provision_timeout: Total seconds one call may spend waiting for capacity.
            max_retries: Retries after 429, back-pressure 503s and connection failures; 0 sends nothing twice.
            headers: Extra headers sent with every request.
            wire_format: ``"msgpack"`` (default) or ``"json"`` for encode, score and extract.
            http2: Offer HTTP/2 to ``https://`` servers (needs ``pip install 'sie-integrations[http2]'``);
                plain ``http://`` stays HTTP/1.1.
            http_client: An ``httpx.Client`` (``httpx.AsyncClient``) to use instead of owned ones; never closed by
                the client.
        """
        given = locals()  # the parameters above are the ClientOptions fields (a unit test holds them equal)
        options = ClientOptions.model_construct(**{name: given[name] for name in ClientOptions.model_fields})
        self._start(options, http_client)

    @classmethod
    def from_options(cls, options: ClientOptions, http_client: H | None = None) -> Self:
        """A client with these options (what the adapters build theirs with).

        Args:
            options: The client options, as validated fields.
            http_client: An httpx client to use instead of owned ones, as in the constructor.
        """
        client = cls.__new__(cls)
        client._start(options, http_client)
        return client

    def _start(self, options: ClientOptions, http_client: H | None) -> None:
        self._config = ClientConfig(options)
        self._endpoints = Endpoints(self._config.wire_format)
        self._injected: H | None = http_client
        self._open()

    def _open(self) -> None:
        """Set up the connection pools (the subclass's)."""

    def _flow(self, call: Call[T], stream: bool) -> Generator[Step, Reply | Broken | bytes | None, T | None]:
        """The I/O-free steps of one call (``exchange()``), for the subclass to drive."""
        config = self._config
        return exchange(
            call,
            config.policy,
            config.url(call),
            stream=stream,
            chunk_timeout=config.stream_chunk_timeout,
            connect_hint=config.connect_hint,
        )

    @property
    def base_url(self) -> str:
        """The server URL requests go to."""
        return self._config.base_url

    def __repr__(self) -> str:
        return self._config.describe(type(self).__name__)
