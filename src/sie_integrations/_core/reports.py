"""What a server says about a request besides its results: timing and usage, from the answer or its headers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..types import ServerReport

HEADERS = {
    "x-queue-time": "queue_ms",
    "x-tokenization-time": "tokenization_ms",
    "x-inference-time": "inference_ms",
    "x-postprocessing-time": "postprocessing_ms",
    "x-total-time": "total_ms",
}
"""The timing headers of a standalone server's answers (milliseconds), and the ``timing`` key each fills."""


def milliseconds(value: Any) -> float | None:
    """A timing value (a number, or a header's text) in milliseconds; None unless finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def heard(report: ServerReport, body: Mapping[str, Any]) -> ServerReport:
    """``report`` filled from an answer's ``timing`` and ``usage`` (numbers only; ``null`` ones left out)."""
    timing, usage = body.get("timing"), body.get("usage")
    if isinstance(timing, Mapping):
        report.timing.update(
            {k: ms for k, v in timing.items() if isinstance(k, str) and (ms := milliseconds(v)) is not None}
        )
    if isinstance(usage, Mapping):
        report.usage.update(
            {k: v for k, v in usage.items() if isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)}
        )
    return report


def with_headers(report: ServerReport, headers: Mapping[str, str]) -> None:
    """The timing headers of the answer, where its body said nothing of them."""
    for header, key in HEADERS.items():
        if key not in report.timing and (ms := milliseconds(headers.get(header))) is not None:
            report.timing[key] = ms
