"""``/v1/generate``: raw-prompt generation, whole or streamed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..sampling import GenerateSettings
from ..types import GenerateChunk, GenerateResult, Usage
from .answers import decode_object, malformed
from .call import Call, check_finite, generate_path, generation_post


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
    temperature: float | None = None,
    top_p: float | None = None,
    stop: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
    stream: bool,
    **settings: Any,
) -> Call[GenerateResult]:
    """A ``/v1/generate`` request: the prompt, the settings (``GenerateSettings``: unknown or invalid ones raise
    ``ValueError`` before sending) and the model ``options``."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError("max_new_tokens must be an int >= 1")
    body: dict[str, Any] = {"prompt": prompt, "max_new_tokens": max_new_tokens}
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")  # pydantic would take "0.5"
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else list(stop)
        if not all(isinstance(s, str) and s for s in stops):
            raise ValueError("stop must be non-empty strings")
        body["stop"] = stops
    body.update(_more_settings({"temperature": temperature, "top_p": top_p, **settings}, stream))
    if options:
        check_finite(dict(options), "options")
        body["options"] = dict(options)
    if stream:
        body["stream"] = True
    return generation_post(f"/v1/generate/{generate_path(model)}", body, parse_generate, stream=stream)


def _more_settings(settings: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """The fields of ``GenerateSettings`` but the length and ``stop``, checked against it; as sent."""
    try:
        checked = GenerateSettings.model_validate(settings)
    except ValidationError as exc:
        raise ValueError(f"invalid generation request: {exc}") from exc
    more = checked.model_dump(exclude_none=True)
    check_finite(more, "request")
    if more.get("logprobs") is False:  # asking for none is not asking: a whole answer may say so
        del more["logprobs"]
    if ("logprobs" in more or "top_logprobs" in more) and not stream:
        raise ValueError("logprobs and top_logprobs need a stream: /v1/generate sends them with stream_generate only")
    if more.get("top_logprobs") and not more.get("logprobs"):
        raise ValueError("top_logprobs needs logprobs=True")
    return more


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
    logprobs = payload.get("logprobs")
    return GenerateChunk(
        text_delta=text,
        seq=seq,
        done=done,
        request_id=request_id if isinstance(request_id, str) else None,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(payload["usage"]) if "usage" in payload else None,
        timings=_timings(payload),
        logprobs=[dict(p) for p in logprobs if isinstance(p, Mapping)] if isinstance(logprobs, list) else None,
    )
