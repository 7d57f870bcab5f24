"""What the LlamaIndex adapters share: LlamaIndex naming (``model_name``, also ``model``) and loop gates."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import model_validator

from .._adapters.connection import SIEConnection


class LlamaIndexConnection(SIEConnection):
    """Connection fields, with ``model`` accepted for ``model_name`` as in our LangChain adapters."""

    @model_validator(mode="before")
    @classmethod
    def _model_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "model" in data and "model_name" not in data:
            data = {**data, "model_name": data["model"]}
            del data["model"]
        return data

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without the injected httpx clients (they cannot cross processes); this object keeps them.

        LlamaIndex's ``BaseComponent.__getstate__`` deletes unpicklable fields from the live object's
        ``__dict__`` (with a warning), so it is run on a shallow copy whose transports are ``None``.
        """
        clone = copy.copy(self)
        clone.__dict__.update(http_client=None, http_async_client=None)
        state: dict[Any, Any] = super(LlamaIndexConnection, clone).__getstate__()
        return state
