"""LangChain's model profile from SIE's capabilities, read from the server on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from langchain_core.language_models.model_profile import ModelProfile

from .._adapters.capabilities import ChatCapabilities

P = ParamSpec("P")
R = TypeVar("R")


def profile_from(caps: ChatCapabilities) -> ModelProfile:
    """The profile of a model: ``structured_output`` only where the server constrains decoding."""
    profile: dict[str, Any] = {
        "text_inputs": True,
        "text_outputs": True,
        "tool_calling": caps.tools,
        "tool_choice": caps.known and caps.forced_tools,
        "tool_call_streaming": caps.tools and caps.streaming,
        "structured_output": caps.known and caps.constrained_json,
    }
    if caps.max_input_tokens:
        profile["max_input_tokens"] = caps.max_input_tokens
    return cast(ModelProfile, profile)


def _filled(method: Callable[Concatenate[dict[Any, Any], P], R]) -> Callable[Concatenate[LazyProfile, P], R]:
    """``method`` of ``dict``, run once the profile is filled."""

    @wraps(method)
    def filled(self: LazyProfile, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self._fill()
        return method(self, *args, **kwargs)

    return filled


class LazyProfile(dict):  # type: ignore[type-arg]
    """A profile dict that asks the server on first read, so building, copying or pickling a chat model sends
    nothing. Pickled unfilled and unbound: the model it belongs to binds it again (``load``)."""

    def __init__(self, load: Callable[[], ModelProfile] | None = None) -> None:
        super().__init__()
        self._load: Callable[[], ModelProfile] | None = load
        self._lock = threading.Lock()

    def _fill(self) -> None:
        with self._lock:  # one reader asks; the others wait for its answer
            if self._load is not None:
                self.update(self._load())
                self._load = None

    __getitem__ = _filled(dict.__getitem__)
    __contains__ = _filled(dict.__contains__)
    __iter__ = _filled(dict.__iter__)
    __len__ = _filled(dict.__len__)
    keys = _filled(dict.keys)
    values = _filled(dict.values)
    items = _filled(dict.items)
    __eq__ = _filled(dict.__eq__)
    __hash__ = None

    def get(self, key: Any, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def __bool__(self) -> bool:
        return True  # never empty once read; answered without asking (LangChain tests every field's truth)

    def __repr__(self) -> str:
        return "{...: asked from the server on first read}" if self._load is not None else super().__repr__()

    def __reduce__(self) -> tuple[type[LazyProfile], tuple[()]]:
        return (LazyProfile, ())

    def __copy__(self) -> dict[Any, Any]:
        return self.copy()

    copy = _filled(dict.copy)

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyProfile:
        return self
