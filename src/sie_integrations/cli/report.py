"""The doctor's report, built from probe results by pure functions: checks, model table, text and JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..types import Health, ModelInfo
from .common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, start_hint
from .table import Column, render_table, wrap_cell

Status = Literal["ok", "fail", "skip", "unsupported"]
ENDPOINTS = ("encode", "score", "extract", "generate", "chat")
ENCODE_KINDS = ("dense", "sparse", "multivector")
CHAT_ATTEMPTS = 3
"""Chat tries up to this many generation models: some (tool-calling only, say) cannot answer plain chat."""
_MARK: dict[Status, str] = {"ok": "ok", "fail": "FAIL", "skip": "skip", "unsupported": "n/a"}


@dataclass(frozen=True)
class Outcome:
    """One timed request: its round trip in ms, or the error it ended with."""

    ok: bool
    ms: float | None = None
    model: str | None = None
    status_code: int | None = None
    code: str | None = None
    error: str | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class KeyState:
    """Which API key the client sends: its source (None: no key) and whether SIE_API_KEY was withheld."""

    source: str | None = None
    env_withheld: bool = False


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str = ""
    model: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class ModelRow:
    """A model as the report shows it."""

    name: str
    state: str
    inputs: list[str]
    outputs: list[str]
    abilities: list[str]
    capabilities: list[str]


@dataclass(frozen=True)
class Report:
    """Everything the doctor found."""

    base_url: str
    reachable: bool
    version: str | None
    checks: list[Check]
    models: list[ModelRow] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and all(c.status != "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        if not self.reachable:
            return EXIT_UNREACHABLE
        return EXIT_OK if self.ok else EXIT_FAILED


# --- models ------------------------------------------------------------------------------


def abilities(model: ModelInfo) -> list[str]:
    """What a model can do, from its outputs: encode kinds, score, extract (json), generate/chat (tokens)."""
    out: list[str] = []
    kinds = [k for k in ENCODE_KINDS if k in model.outputs]
    if kinds:
        out.append("encode:" + "+".join(kinds))
    if "score" in model.outputs:
        out.append("score")
    if "json" in model.outputs:
        out.append("extract")
    if "tokens" in model.outputs:
        out.append("generate/chat")
    return out


def capability_flags(capabilities: Mapping[str, Any] | None) -> list[str]:
    """The capabilities a model has: true flags, and non-empty lists as ``name:a,b``."""
    flags: list[str] = []
    for name, value in (capabilities or {}).items():
        if value is True:
            flags.append(name)
        elif isinstance(value, list) and value:
            flags.append(f"{name}:{','.join(str(v) for v in value)}")
    return flags


def is_loaded(model: ModelInfo) -> bool:
    return model.raw.get("loaded") is True or model.state == "loaded"


def model_row(model: ModelInfo) -> ModelRow:
    state = model.state or ("loaded" if is_loaded(model) else "unknown")
    return ModelRow(
        model.name, state, model.inputs, model.outputs, abilities(model), capability_flags(model.capabilities)
    )


def candidates(models: Sequence[ModelInfo], endpoint: str) -> list[str]:
    """The models to exercise ``endpoint`` with, best first: loaded before cold, then in server order.

    For generate and chat, models whose only output is ``tokens`` (generation models) come first.
    """
    if endpoint == "encode":
        fits = [m for m in models if any(k in m.outputs for k in ENCODE_KINDS)]
    elif endpoint in ("score", "extract"):
        wanted = "score" if endpoint == "score" else "json"
        fits = [m for m in models if wanted in m.outputs]
    elif endpoint in ("generate", "chat"):
        fits = [m for m in models if "tokens" in m.outputs]
    else:
        raise ValueError(f"unknown endpoint {endpoint!r}")
    order = sorted(
        range(len(fits)),
        key=lambda i: (
            endpoint in ("generate", "chat") and set(fits[i].outputs) != {"tokens"},
            not is_loaded(fits[i]),
            i,
        ),
    )
    return [fits[i].name for i in order]


def encode_kind(model: ModelInfo) -> str:
    """The output type to request from a model when exercising encode."""
    return next((k for k in ENCODE_KINDS if k in model.outputs), "dense")


# --- checks ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return f"{value:.1f} ms" if value is not None else ""


def _failure(outcome: Outcome) -> str:
    return outcome.error or (f"HTTP {outcome.status_code}" if outcome.status_code else "failed")


def health_check(outcome: Outcome, health: Health | None) -> Check:
    """Reachability and readiness, from the ``SIEClient.health()`` probe."""
    if outcome.unreachable:
        return Check("reachable", "fail", _failure(outcome))
    if not outcome.ok or health is None:
        return Check("reachable", "fail", f"the server answered, but health failed: {_failure(outcome)}")
    where = "gateway /health" if health.kind == "gateway" else "standalone server /readyz"
    if not health.ok:
        return Check("reachable", "fail", f"{where}: not ready ({health.status})", latency_ms=outcome.ms)
    return Check("reachable", "ok", f"{where}: {health.status} ({_ms(outcome.ms)})", latency_ms=outcome.ms)


def auth_check(key: KeyState, outcomes: Sequence[Outcome]) -> Check:
    """Whether auth works: a refusal (401/403) on any request fails it; otherwise say which key was used."""
    refused = next((o for o in outcomes if o.status_code in (401, 403)), None)
    answered = [o for o in outcomes if not o.unreachable]
    if refused is not None:
        reason = _failure(refused)
        if key.source is None:
            hint = "the server requires a key: set SIE_API_KEY or pass --api-key"
            if key.env_withheld:
                hint = "SIE_API_KEY is set but only goes to the server SIE_BASE_URL names; pass --api-key"
            return Check("auth", "fail", f"refused (HTTP {refused.status_code}): {reason} — {hint}")
        return Check("auth", "fail", f"the key from {key.source} was refused (HTTP {refused.status_code}): {reason}")
    if not answered:
        return Check("auth", "skip", "not checked: the server did not answer")
    if key.source is None:
        note = " (SIE_API_KEY is set but not sent: --base-url is not SIE_BASE_URL)" if key.env_withheld else ""
        return Check("auth", "ok", f"no key configured; the server did not ask for one{note}")
    return Check("auth", "ok", f"key from {key.source} accepted (no request was refused)")


def _unsupported(outcome: Outcome) -> bool:
    """A refusal meaning "this model or server cannot do chat", as opposed to a failure."""
    code = (outcome.code or "").lower()
    return (
        outcome.status_code == 501
        or code in ("unsupported_operation", "invalid_input")
        or (outcome.status_code in (404, 405) and code == "")
    )


def endpoint_check(name: str, attempts: Sequence[Outcome], *, tolerate_unsupported: bool = False) -> Check:
    """The latency check of one endpoint from its attempts (several only for chat)."""
    if not attempts:
        return Check(name, "skip", "no model supports it")
    good = next((o for o in attempts if o.ok), None)
    tried = "; ".join(f"{o.model}: {_failure(o)}" for o in attempts if not o.ok)
    if good is not None:
        detail = f"(after {tried})" if tried else ""
        return Check(name, "ok", detail, model=good.model, latency_ms=good.ms)
    if tolerate_unsupported and all(_unsupported(o) for o in attempts):
        return Check(name, "unsupported", f"not supported here: {tried}", model=attempts[0].model)
    return Check(name, "fail", tried, model=attempts[0].model)


def pick_version(seen: Mapping[str, str]) -> str | None:
    """The server version from ``x-sie-server-version`` headers seen, keyed by path; encode's first."""
    for path, version in seen.items():
        if path.startswith("/v1/encode/"):
            return version
    return next(iter(seen.values()), None)


def build_report(
    base_url: str,
    key: KeyState,
    health: tuple[Outcome, Health | None],
    models: tuple[Outcome, list[ModelInfo] | None] | None,
    attempts: Mapping[str, Sequence[Outcome]],
    versions: Mapping[str, str],
) -> Report:
    """The report from every probe's outcome: no I/O."""
    health_outcome, health_value = health
    reach = health_check(health_outcome, health_value)
    if health_outcome.unreachable:
        error = f"{health_outcome.error or 'cannot connect to ' + base_url} — {start_hint(base_url)}"
        return Report(base_url, False, None, [reach, auth_check(key, [health_outcome])], error=error)
    checks = [reach]
    outcomes = [health_outcome]
    rows: list[ModelRow] = []
    if models is not None:
        models_outcome, model_list = models
        outcomes.append(models_outcome)
        if models_outcome.ok and model_list is not None:
            detail = f"{len(model_list)} model{'s' if len(model_list) != 1 else ''}"
            checks.append(Check("list models", "ok", detail, latency_ms=models_outcome.ms))
            rows = [model_row(m) for m in model_list]
        else:
            checks.append(Check("list models", "fail", _failure(models_outcome)))
    for name in ENDPOINTS:
        if name in attempts:
            tried = attempts[name]
            outcomes.extend(tried)
            checks.append(endpoint_check(name, tried, tolerate_unsupported=name == "chat"))
    checks.insert(1, auth_check(key, outcomes))
    report = Report(base_url, True, pick_version(versions), checks, rows)
    failed = next((c for c in checks if c.status == "fail"), None)
    if failed is not None:
        return Report(base_url, True, report.version, checks, rows, error=f"{failed.name}: {failed.detail}")
    return report


# --- rendering ---------------------------------------------------------------------------


MODEL_COLUMNS = (
    Column("NAME"),
    Column("STATE", drop=4),
    Column("INPUTS", wrap=True, drop=3),
    Column("OUTPUTS", wrap=True, drop=1),  # CAN DO says it too
    Column("CAN DO", wrap=True),
    Column("CAPABILITIES", wrap=True, drop=2),
)
CHECK_COLUMNS = (Column(), Column(), Column(wrap=True))
ROUND_TRIP_COLUMNS = (Column(), Column(), Column(), Column(), Column(wrap=True))


def _model_lines(models: Sequence[ModelRow], width: int) -> list[str]:
    cells = [
        [
            m.name,
            m.state,
            ",".join(m.inputs),
            ",".join(m.outputs),
            " ".join(m.abilities) or "-",
            " ".join(m.capabilities) or "-",
        ]
        for m in models
    ]
    table = render_table(MODEL_COLUMNS, cells, width)
    if not table.dropped:
        return table.lines
    note = f"({', '.join(table.dropped)} left out to fit {width} columns; see --json)"
    return [*table.lines, *("  " + line for line in wrap_cell(note, width - 2))]


def render_text(report: Report, width: int = 80) -> str:
    """The human-readable report, fitted to ``width`` columns where it can be."""
    lines = [f"SIE doctor: {report.base_url}"]
    head = [c for c in report.checks if c.name in ("reachable", "auth")]
    lines += render_table(CHECK_COLUMNS, [[f"[{_MARK[c.status]}]", c.name, c.detail] for c in head], width).lines
    lines.append(f"  version: {report.version or 'unknown'}")
    if report.models:
        lines.append(f"Models ({len(report.models)}):")
        lines += _model_lines(report.models, width)
    timed = [c for c in report.checks if c not in head]
    if timed:
        lines.append("Round trips:")
        cells = [[f"[{_MARK[c.status]}]", c.name, c.model or "", _ms(c.latency_ms), c.detail] for c in timed]
        lines += render_table(ROUND_TRIP_COLUMNS, cells, width).lines
    failed = [c.name for c in report.checks if c.status == "fail"]
    lines.append("All checks passed." if report.ok else f"FAILED: {', '.join(failed)}")
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    """The machine-readable report."""
    return {
        "base_url": report.base_url,
        "ok": report.ok,
        "exit_code": report.exit_code,
        "reachable": report.reachable,
        "version": report.version,
        "error": report.error,
        "checks": [
            {
                "name": c.name,
                "status": c.status,
                "model": c.model,
                "latency_ms": None if c.latency_ms is None else round(c.latency_ms, 2),
                "detail": c.detail,
            }
            for c in report.checks
        ],
        "models": [
            {
                "name": m.name,
                "state": m.state,
                "inputs": m.inputs,
                "outputs": m.outputs,
                "abilities": m.abilities,
                "capabilities": m.capabilities,
            }
            for m in report.models
        ],
    }
