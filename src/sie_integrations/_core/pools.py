"""Pools on a gateway: create, get and delete."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import PoolError
from ..types import PoolInfo
from .answers import decode_object, malformed
from .call import Call
from .codec import JSON, dumps_json
from .error_mapping import ErrorInfo

_STANDALONE_POOLS = (
    "pools need an SIE gateway (cluster or SIE Cloud); this server answered 404 on /v1/pools, "
    "so it is a standalone sie-server, which has no pools"
)


def _is_route_missing(info: ErrorInfo) -> bool:
    """A FastAPI 404 for an unknown route, as a standalone server sends it."""
    return info.status in (404, 405) and info.code is None and info.message in ("Not Found", "Method Not Allowed")


def _pool_error(info: ErrorInfo, name: str) -> PoolError:
    message = _STANDALONE_POOLS if _is_route_missing(info) else f"pool {name!r}: {info.message}"
    exc = PoolError(message, status_code=info.status, code=info.code, request_id=info.request_id)
    exc.pool_name = name
    return exc


def pool_info(raw: Any) -> PoolInfo:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise malformed("pool", "a pool without a name")
    status = raw.get("status")
    state = status.get("state") if isinstance(status, Mapping) else None
    spec = raw.get("spec")
    return PoolInfo(
        name=raw["name"],
        state=state if isinstance(state, str) else None,
        spec=dict(spec) if isinstance(spec, Mapping) else {},
        raw=dict(raw),
    )


def _pool_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", name):
        raise ValueError(f"invalid pool name {name!r}: use letters, digits, '_' and '-' (at most 128)")
    return name


def create_pool_call(name: str, gpus: Mapping[str, int] | None, gpu_caps: Mapping[str, int] | None) -> Call[PoolInfo]:
    body: dict[str, Any] = {"name": _pool_name(name)}
    if gpus is not None:
        body["gpus"] = dict(gpus)
    if gpu_caps is not None:
        body["gpu_caps"] = dict(gpu_caps)

    def on_error(info: ErrorInfo) -> PoolInfo:
        raise _pool_error(info, name)

    return Call(
        "POST",
        "/v1/pools",
        lambda content, ctype: pool_info(decode_object(content, ctype, "pool")),
        body=dumps_json(body),
        content_type=JSON,
        on_error=on_error,
    )


def get_pool_call(name: str) -> Call[PoolInfo | None]:
    def on_error(info: ErrorInfo) -> PoolInfo | None:
        if info.status == 404 and not _is_route_missing(info):
            return None
        raise _pool_error(info, name)

    return Call(
        "GET",
        f"/v1/pools/{_pool_name(name)}",
        lambda content, ctype: pool_info(decode_object(content, ctype, "pool")),
        on_error=on_error,
    )


def delete_pool_call(name: str) -> Call[bool]:
    def on_error(info: ErrorInfo) -> bool:
        if info.status == 404 and not _is_route_missing(info):
            return False
        raise _pool_error(info, name)

    return Call("DELETE", f"/v1/pools/{_pool_name(name)}", lambda content, ctype: True, on_error=on_error)
