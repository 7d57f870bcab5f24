"""Native generation for the adapters: a call's arguments, and what an answer says besides its text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from ..sampling import GenerateSettings
from ..types import GenerateChunk, GenerateResult, Usage
from .model_options import ModelOptions

SETTINGS = (*(name for name in GenerateSettings.model_fields if name != "stop"), "options")
"""What a call may set besides ``stop``: every field of ``GenerateSettings``, and the model options."""


class Generating(ModelOptions, GenerateSettings):
    """The generation fields of both frameworks' ``SIELLM``: each of ``GenerateSettings`` (checked when the
    model is built, sent when set) and the model options."""

    def _defaults(self) -> dict[str, Any]:
        """The fields set, as ``generate`` takes them (``stop`` and ``options`` apart)."""
        fields = ((name, getattr(self, name)) for name in GenerateSettings.model_fields if name != "stop")
        return {name: value for name, value in fields if value is not None}

    def _generate_args(self, stop: Sequence[str] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """``generate_args`` of this model's fields and a call's, a call's ``options`` over the model's."""
        given = dict(overrides)
        options = self._options(given.pop("options", None))
        return generate_args({**self._defaults(), **options}, stop, given)


def generate_args(
    defaults: Mapping[str, Any], stop: Sequence[str] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of ``generate``: the model's settings, a call's overrides and ``stop``.

    ``max_tokens`` is taken for ``max_new_tokens``; any other name raises ``TypeError``, before sending.
    """
    given = dict(overrides)
    if "max_tokens" in given:
        given["max_new_tokens"] = given.pop("max_tokens")
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise TypeError(
            f"unknown generation argument(s) {', '.join(map(repr, unknown))}: /v1/generate takes "
            f"{', '.join(SETTINGS)} and stop"
        )
    args = {**defaults, **given}
    if stop is not None:
        args["stop"] = list(stop)
    return args


def usage_dict(usage: Usage) -> dict[str, int]:
    """Token counts as a dict; ``cached_tokens`` only when the server said."""
    return {key: value for key, value in asdict(usage).items() if value is not None}


def result_info(result: GenerateResult) -> dict[str, Any]:
    """What a finished generation says besides its text: finish reason, usage, timings, the attempt's id."""
    info: dict[str, Any] = {"model": result.model, "finish_reason": result.finish_reason}
    info["usage"] = usage_dict(result.usage)
    info.update(result.timings)
    if result.attempt_id is not None:
        info["attempt_id"] = result.attempt_id
    return info


def final_info(chunk: GenerateChunk, model: str) -> dict[str, Any]:
    """``result_info`` of a stream, from its last chunk; ``request_id`` in place of an attempt id."""
    info: dict[str, Any] = {"model": model, "finish_reason": chunk.finish_reason}
    info["usage"] = usage_dict(chunk.usage or Usage())
    info.update(chunk.timings)
    if chunk.request_id is not None:
        info["request_id"] = chunk.request_id
    return info


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Where the stop string that ends first in ``text`` begins (as a server checking each token finds it), or None."""
    found = [(i + len(stop), i) for stop in stops if (i := text.find(stop)) >= 0]
    return min(found)[1] if found else None


def completed(result: GenerateResult, stops: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """A finished generation's text, ended at the first stop string, and ``result_info``.

    The server ends generation at a stop string; one that does not (a fake model) still gives the text
    only up to it, with ``finish_reason`` ``"stop"``.
    """
    info = result_info(result)
    cut = first_stop(result.text, stops)
    if cut is None:
        return result.text, info
    return result.text[:cut], {**info, "finish_reason": "stop"}


class StreamedText:
    """A stream's deltas, ended at the first stop string even when it spans deltas.

    ``feed`` gives the text to show now; what could be the start of a stop string is held back until the
    next delta tells. After a stop string, the rest of the stream is read (for its usage) but not shown.
    """

    def __init__(self, model: str, stops: Sequence[str]) -> None:
        self.model = model
        self.stops = list(stops)
        self.stopped = False
        self._held = ""

    def _held_back(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins a stop string."""
        for size in range(min(len(text), max((len(s) for s in self.stops), default=0) - 1), 0, -1):
            if any(stop.startswith(text[-size:]) for stop in self.stops):
                return size
        return 0

    def feed(self, chunk: GenerateChunk) -> tuple[str, dict[str, Any] | None]:
        """The text to show for ``chunk``, and on the last chunk ``final_info``."""
        text = ""
        if not self.stopped:
            pending = self._held + chunk.text_delta
            cut = first_stop(pending, self.stops)
            if cut is not None:
                self.stopped, text, self._held = True, pending[:cut], ""
            elif chunk.done:
                text, self._held = pending, ""
            else:
                keep = len(pending) - self._held_back(pending)
                text, self._held = pending[:keep], pending[keep:]
        if not chunk.done:
            return text, None
        info = final_info(chunk, self.model)
        return text, {**info, "finish_reason": "stop"} if self.stopped else info


def total_usage(infos: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The token counts of several generations, added up."""
    total: dict[str, int] = {}
    for info in infos:
        for key, value in info.get("usage", {}).items():
            total[key] = total.get(key, 0) + value
    return total
