"""Models and health: ``/v1/models``, ``/health`` and ``/readyz``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ..types import Health, ModelInfo
from .answers import decode_object, malformed
from .call import Call, model_path
from .error_mapping import ErrorInfo, to_error


def model_info(raw: Any) -> ModelInfo:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise malformed("models", "a model without a name")
    dims = raw.get("dims")
    max_len = raw.get("max_sequence_length")
    caps = raw.get("capabilities")
    return ModelInfo(
        name=raw["name"],
        inputs=[str(x) for x in raw.get("inputs") or []],
        outputs=[str(x) for x in raw.get("outputs") or []],
        dims={str(k): int(v) for k, v in dims.items() if isinstance(v, int)} if isinstance(dims, Mapping) else {},
        state=raw.get("state") if isinstance(raw.get("state"), str) else None,
        max_sequence_length=max_len if isinstance(max_len, int) else None,
        capabilities=dict(caps) if isinstance(caps, Mapping) else None,
        raw=dict(raw),
    )


def list_models_call() -> Call[list[ModelInfo]]:
    def parse(content: bytes, content_type: str | None) -> list[ModelInfo]:
        body = decode_object(content, content_type, "models")
        models = body.get("models", body.get("data"))
        if not isinstance(models, list):
            raise malformed("models", "no model list")
        return [model_info(m) for m in models]

    return Call("GET", "/v1/models", parse)


def get_model_call(name: str, timeout: float | None = None) -> Call[ModelInfo]:
    return Call(
        "GET",
        f"/v1/models/{model_path(name)}",
        lambda content, ctype: model_info(decode_object(content, ctype, "model")),
        timeout=timeout,
    )


def gateway_health_call() -> Call[Health | None]:
    def parse(content: bytes, content_type: str | None) -> Health:
        body = decode_object(content, content_type, "health")
        status = str(body.get("status", "unknown"))
        return Health(ok=status == "healthy", kind="gateway", status=status, raw=dict(body))

    def on_error(info: ErrorInfo) -> Health | None:
        if info.status == 404:
            return None  # a standalone server: no /health
        raise_for(info)

    return Call("GET", "/health", parse, on_error=on_error)


def server_health_call() -> Call[Health]:
    def parse(content: bytes, content_type: str | None) -> Health:
        return Health(ok=True, kind="server", status=content.decode("utf-8", "replace").strip() or "ok")

    def on_error(info: ErrorInfo) -> Health:
        if info.status == 503:
            return Health(ok=False, kind="server", status=info.message)
        raise_for(info)

    return Call("GET", "/readyz", parse, accept="text/plain", on_error=on_error)


def raise_for(info: ErrorInfo) -> NoReturn:
    raise to_error(info)
