"""The model options every adapter of a native endpoint sends: one field, one way into each request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


class ModelOptions(BaseModel):
    """The ``options`` field of the adapters that encode, score, extract, parse or generate."""

    options: dict[str, Any] | None = None
    """Model options sent with every request: a profile (``{"profile": "legal"}``), a LoRA (``{"lora_id":
    ...}``), a GLiNER ``threshold``, Docling's ``ocr``, ...; the server refuses one its model does not know.
    None (default): the model's defaults."""

    def _options(self, call: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``{"options": ...}`` for a client call: this adapter's options, a call's own over them; empty when
        there are none."""
        merged = {**(self.options or {}), **(call or {})}
        return {"options": merged} if merged else {}
