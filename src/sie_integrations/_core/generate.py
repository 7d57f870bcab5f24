"""``/v1/generate``: raw-prompt generation, whole or streamed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import GenerateChunk, GenerateResult, Usage
from .answers import decode_object, malformed
from .call import Call, generate_path, generation_post


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return Usage(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        total_tokens=count("total_tokens"),
        cached_tokens=cached if isinstance(cached, int) else None,
    )


def _timings(raw: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: float(raw[key])
        for key in ("ttft_ms", "tpot_ms")
        if isinstance(raw.get(key), (int, float)) and not isinstance(raw.get(key), bool)
    }


def generate_call(
    model: str,
    prompt: str,
    *,
    max_new_tokens: int,
    temperature: float | None,
    top_p: float | None,
    stop: Sequence[str] | None,
    stream: bool,
) -> Call[GenerateResult]:
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError("max_new_tokens must be an int >= 1")
    body: dict[str, Any] = {"prompt": prompt, "max_new_tokens": max_new_tokens}
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if temperature is not None:
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError("temperature must be a finite number >= 0")
        body["temperature"] = temperature
    if top_p is not None:
        if not (0 < top_p <= 1):
            raise ValueError("top_p must be in (0, 1]")
        body["top_p"] = top_p
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else list(stop)
        if not all(isinstance(s, str) and s for s in stops):
            raise ValueError("stop must be non-empty strings")
        body["stop"] = stops
    if stream:
        body["stream"] = True
    return generation_post(f"/v1/generate/{generate_path(model)}", body, parse_generate, stream=stream)


def parse_generate(content: bytes, content_type: str | None) -> GenerateResult:
    body = decode_object(content, content_type, "generate")
    model, text = body.get("model"), body.get("text")
    if not isinstance(model, str) or not isinstance(text, str):
        raise malformed("generate", "missing model or text")
    finish, attempt = body.get("finish_reason"), body.get("attempt_id")
    return GenerateResult(
        model=model,
        text=text,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(body.get("usage")),
        timings=_timings(body),
        attempt_id=attempt if isinstance(attempt, str) else None,
    )


def parse_generate_chunk(payload: Mapping[str, Any]) -> GenerateChunk:
    text, done, seq = payload.get("text_delta", ""), payload.get("done"), payload.get("seq", 0)
    if not isinstance(text, str) or not isinstance(done, bool) or not isinstance(seq, int):
        raise malformed("generate stream", "chunk without text_delta/done/seq")
    finish = payload.get("finish_reason")
    request_id = payload.get("request_id")
    return GenerateChunk(
        text_delta=text,
        seq=seq,
        done=done,
        request_id=request_id if isinstance(request_id, str) else None,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(payload["usage"]) if "usage" in payload else None,
        timings=_timings(payload),
    )
