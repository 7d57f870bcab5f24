"""The ``sie-integrations`` CLI: doctor's report logic, and doctor and embed against ``FakeSIE``."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest

from sie_integrations._core.batches import plan
from sie_integrations._http.options import ClientOptions
from sie_integrations.cli import main
from sie_integrations.cli.embed_input import EmbedError, parse_inputs
from sie_integrations.cli.embed_output import RunKey, key_mismatch, open_sink
from sie_integrations.cli.progress import ProgressBar, format_duration, render_bar
from sie_integrations.cli.report import (
    KeyState,
    Outcome,
    abilities,
    auth_check,
    build_report,
    candidates,
    capability_flags,
    endpoint_check,
    pick_version,
    render_text,
)
from sie_integrations.types import Health, ModelInfo
from tests.fakes.scripted import MockServer
from tests.fakes.sie import FakeSIE, hashed_vector, model_entry

BASE = "https://sie.test"
DIMS = 4
EMBED_MODEL = "org/embed-model"


@pytest.fixture(autouse=True)
def _no_sie_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIE_BASE_URL, SIE_API_KEY and COLUMNS: none of these tests may see the developer's."""
    monkeypatch.delenv("SIE_BASE_URL", raising=False)
    monkeypatch.delenv("SIE_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "80")  # doctor fits its tables to the terminal


def vector(text: str) -> list[float]:
    """The fake's embedding of a text: hash-derived, exact in float32."""
    return hashed_vector(text, DIMS)


def model(name: str, outputs: list[str], *, loaded: bool = True, caps: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        **model_entry(name, outputs, loaded=loaded, capabilities=caps),
        "dims": {"dense": DIMS} if "dense" in outputs else {},
    }


MODELS = [
    model(EMBED_MODEL, ["dense"]),
    model("reranker", ["score"]),
    model("extractor", ["json"]),
    model("chat-a", ["tokens"], caps={"streaming": True, "tools": True, "grammar": []}),
    model("chat-b", ["tokens"]),
]


def fake_sie(
    *,
    fail_encode_at: int | None = None,
    fail_with: tuple[int, str, str] = (500, "INTERNAL_ERROR", "the GPU caught fire"),
    interrupt_encode_at: int | None = None,
    chat_status: int = 200,
    slow_text: str | None = None,
    models: list[dict[str, Any]] | None = None,
    **options: Any,
) -> FakeSIE:
    """The SIE of these tests: ``MODELS``, hash-derived vectors, and the failures a test asks for.

    ``fail_encode_at``: the n-th encode request (1-based) answers ``fail_with`` (status, code, message);
    ``interrupt_encode_at``: it raises ``KeyboardInterrupt`` (a Ctrl-C while it is in flight); ``chat_status``:
    501 makes chat unsupported; ``slow_text``: the batch holding this text answers 0.2 s late.
    """

    def refuse(route: str, number: int, body: Any) -> httpx.Response | None:
        if route == "chat" and chat_status != 200:
            code = "unsupported_operation" if chat_status == 501 else "internal_error"
            error = {"message": "chat failed", "type": "server_error", "code": code}
            return httpx.Response(chat_status, json={"error": error})
        if route != "encode":
            return None
        if number == fail_encode_at:
            status, code, message = fail_with
            return httpx.Response(status, json={"detail": {"code": code, "message": message}})
        if number == interrupt_encode_at:
            raise KeyboardInterrupt
        if slow_text in [item["text"] for item in body["items"]]:
            time.sleep(0.2)
        return None

    return FakeSIE(
        vector=vector,
        score=lambda query, texts: [1.0 / (i + 1) for i in range(len(texts))],
        models=MODELS if models is None else models,
        refuse=refuse,
        **options,
    )


def info(name: str, outputs: list[str], *, loaded: bool = True, caps: dict[str, Any] | None = None) -> ModelInfo:
    raw = model(name, outputs, loaded=loaded, caps=caps)
    return ModelInfo(name, ["text"], outputs, {}, raw["state"], None, caps, raw)


def run(args: list[str], server: FakeSIE | None, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args, http_client=server.client() if server is not None else None)
    out, err = capsys.readouterr()
    return code, out, err


# --- doctor: pure report logic -----------------------------------------------------------------


def test_abilities_follow_the_outputs() -> None:
    full = info("full", ["dense", "sparse", "multivector", "score", "json", "tokens"])
    assert abilities(full) == ["encode:dense+sparse+multivector", "score", "extract", "generate/chat"]
    assert abilities(info("sparse-only", ["sparse"])) == ["encode:sparse"]
    assert abilities(info("nothing", [])) == []


def test_capability_flags_keep_true_flags_and_non_empty_lists() -> None:
    caps = {"streaming": True, "tools": False, "grammar": ["json", "regex"], "sql": None, "code": []}
    assert capability_flags(caps) == ["streaming", "grammar:json,regex"]
    assert capability_flags(None) == []


def test_candidates_prefer_loaded_models_and_generation_models_for_chat() -> None:
    models = [
        info("cold-embed", ["dense"], loaded=False),
        info("multi", ["dense", "score", "tokens"]),
        info("cold-chat", ["tokens"], loaded=False),
        info("chat", ["tokens"]),
    ]
    assert candidates(models, "encode") == ["multi", "cold-embed"]
    assert candidates(models, "score") == ["multi"]
    assert candidates(models, "extract") == []
    assert candidates(models, "chat") == ["chat", "cold-chat", "multi"]
    assert candidates(models, "generate") == ["chat", "cold-chat", "multi"]


@pytest.mark.parametrize(
    ("key", "statuses", "status", "phrase"),
    [
        (KeyState(None), [200, 200], "ok", "no key configured"),
        (KeyState("SIE_API_KEY"), [200], "ok", "key from SIE_API_KEY accepted"),
        (KeyState(None), [200, 401], "fail", "the server requires a key"),
        (KeyState(None, env_withheld=True), [403], "fail", "only goes to the server SIE_BASE_URL names"),
        (KeyState("--api-key"), [200, 403], "fail", "the key from --api-key was refused (HTTP 403)"),
    ],
)
def test_auth_check(key: KeyState, statuses: list[int], status: str, phrase: str) -> None:
    outcomes = [Outcome(ok=s == 200, status_code=None if s == 200 else s, error="nope") for s in statuses]
    check = auth_check(key, outcomes)
    assert check.status == status
    assert phrase in check.detail


def test_auth_is_not_checked_when_nothing_answered() -> None:
    assert auth_check(KeyState("--api-key"), [Outcome(ok=False, unreachable=True)]).status == "skip"


def test_chat_refused_by_every_model_is_unsupported_not_failed() -> None:
    tried = [Outcome(ok=False, model=m, status_code=501, code="unsupported_operation") for m in ("a", "b")]
    check = endpoint_check("chat", tried, tolerate_unsupported=True)
    assert check.status == "unsupported"
    assert "a: " in check.detail
    assert "b: " in check.detail
    assert endpoint_check("generate", tried).status == "fail"


def test_chat_passes_when_a_later_model_answers() -> None:
    tried = [
        Outcome(ok=False, model="tools-only", status_code=502, error="upstream_error"),
        Outcome(ok=True, model="chat", ms=12.5),
    ]
    check = endpoint_check("chat", tried, tolerate_unsupported=True)
    assert (check.status, check.model, check.latency_ms) == ("ok", "chat", 12.5)
    assert "tools-only" in check.detail
    assert endpoint_check("chat", [tried[0]], tolerate_unsupported=True).status == "fail"
    assert endpoint_check("score", []).status == "skip"


def test_version_prefers_the_encode_header() -> None:
    assert pick_version({"/v1/models": "1.0", "/v1/encode/m": "0.10.1"}) == "0.10.1"
    assert pick_version({"/v1/score/m": "0.9"}) == "0.9"
    assert pick_version({}) is None


def test_report_of_an_unreachable_server() -> None:
    down = Outcome(ok=False, error="cannot connect to http://h:9/health: refused", unreachable=True)
    report = build_report("http://h:9", KeyState(), (down, None), None, {}, {})
    assert report.exit_code == 3
    assert report.error is not None
    assert report.error.startswith("cannot connect to http://h:9/health: refused — is the server running?")
    assert "is the server running? check the port (9)" in report.error


def test_report_exit_codes_follow_the_checks() -> None:
    health = (Outcome(ok=True, ms=1.0), Health(ok=True, kind="server", status="ok"))
    models = (Outcome(ok=True, ms=2.0), [info("m", ["dense"])])
    good = build_report(BASE, KeyState(), health, models, {"encode": [Outcome(ok=True, model="m", ms=3.0)]}, {})
    assert (good.exit_code, good.error) == (0, None)
    bad_encode = {"encode": [Outcome(ok=False, model="m", status_code=500, error="boom")]}
    bad = build_report(BASE, KeyState(), health, models, bad_encode, {})
    assert bad.exit_code == 1
    assert bad.error == "encode: m: boom"
    assert "FAILED: encode" in render_text(bad)
    not_ready = build_report(BASE, KeyState(), (health[0], Health(False, "server", "loading")), models, {}, {})
    assert not_ready.exit_code == 1


# --- doctor against a MockTransport --------------------------------------------------------------


def test_doctor_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """Against a healthy FakeSIE on a MockTransport, every endpoint is exercised and doctor exits 0."""
    server = fake_sie()
    code, out, err = run(["doctor", "--base-url", BASE], server, capsys)
    assert (code, err) == (0, "")
    assert "version: 0.10.1" in out
    assert "All checks passed." in out
    for name, used in [
        ("list models", ""),
        ("encode", EMBED_MODEL),
        ("score", "reranker"),
        ("extract", "extractor"),
        ("generate", "chat-a"),
        ("chat", "chat-a"),
    ]:
        assert re.search(rf"\[ok\]\s+{name}\s+{re.escape(used)}\s*\d+\.\d ms", out), name
    assert {
        "/readyz",
        "/v1/models",
        "/v1/encode/org/embed-model",
        "/v1/score/reranker",
        "/v1/extract/extractor",
    } <= set(server.paths())
    assert "/v1/generate/chat-a" in server.paths()
    assert "/v1/chat/completions" in server.paths()
    assert "streaming tools" in out  # chat-a's capabilities


def test_doctor_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    """--json against a FakeSIE on a MockTransport: every check ok, with a latency and the model it used."""
    code, out, _ = run(["doctor", "--base-url", BASE, "--json"], fake_sie(), capsys)
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert report["version"] == "0.10.1"
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == ["reachable", "auth", "list models", "encode", "score", "extract", "generate", "chat"]
    assert all(c["status"] == "ok" for c in checks.values())
    assert all(c["latency_ms"] is not None for name, c in checks.items() if name != "auth")
    assert checks["encode"]["model"] == EMBED_MODEL
    assert [m["name"] for m in report["models"]] == [m["name"] for m in MODELS]
    assert report["models"][3]["abilities"] == ["generate/chat"]


def test_doctor_against_a_refused_port(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens on 127.0.0.1:9 (real network, no retries): exit 3 and one clear line on stderr."""
    started = time.monotonic()
    code, out, err = run(["doctor", "--base-url", "http://127.0.0.1:9"], None, capsys)
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sie-integrations doctor: cannot connect to http://127.0.0.1:9")
    assert "is the server running? check the port" in lines[0]
    assert "[FAIL]  reachable" in out
    assert time.monotonic() - started < 5


def test_doctor_reports_a_refused_key(capsys: pytest.CaptureFixture[str]) -> None:
    """A FakeSIE on a MockTransport that wants a key answers 401: the auth check fails, exit 1."""
    code, out, err = run(["doctor", "--base-url", BASE], fake_sie(key="s3cret"), capsys)
    assert code == 1
    assert "[FAIL]  auth" in out
    assert "refused (HTTP 401)" in out
    assert "the server requires a key" in err
    assert len(err.strip().splitlines()) == 1

    code, out, err = run(["doctor", "--base-url", BASE, "--api-key", "wrong"], fake_sie(key="s3cret"), capsys)
    assert code == 1
    assert "the key from --api-key was refused (HTTP 401)" in out


def test_doctor_with_an_accepted_key(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SIE_API_KEY goes to SIE_BASE_URL: the FakeSIE on the MockTransport accepts it and doctor says so."""
    monkeypatch.setenv("SIE_BASE_URL", BASE)
    monkeypatch.setenv("SIE_API_KEY", "s3cret")
    server = fake_sie(key="s3cret")
    code, out, _ = run(["doctor"], server, capsys)
    assert code == 0
    assert "key from SIE_API_KEY accepted" in out
    assert server.requests[-1].headers["authorization"] == "Bearer s3cret"


def test_doctor_tolerates_unsupported_chat(capsys: pytest.CaptureFixture[str]) -> None:
    """A FakeSIE on a MockTransport answering 501 to chat: chat is reported unsupported, the exit code stays 0."""
    server = fake_sie(chat_status=501)
    code, out, _ = run(["doctor", "--base-url", BASE, "--json"], server, capsys)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 0
    assert checks["chat"]["status"] == "unsupported"
    assert server.paths().count("/v1/chat/completions") == 2  # chat-a, then chat-b


def test_doctor_fails_on_a_broken_chat(capsys: pytest.CaptureFixture[str]) -> None:
    """A FakeSIE on a MockTransport answering 500 to chat: that is a failure, not "unsupported"."""
    code, out, err = run(["doctor", "--base-url", BASE], fake_sie(chat_status=500), capsys)
    assert code == 1
    assert "[FAIL]  chat" in out
    assert err.startswith("sie-integrations doctor: chat:")


def test_doctor_version_unknown_without_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    """A FakeSIE on a MockTransport that sends no x-sie-server-version: the version is unknown."""
    code, out, _ = run(["doctor", "--base-url", BASE], fake_sie(version=None), capsys)
    assert code == 0
    assert "version: unknown" in out


def test_doctor_skips_endpoints_no_model_supports(capsys: pytest.CaptureFixture[str]) -> None:
    """A FakeSIE on a MockTransport serving one embedding model: the other endpoints are skipped, not failed."""
    server = fake_sie(models=[model(EMBED_MODEL, ["dense"])])
    code, out, _ = run(["doctor", "--base-url", BASE, "--json"], server, capsys)
    statuses = {c["name"]: c["status"] for c in json.loads(out)["checks"]}
    assert code == 0
    assert statuses == {
        "reachable": "ok",
        "auth": "ok",
        "list models": "ok",
        "encode": "ok",
        "score": "skip",
        "extract": "skip",
        "generate": "skip",
        "chat": "skip",
    }


def served(name: str, outputs: list[str], **fields: Any) -> dict[str, Any]:
    """A model as sie-server 0.10.1 lists it in /v1/models (``fields`` override)."""
    profile = {"is_default": True, "identity": None, "remote_contract_sha256": None, "runtime_instance_id": "91c7"}
    entry = {
        "name": name,
        "inputs": ["text"],
        "outputs": outputs,
        "dims": {"dense": 384} if "dense" in outputs else {},
        "loaded": True,
        "state": "loaded",
        "last_error": None,
        "max_sequence_length": 512,
        "profiles": {"default": profile},
        "revision": None,
        "capabilities": {"streaming": True, "grammar": [], "tools": "tokens" in outputs, "code": False, "sql": False},
        "routing": {"policy": None, "upstream_kind": None},
    }
    return {**entry, **fields}


SERVED = [
    served("sie-fake-full", ["dense", "sparse", "multivector", "score", "json", "tokens"], inputs=["text", "image"]),
    served("tiny-think", ["tokens"]),
    served("sentence-transformers/all-MiniLM-L6-v2", ["dense"], capabilities=None, max_sequence_length=256),
    served("tiny-chat", ["tokens"]),
    served("sie-fake", ["dense", "score", "tokens"]),
    served("sie-fake:small-a", ["dense", "score", "tokens"], loaded=False, state="available"),
]


@pytest.mark.parametrize("width", [80, 200])
def test_doctor_fits_the_terminal(
    width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MockTransport listing models as a real server does: no line is wider than COLUMNS, names stay whole,
    the columns left out are named, and --json keeps every field."""
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, _ = run(["doctor", "--base-url", BASE], fake_sie(models=SERVED), capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    for entry in SERVED:
        assert re.search(rf"^  {re.escape(entry['name'])}  ", out, re.MULTILINE), entry["name"]
    header = next(line.split("  ") for line in lines if line.startswith("  NAME"))
    titles = [title.strip() for title in header if title.strip()]
    if width == 200:
        assert titles == ["NAME", "STATE", "INPUTS", "OUTPUTS", "CAN DO", "CAPABILITIES"]
        assert "left out" not in out
        assert "dense,sparse,multivector,score,json,tokens" in out
        return
    assert titles[0] == "NAME"
    assert "CAN DO" in titles
    assert "OUTPUTS" not in titles
    assert f"OUTPUTS, CAPABILITIES left out to fit {width} columns; see --json)" in out
    _, as_json, _ = run(["doctor", "--base-url", BASE, "--json"], fake_sie(models=SERVED), capsys)
    shown = json.loads(as_json)["models"][0]
    assert shown["outputs"] == SERVED[0]["outputs"]
    assert shown["inputs"] == ["text", "image"]
    assert shown["capabilities"] == ["streaming", "tools"]


# --- embed ---------------------------------------------------------------------------------------

TEXTS = [f"text number {i}" for i in range(9)]


def write_texts(path: Path, texts: list[str] = TEXTS) -> Path:
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def embed_args(src: Path, out: Path, *extra: str) -> list[str]:
    return ["embed", EMBED_MODEL, str(src), "-o", str(out), "--base-url", BASE, *extra]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_embed_to_npy_keeps_input_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three batches in flight on a MockTransport whose first batch answers last: rows stay in input order."""
    server = fake_sie(slow_text=TEXTS[0])
    out = tmp_path / "vectors.npy"
    args = embed_args(write_texts(tmp_path / "in.txt"), out, "--batch-size", "2", "--concurrency", "3")
    code, stdout, _ = run(args, server, capsys)
    matrix = np.load(out)
    assert code == 0
    assert matrix.dtype == np.float32
    assert matrix.shape == (9, DIMS)
    np.testing.assert_array_equal(matrix, np.array([vector(t) for t in TEXTS], dtype=np.float32))
    assert sorted(map(tuple, server.encode_batches)) == [tuple(TEXTS[i : i + 2]) for i in range(0, 9, 2)]
    assert 1 < server.max_in_flight <= 3
    assert stdout.startswith("embedded 9 texts in ")
    assert not (tmp_path / "vectors.npy.partial").exists()
    assert not (tmp_path / "vectors.npy.partial.json").exists()


def test_embed_takes_every_client_option_as_a_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--gpu/--pool and --wire-format reach the requests the MockTransport sees; the flags are ClientOptions'."""
    server = fake_sie()
    out = tmp_path / "vectors.npy"
    extra = ("--gpu", "l4", "--pool", "batch", "--wire-format", "json", "--no-wait-for-capacity", "--http2")
    args = embed_args(write_texts(tmp_path / "in.txt"), out, "--provision-timeout", "30", *extra)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sie_integrations._http.config._require_h2", lambda: None)
        code, _, err = run(args, server, capsys)
    assert code == 0, err
    encodes = [r for r in server.requests if r.url.path.startswith("/v1/encode/")]
    assert encodes
    assert all(r.headers["x-sie-machine-profile"] == "l4" and r.headers["x-sie-pool"] == "batch" for r in encodes)
    assert all(r.headers["content-type"] == "application/json" for r in encodes)
    with pytest.raises(SystemExit):
        main(["embed", "--help"])
    embed_help = capsys.readouterr().out
    for name in ClientOptions.model_fields:
        if name not in ("headers", "stream_chunk_timeout"):  # embed opens no stream
            assert "--" + name.replace("_", "-") in embed_help


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-retries", "-1"], "--max-retries must be >= 0"),
        (["--timeout", "0"], "--timeout"),
        (["--gpu", "a/l4", "--pool", "b"], "gpu='a/l4' names pool 'a' but pool='b'"),
    ],
)
def test_an_invalid_client_flag_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(embed_args(write_texts(tmp_path / "in.txt"), tmp_path / "v.npy", *flags))
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_embed_text_to_jsonl_uses_line_numbers_as_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Blank lines are skipped; ids are 0-based line numbers; vectors are the MockTransport's, in order."""
    src = tmp_path / "in.txt"
    src.write_text("alpha\n\n   \nbeta\r\ngamma", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = embed_args(src, out, "--batch-size", "2", "--concurrency", "2")
    code, _, _ = run(args, fake_sie(slow_text="alpha"), capsys)
    assert code == 0
    assert read_jsonl(out) == [
        {"id": 0, "embedding": vector("alpha")},
        {"id": 3, "embedding": vector("beta")},
        {"id": 4, "embedding": vector("gamma")},
    ]


def test_embed_sends_texts_grouped_by_length_and_writes_them_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within a window of batches, requests hold texts of similar length (the server pads to the longest)."""
    texts = ["x" * n for n in (30, 2, 50, 3, 40, 1, 20, 4)]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts), encoding="utf-8")
    server = fake_sie()
    out = tmp_path / "out.jsonl"
    code, _, _ = run(embed_args(src, out, "--batch-size", "2", "--concurrency", "1"), server, capsys)
    assert code == 0
    assert server.encoded == sorted(texts, key=len)
    assert [r["embedding"] for r in read_jsonl(out)] == [vector(t) for t in texts]


def test_embed_sends_the_requests_the_planner_makes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """40 texts of about 30,000 characters, ``--batch-size 40``: the requests of ``plan`` (as the adapters send
    them), each under the 400,000-character budget; before, one request of 1,157,220 characters."""
    texts = [("x" * 30_000)[: 30_000 - i] for i in range(40)]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts), encoding="utf-8")
    server = fake_sie()
    code, _, _ = run(embed_args(src, tmp_path / "out.npy", "--batch-size", "40"), server, capsys)
    assert code == 0
    assert sorted(server.encode_batches) == sorted(batch.items for batch in plan(texts, 40))
    assert max(sum(map(len, batch)) for batch in server.encode_batches) <= 400_000


def test_embed_jsonl_input_keeps_its_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A .jsonl input: ``id`` when given, else the line number; the MockTransport sees only the texts."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "first"}\n{"text": "second"}\n\n{"id": 7, "text": "third"}\n', encoding="utf-8")
    server = fake_sie()
    out = tmp_path / "out.jsonl"
    code, _, _ = run(embed_args(src, out), server, capsys)
    assert code == 0
    assert [(r["id"], r["embedding"]) for r in read_jsonl(out)] == [
        ("a", vector("first")),
        (1, vector("second")),
        (7, vector("third")),
    ]
    assert sorted(server.encoded) == ["first", "second", "third"]  # sent grouped by length, written in input order


def test_embed_reads_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``-`` reads the texts from stdin; the MockTransport gets them in order, with is_query for --query."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\ntwo\n")))
    server = fake_sie()
    out = tmp_path / "out.npy"
    code, _, _ = run(["embed", EMBED_MODEL, "-", "-o", str(out), "--base-url", BASE, "--query"], server, capsys)
    assert code == 0
    np.testing.assert_array_equal(np.load(out), np.array([vector("one"), vector("two")], dtype=np.float32))
    body = msgpack.unpackb(server.requests[0].content, raw=False)
    assert body["params"]["options"] == {"is_query": True}


def test_embed_progress_bar_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--progress draws the bar on stderr (which is no TTY under pytest) up to the final count."""
    args = embed_args(write_texts(tmp_path / "in.txt"), tmp_path / "o.npy", "--progress", "--batch-size", "4")
    code, _, err = run(args, fake_sie(), capsys)
    assert code == 0
    assert "\r9/9 [" in err
    assert "100%" in err
    _, _, quiet = run(embed_args(tmp_path / "in.txt", tmp_path / "p.npy"), fake_sie(), capsys)
    assert "[" not in quiet


def reference(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> bytes:
    """The output of an uninterrupted run, against a healthy MockTransport."""
    out = tmp_path / f"reference.{fmt}"
    assert run(embed_args(tmp_path / "in.txt", out, "--batch-size", "2"), fake_sie(), capsys)[0] == 0
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_resumes_after_a_server_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """A MockTransport answering 500 to the 3rd batch stops the run after 2 batches; a rerun sends only the rest."""
    src = write_texts(tmp_path / "in.txt")
    out = tmp_path / f"out.{fmt}"
    args = embed_args(src, out, "--batch-size", "2", "--concurrency", "1")

    failing = fake_sie(fail_encode_at=3)
    code, _, err = run(args, failing, capsys)
    assert code == 1
    assert "the GPU caught fire" in err
    saved = out if fmt == "jsonl" else tmp_path / "out.npy.partial"
    assert f"4 of 9 texts are saved in {saved}: rerun the same command to continue" in err
    assert len(failing.encode_batches) == 3
    sidecar = json.loads((tmp_path / f"out.{fmt}.partial.json").read_text())
    assert (sidecar["model"], sidecar["count"], sidecar["dims"]) == (EMBED_MODEL, 4, DIMS)
    if fmt == "npy":
        assert not out.exists()
        assert (tmp_path / "out.npy.partial").stat().st_size == 4 * DIMS * 4
    else:
        assert [r["id"] for r in read_jsonl(out)] == [0, 1, 2, 3]

    healthy = fake_sie()
    code, stdout, err = run(args, healthy, capsys)
    assert code == 0
    assert "resuming: 4 of 9 texts already in" in err
    assert stdout.startswith("embedded 5 texts (4 skipped as already done)")
    assert healthy.encoded == TEXTS[4:]
    assert len(healthy.encode_batches) == 3
    assert out.read_bytes() == reference(tmp_path, fmt, capsys)
    assert not (tmp_path / f"out.{fmt}.partial.json").exists()
    assert not (tmp_path / f"out.{fmt}.partial").exists()

    again = fake_sie()
    code, stdout, _ = run(args, again, capsys)
    assert code == 0
    assert again.encode_batches == []
    assert stdout.startswith(f"nothing to do: {out} already holds all 9 texts")


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_resumes_after_ctrl_c(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """Ctrl-C while the MockTransport handles the 2nd batch: exit 130, one batch kept, the rerun completes."""
    write_texts(tmp_path / "in.txt")
    out = tmp_path / f"out.{fmt}"
    args = embed_args(tmp_path / "in.txt", out, "--batch-size", "2", "--concurrency", "1")
    code, _, err = run(args, fake_sie(interrupt_encode_at=2), capsys)
    assert code == 130
    saved = out if fmt == "jsonl" else tmp_path / "out.npy.partial"
    assert f"interrupted: 2 of 9 texts are saved in {saved}; rerun the same command to continue" in err
    healthy = fake_sie()
    assert run(args, healthy, capsys)[0] == 0
    assert healthy.encoded == TEXTS[2:]
    assert out.read_bytes() == reference(tmp_path, fmt, capsys)


def test_embed_drops_npy_rows_the_sidecar_does_not_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rows (and half a row) written after the sidecar's last update are dropped and re-sent to the MockTransport."""
    write_texts(tmp_path / "in.txt")
    out = tmp_path / "out.npy"
    args = embed_args(tmp_path / "in.txt", out, "--batch-size", "2", "--concurrency", "1")
    assert run(args, fake_sie(fail_encode_at=2), capsys)[0] == 1
    with (tmp_path / "out.npy.partial").open("ab") as f:
        f.write(np.ones((1, DIMS), dtype=np.float32).tobytes() + b"\x00\x01")
    healthy = fake_sie()
    assert run(args, healthy, capsys)[0] == 0
    assert healthy.encoded == TEXTS[2:]
    assert out.read_bytes() == reference(tmp_path, "npy", capsys)


def test_embed_drops_a_partial_last_jsonl_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line cut off mid-write is dropped and its text sent again to the MockTransport."""
    write_texts(tmp_path / "in.txt")
    out = tmp_path / "out.jsonl"
    args = embed_args(tmp_path / "in.txt", out, "--batch-size", "2", "--concurrency", "1")
    assert run(args, fake_sie(fail_encode_at=2), capsys)[0] == 1
    with out.open("a", encoding="utf-8") as f:
        f.write('{"id": 2, "embedding": [0.5, ')
    healthy = fake_sie()
    assert run(args, healthy, capsys)[0] == 0
    assert healthy.encoded == TEXTS[2:]
    assert out.read_bytes() == reference(tmp_path, "jsonl", capsys)


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
@pytest.mark.parametrize("change", ["model", "input", "query"])
def test_embed_refuses_a_mismatched_sidecar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, change: str
) -> None:
    """After an interrupted run, another model, input or --query is refused before any request is sent."""
    src = write_texts(tmp_path / "in.txt")
    out = tmp_path / f"out.{fmt}"
    args = embed_args(src, out, "--batch-size", "2", "--concurrency", "1")
    assert run(args, fake_sie(fail_encode_at=2), capsys)[0] == 1
    before = out.read_bytes() if out.exists() else None
    if change == "model":
        args[1] = "another/model"
    elif change == "input":
        write_texts(src, [*TEXTS, "one more"])
    else:
        args.append("--query")
    server = fake_sie()
    code, _, err = run(args, server, capsys)
    assert code == 1
    assert "refusing to resume" in err
    assert {"model": "model", "input": "input size", "query": "--query"}[change] in err
    assert server.requests == []
    assert (out.read_bytes() if out.exists() else None) == before

    code, _, _ = run([*args, "--overwrite"], server, capsys)
    assert code == 0
    assert len(server.encoded) == len(parse_inputs(src.read_bytes(), "text")[0])


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_restarts_when_nothing_was_written(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """A run killed before its 1st row leaves nothing to protect: another model just runs."""
    src = write_texts(tmp_path / "in.txt")
    out = tmp_path / f"out.{fmt}"
    data = src.read_bytes()
    killed = RunKey(fmt, EMBED_MODEL, False, str(src), len(data), hashlib.sha256(data).hexdigest(), "text")
    open_sink(str(out), killed, list(range(len(TEXTS))), overwrite=False).close()
    assert (tmp_path / f"out.{fmt}.partial.json").exists()
    args = embed_args(src, out, "--batch-size", "4")
    args[1] = "another/model"
    server = fake_sie()
    code, stdout, _ = run(args, server, capsys)
    assert code == 0
    assert stdout.startswith("embedded 9 texts in")
    assert sorted(server.encoded) == sorted(TEXTS)
    assert set(server.paths()) == {"/v1/encode/another/model"}


def test_embed_refuses_to_clobber_an_unrelated_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing output without a progress sidecar is left alone: nothing reaches the MockTransport."""
    out = tmp_path / "out.jsonl"
    out.write_text('{"something": "else"}\n', encoding="utf-8")
    server = fake_sie()
    code, _, err = run(embed_args(write_texts(tmp_path / "in.txt"), out), server, capsys)
    assert code == 1
    assert "pass --overwrite" in err
    assert server.requests == []
    assert out.read_text(encoding="utf-8") == '{"something": "else"}\n'


def test_embed_needs_a_known_output_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(embed_args(write_texts(tmp_path / "in.txt"), tmp_path / "out.bin"), fake_sie(), capsys)
    assert code == 1
    assert "--format npy or --format jsonl" in err


def test_embed_unknown_model_explains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server answering 404 MODEL_NOT_FOUND: one line pointing at doctor, exit 1."""
    client = MockServer().reply(404, {"detail": {"code": "MODEL_NOT_FOUND", "message": "Model 'x' not found"}}).client()
    code = main(embed_args(write_texts(tmp_path / "in.txt"), tmp_path / "o.npy"), http_client=client)
    err = capsys.readouterr().err
    assert code == 1
    assert "Model 'x' not found" in err
    assert "`sie-integrations doctor` lists the models" in err


def write_jsonl_texts(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def leftovers(tmp_path: Path) -> set[str]:
    """The files an embed run left next to its input ``in.*``."""
    return {p.name for p in tmp_path.iterdir() if not p.name.startswith("in.")}


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("model", "its model was 'org/embed-model', this run's is 'another/model'"),
        ("query", "its --query setting was False, this run's is True"),
        ("content", "its input content (sha256) was"),
        ("input format", "its input format was 'jsonl', this run's is 'text'"),
        ("options", "its --options was {}, this run's is {'profile': 'legal'}"),
    ],
    ids=["model", "query", "content", "input-format", "options"],
)
def test_embed_reuses_a_finished_output_only_for_the_same_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, change: str, named: str
) -> None:
    """A finished output made with another model, --query, input or input format is refused (nothing reaches
    the MockTransport, the output stays); --overwrite embeds the texts again, and then the output is reused."""
    src = write_jsonl_texts(tmp_path / "in.jsonl", TEXTS)
    out = tmp_path / f"out.{fmt}"
    args = embed_args(src, out)
    assert run(args, fake_sie(), capsys)[0] == 0
    before = out.read_bytes()
    if change == "model":
        args[1] = "another/model"
    elif change == "query":
        args.append("--query")
    elif change == "content":
        write_jsonl_texts(src, [TEXTS[0].replace("0", "X"), *TEXTS[1:]])  # the same size
    elif change == "options":
        args += ["--options", '{"profile": "legal"}']
    else:
        args += ["--input-format", "text"]
    server = fake_sie()
    code, stdout, err = run(args, server, capsys)
    assert (code, stdout) == (1, "")
    assert f"refusing to reuse {out}: {named}" in err
    assert "pass --overwrite to replace it" in err
    assert server.requests == []
    assert out.read_bytes() == before

    assert run([*args, "--overwrite"], server, capsys)[0] == 0
    assert len(server.encoded) == len(TEXTS)
    if change == "options":  # sent with every request
        assert {json.dumps(body["params"]["options"]) for body in server.sent("encode")} == {'{"profile": "legal"}'}
    code, stdout, _ = run(args, server, capsys)
    assert code == 0
    assert stdout.startswith(f"nothing to do: {out} already holds all 9 texts, made with the same model")
    assert len(server.encoded) == len(TEXTS)


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
@pytest.mark.parametrize("damage", ["no record", "output changed"])
def test_embed_reuses_a_finished_output_only_when_its_record_vouches_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, damage: str
) -> None:
    """An output without its OUTPUT.json (an older version's) or changed since is not "nothing to do"."""
    src = write_texts(tmp_path / "in.txt")
    out = tmp_path / f"out.{fmt}"
    record = tmp_path / f"out.{fmt}.json"
    assert run(embed_args(src, out), fake_sie(), capsys)[0] == 0
    if damage == "no record":
        record.unlink(missing_ok=True)
        message = f"{out} exists, but there is no out.{fmt}.json saying which model, options and input made it"
    else:
        zeros = np.zeros((len(TEXTS), DIMS), dtype=np.float32)  # the same shape, other vectors
        if fmt == "npy":
            np.save(out, zeros)
        else:
            out.write_text(
                "".join(json.dumps({"id": i, "embedding": row.tolist()}) + "\n" for i, row in enumerate(zeros))
            )
        message = f"{out} changed since out.{fmt}.json was written"
    server = fake_sie()
    code, stdout, err = run(embed_args(src, out), server, capsys)
    assert (code, stdout) == (1, "")
    assert message in err
    assert "pass --overwrite to replace it" in err
    assert server.requests == []


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
@pytest.mark.parametrize(
    ("status", "code", "message", "hint"),
    [
        (404, "MODEL_NOT_FOUND", "Model 'org/embed-model' not found", "`sie-integrations doctor` lists the models"),
        (400, "INVALID_INPUT", "Model 'tiny-chat' does not support output types: {'dense'}", "(HTTP 400"),
    ],
    ids=["unknown-model", "chat-model"],
)
def test_embed_a_refusal_before_any_row_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, status: int, code: str, message: str, hint: str
) -> None:
    """A MockTransport refusing the 1st batch (unknown model, chat model): no rerun advice, no files left."""
    args = embed_args(write_texts(tmp_path / "in.txt"), tmp_path / f"out.{fmt}")
    exit_code, _, err = run(args, fake_sie(fail_encode_at=1, fail_with=(status, code, message)), capsys)
    assert exit_code == 1
    assert message in err
    assert hint in err
    assert "rerun" not in err
    assert leftovers(tmp_path) == set()


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_against_a_dead_port_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Nothing listens on 127.0.0.1:9 (real network): the server is named unreachable, no files are left."""
    args = ["embed", EMBED_MODEL, str(write_texts(tmp_path / "in.txt")), "-o", str(tmp_path / f"out.{fmt}")]
    code, _, err = run([*args, "--base-url", "http://127.0.0.1:9", "--max-retries", "0"], None, capsys)
    assert code == 1
    assert err.startswith("sie-integrations embed: the server is not reachable at http://127.0.0.1:9: ")
    assert "is the server running?" in err
    assert "rerun" not in err
    assert leftovers(tmp_path) == set()


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_a_refusal_after_saved_rows_promises_no_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """A MockTransport answering 400 to the 3rd batch: the saved rows are named, a rerun is not promised to
    help; once the cause is gone, a rerun continues from the file named."""
    out = tmp_path / f"out.{fmt}"
    args = embed_args(write_texts(tmp_path / "in.txt"), out, "--batch-size", "2", "--concurrency", "1")
    failing = fake_sie(fail_encode_at=3, fail_with=(400, "INVALID_INPUT", "this batch is refused"))
    code, _, err = run(args, failing, capsys)
    saved = out if fmt == "jsonl" else tmp_path / "out.npy.partial"
    assert code == 1
    assert f"this batch is refused (HTTP 400, code=INVALID_INPUT); 4 of 9 texts are saved in {saved} (" in err
    assert "rerun the same command" not in err
    assert saved.exists()
    healthy = fake_sie()
    code, _, err = run(args, healthy, capsys)
    assert code == 0
    assert f"resuming: 4 of 9 texts already in {saved}\n" in err
    assert healthy.encoded == TEXTS[4:]


@pytest.mark.parametrize("fmt", ["npy", "jsonl"])
def test_embed_ctrl_c_before_any_row_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Ctrl-C while the MockTransport handles the 1st batch: exit 130, nothing was saved and no file says so."""
    args = embed_args(write_texts(tmp_path / "in.txt"), tmp_path / f"out.{fmt}", "--concurrency", "1")
    code, _, err = run(args, fake_sie(interrupt_encode_at=1), capsys)
    assert code == 130
    assert err == "interrupted before any text was embedded; nothing was saved\n"
    assert leftovers(tmp_path) == set()


@pytest.mark.parametrize(
    ("name", "content"),
    [("in.txt", b""), ("in.txt", b"\n  \n\r\n"), ("in.jsonl", b"\n")],
    ids=["empty", "blank-lines", "empty-jsonl"],
)
def test_embed_an_input_without_texts_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    """An empty input is an error (exit 1, no output file), not a (0, 0) matrix; the MockTransport sees nothing."""
    src = tmp_path / name
    src.write_bytes(content)
    server = fake_sie()
    code, stdout, err = run(embed_args(src, tmp_path / "out.npy"), server, capsys)
    assert (code, stdout) == (1, "")
    assert err == f"sie-integrations embed: {src} holds no text to embed (blank lines are skipped)\n"
    assert leftovers(tmp_path) == set()
    assert server.requests == []


# --- small pure helpers ----------------------------------------------------------------------------


def test_parse_inputs_errors_name_the_line() -> None:
    with pytest.raises(EmbedError, match="input line 2: not JSON"):
        parse_inputs(b'{"text": "ok"}\n{oops\n', "jsonl")
    with pytest.raises(EmbedError, match="input line 1: expected an object"):
        parse_inputs(b'{"id": 1}\n', "jsonl")
    with pytest.raises(EmbedError, match="'id' must be"):
        parse_inputs(b'{"id": [1], "text": "t"}\n', "jsonl")
    assert parse_inputs(b"\xef\xbb\xbfa\n\nb", "text") == (["a", "b"], [0, 2])


def test_key_mismatch_names_the_first_difference() -> None:
    key = RunKey("npy", "m", False, "/in.txt", 10, "abc", "text")
    assert key_mismatch(key, key) is None
    assert (
        key_mismatch(key, RunKey("npy", "m2", False, "/in.txt", 10, "abc", "text"))
        == "its model was 'm', this run's is 'm2'"
    )
    changed = key_mismatch(key, RunKey("npy", "m", False, "/in.txt", 10, "abd", "text"))
    assert changed is not None
    assert "input content" in changed


def test_render_bar_and_durations() -> None:
    assert render_bar(50, 200, 25.0, width=8) == "50/200 [##------]  25% 25.0 texts/s ETA 0:06"
    assert render_bar(0, 0, None, width=4) == "0/0 [####] 100%"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(59.6) == "1:00"


def test_progress_bar_ends_on_the_final_count() -> None:
    """Rows that arrive within 0.1 s of the last redraw are on screen when the bar closes (after a Ctrl-C, say)."""
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(100, stream=stream, enabled=True, clock=lambda: now[0])
    bar.advance(10)
    now[0] = 0.05
    bar.advance(10)
    bar.close()
    assert stream.getvalue().rsplit("\r", 1)[-1].startswith("20/100 [")
    assert stream.getvalue().endswith("\n")


def test_progress_bar_counts_only_this_runs_texts_in_the_rate() -> None:
    now = [0.0]
    stream = io.StringIO()
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    bar = ProgressBar(100, done=40, stream=stream, enabled=True, clock=clock)
    now[0] = 2.0
    bar.advance(20)
    assert bar.rate() == 10.0
    assert stream.getvalue().startswith("\r60/100 [")
    assert "ETA 0:04" in stream.getvalue()
    silent = io.StringIO()
    ProgressBar(10, stream=silent, enabled=False).advance(10)
    assert silent.getvalue() == ""
