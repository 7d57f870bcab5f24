"""The request fields ``/v1/chat/completions`` and ``/v1/generate`` share, and ``GenerateSettings``: what a
generation may set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["GenerateSettings"]


# In a request, a dump keeps a NaN as it is (pydantic makes some null), so the client's check refuses it.
class _Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class _Sampling(_Forbid):
    """The sampling and routing fields ``/v1/chat/completions`` and ``/v1/generate`` share: each is sent only when
    set."""

    temperature: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Sampling temperature, ``>= 0``; 0 is greedy."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus sampling: sample from the smallest set of tokens with this total probability, in ``(0, 1]``."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Penalty on tokens by how often they already appear, in ``[-2, 2]``."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Penalty on tokens that already appear at all, in ``[-2, 2]``."""
    logit_bias: dict[str, float] | None = None
    """Token id (as a string) to a bias in ``[-100, 100]`` added to its logit."""
    seed: int | None = None
    """A seed, for best-effort reproducible sampling."""
    stop: str | list[str] | None = None
    """A string, or strings, that end generation when produced."""
    logprobs: bool | None = None
    """Return the log probability of each generated token."""
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    """Alternatives to return per token, 0 to 20 (needs ``logprobs=True``)."""
    safety_identifier: str | None = None
    """A stable id of the end user, for abuse detection (never logged)."""
    lora_adapter: str | None = Field(default=None, min_length=1)
    """A LoRA adapter to apply (gateway only; an unknown name is refused with ``unknown_lora``)."""
    routing_key: str | None = None
    """A routing hint for the gateway (a standalone server refuses it)."""
    prompt_cache_key: str | None = None
    """A prompt-cache hint for the gateway (a standalone server refuses it)."""

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        return stop or None  # no stop string at all: the field is not sent


class GenerateSettings(_Sampling):
    """Every field of ``/v1/generate`` but the prompt, ``stream``, ``options``, ``grammar`` and ``images`` (not
    sent by this library yet): what a generation may set; each is sent only when set, and unknown fields are
    refused."""

    max_new_tokens: int | None = Field(default=None, ge=1)
    """The most tokens to generate (a request needs it)."""
