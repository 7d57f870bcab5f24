"""What the LlamaIndex adapters share: LlamaIndex naming (``model_name``, also ``model``), and pickling."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from .._adapters.connection import SIEConnection


class LlamaIndexConnection(SIEConnection):
    """Connection fields, with ``model`` accepted for ``model_name`` as in our LangChain adapters."""

    _renames: ClassVar[Mapping[str, str]] = {"model": "model_name"}

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without the injected httpx clients (they cannot cross processes); this object keeps them.

        LlamaIndex's ``BaseComponent.__getstate__`` deletes unpicklable fields from the live object's
        ``__dict__`` (with a warning), so it is run on a shallow copy whose transports are ``None``.
        """
        clone = copy.copy(self)
        clone.__dict__.update(http_client=None, http_async_client=None)
        state: dict[Any, Any] = super(LlamaIndexConnection, clone).__getstate__()
        return state
