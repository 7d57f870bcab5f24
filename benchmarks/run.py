"""Benchmarks of sie-integrations against the alternatives, side by side, on one SIE server.

    cd /work/main && uv run --all-extras python benchmarks/run.py [--quick]

SIE_BASE_URL (default http://127.0.0.1:18080) must be a real SIE server; on this machine the peer
kit's server is started if it is not running (never stopped). The alternatives are installed on first
run into benchmarks/.venvs/ (langchain-openai on Python 3.13; sie-langchain and sie-llamaindex on
Python 3.12). Results go to benchmarks/results/latest.json and the table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
RESULTS = HERE / "results"
PEER = HERE.parent.parent / "shared" / "peer"
REPLAY_PORT = 18199
FAKE = "sie-fake"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
CHAT_MODEL = "tiny-chat-rendered"
SERVER_MAX_ITEMS = 512  # the server refuses requests with more items (QUEUE_FULL / 512 per request)

OURS = sys.executable
OPENAI_PY = VENVS / "openai313" / "bin" / "python"
SIE312_PY = VENVS / "sie312" / "bin" / "python"

# name -> (python, worker config without model/url/kind/count)
CLIENTS: dict[str, tuple[Path | str, dict]] = {
    "ours LangChain embed_documents (default 256x2)": (OURS, {"client": "ours_lc"}),
    "ours LangChain aembed_documents (default)": (OURS, {"client": "ours_lc_async"}),
    "ours LlamaIndex get_text_embedding_batch (default 256)": (OURS, {"client": "ours_li"}),
    "ours LangChain embed_documents_array (numpy)": (OURS, {"client": "ours_lc_numpy"}),
    "langchain-openai OpenAIEmbeddings (chunk 512)": (OPENAI_PY, {"client": "openai"}),
    "sie-langchain SIEEmbeddings (512 per call)": (SIE312_PY, {"client": "sie_langchain"}),
    "sie-llamaindex SIEEmbedding get_text_embedding_batch (default 10)": (SIE312_PY, {"client": "sie_llamaindex"}),
    "sie-sdk SIEClient.encode (numpy, 512 per call)": (SIE312_PY, {"client": "sie_sdk_numpy"}),
}
PEER_PY = Path(os.environ.get("SIE_PEER_HOME", Path.home() / ".cache" / "sie-peer")) / "venv" / "bin" / "python"
# The mixed-length corpus on the real model, against the server's best and the in-process floor.
FLOOR_CLIENTS: dict[str, tuple[Path | str, dict]] = {
    "ours LangChain embed_documents (defaults)": (OURS, {"client": "ours_lc"}),
    "ours LangChain embed_documents (batch_size=64)": (OURS, {"client": "ours_lc", "batch_size": 64}),
    "ours LlamaIndex get_text_embedding_batch (defaults)": (OURS, {"client": "ours_li"}),
    "langchain-openai OpenAIEmbeddings (chunk 512)": (OPENAI_PY, {"client": "openai"}),
    "sie-langchain SIEEmbeddings (512 per call)": (SIE312_PY, {"client": "sie_langchain"}),
    "server's best: length-sorted batches of 256, one in flight": (OURS, {"client": "server_best"}),
    "floor: in-process sentence-transformers, no HTTP": (PEER_PY, {"client": "in_process"}),
}
SERVER_BEST = "server's best: length-sorted batches of 256, one in flight"
CLUSTER_PORT = 18198
CLUSTER_SLOTS = (1, 4, 16)
CLUSTER_FIXED = (1, 2, 4, 8, 16, 32)
ADAPTIVE = "ours embed_documents, adaptive (the default), first call"
# The simulated cluster: ours adaptive, ours at each fixed limit, sie-langchain.
CLUSTER_CLIENTS: dict[str, tuple[Path | str, dict]] = {
    ADAPTIVE: (OURS, {"client": "ours_lc"}),
    "ours embed_documents, adaptive, third call on the same adapter": (OURS, {"client": "ours_lc", "prime": 2}),
    **{
        f"ours embed_documents, max_concurrency={n}": (OURS, {"client": "ours_lc", "max_concurrency": n})
        for n in CLUSTER_FIXED
    },
    "sie-langchain SIEEmbeddings (512 per call)": (SIE312_PY, {"client": "sie_langchain"}),
}
NUMPY_KEYS = {k for k in CLIENTS if "numpy" in k}
OURS_KEYS = [k for k in CLIENTS if k.startswith("ours") and k not in NUMPY_KEYS]  # list[list[float]] output
OURS_NUMPY = "ours LangChain embed_documents_array (numpy)"
ALT_KEYS = [k for k in CLIENTS if not k.startswith("ours")]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- setup ---------------------------------------------------------------------------------


def python312() -> str:
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
        latest = subprocess.run(["pyenv", "latest", "3.12"], capture_output=True, text=True, check=True).stdout.strip()
        path = Path(root) / "versions" / latest / "bin" / "python3.12"
        if path.exists():
            return str(path)
    except (OSError, subprocess.CalledProcessError):
        pass
    return "3.12"  # let uv find or fetch one


def ensure_venvs() -> None:
    specs = [
        (OPENAI_PY, "3.13", ["langchain-openai"]),
        (SIE312_PY, python312(), ["sie-langchain", "sie-llamaindex"]),
    ]
    for py, interp, pkgs in specs:
        venv = py.parent.parent
        if py.exists() and (venv / ".ok").exists():
            continue
        log(f"creating {venv.relative_to(HERE.parent)} ({interp}) with {' '.join(pkgs)}")
        if venv.exists():
            shutil.rmtree(venv)
        subprocess.run(["uv", "venv", "-q", "-p", interp, str(venv)], check=True)
        subprocess.run(["uv", "pip", "install", "-q", "-p", str(py), *pkgs], check=True)
        (venv / ".ok").write_text("ok\n")
    gi = HERE / ".gitignore"
    if not gi.exists():
        gi.write_text(".venvs/\nresults/raw/\n")


def server_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def ensure_server(url: str) -> None:
    if server_up(url):
        return
    start = PEER / "start.sh"
    if url.rstrip("/") == "http://127.0.0.1:18080" and start.exists():
        log("SIE peer not running: starting it (~30 s)")
        subprocess.run([str(start)], check=True, stdout=subprocess.DEVNULL)
    if not server_up(url):
        raise SystemExit(f"no SIE server answers at {url}")


def versions() -> dict:
    out = {"ours_python": platform.python_version()}
    for name, py, mods in [
        ("openai313", OPENAI_PY, ["langchain_openai", "openai", "langchain_core"]),
        ("sie312", SIE312_PY, ["sie_langchain", "sie_llamaindex", "sie_sdk", "langchain_core", "llama_index.core"]),
        ("ours", Path(OURS), ["sie_integrations", "langchain_core", "llama_index.core", "httpx", "numpy"]),
    ]:
        code = (
            "import importlib.metadata as m, platform, json; d={'python': platform.python_version()}\n"
            f"for mod in {mods!r}:\n"
            "    dist = {'llama_index.core': 'llama-index-core'}.get(mod, mod.replace('_', '-'))\n"
            "    try: d[dist] = m.version(dist)\n"
            "    except Exception: d[dist] = None\n"
            "print(json.dumps(d))"
        )
        res = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
        out[name] = json.loads(res.stdout) if res.returncode == 0 else res.stderr[-300:]
    return out


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:10]
    mem = ""
    with contextlib.suppress(OSError, StopIteration):
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "lscpu_head": lscpu, "meminfo": mem, "platform": platform.platform()}


# --- replay server -------------------------------------------------------------------------


def build_chat_sse(url: str, chunks: int) -> bytes:
    """A ~chunks-long SSE stream built from one stream captured from the real server."""
    body = json.dumps(
        {
            "model": CHAT_MODEL,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    req = urllib.request.Request(
        url + "/v1/chat/completions", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read().decode()
    events = [e[len("data: ") :] for e in raw.split("\n\n") if e.startswith("data: ")]
    payloads = [json.loads(e) for e in events if e.strip() != "[DONE]"]
    content = next(p for p in payloads if p.get("choices") and p["choices"][0]["delta"].get("content"))
    tail = [p for p in payloads if p is not content]
    out = []
    for i in range(chunks):
        chunk = json.loads(json.dumps(content))
        delta = {"content": f"tok{i} "}
        if i == 0:
            delta["role"] = "assistant"
        chunk["choices"][0]["delta"] = delta
        out.append(chunk)
    lines = [f"data: {json.dumps(p, separators=(',', ':'))}\n\n" for p in out + tail] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


class Replay:
    def __init__(self, upstream: str, sse_file: Path) -> None:
        self.proc = subprocess.Popen(
            [
                OURS,
                str(HERE / "replay_server.py"),
                "--port",
                str(REPLAY_PORT),
                "--upstream",
                upstream,
                "--chat-sse",
                str(sse_file),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY"):
            raise SystemExit(f"replay server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{REPLAY_PORT}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --- 1 and 2: embedding throughput -----------------------------------------------------------


def run_worker(py: Path | str, script: str, cfg: dict, timeout: float = 900) -> dict:
    res = subprocess.run(
        [str(py), str(HERE / script), json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(HERE.parent),
    )
    if res.returncode != 0:
        tail = res.stderr.strip().splitlines()[-1:] or ["?"]
        return {"error": tail[0][:300]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def med(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def embedding_suite(
    url: str, cases: list[tuple[str, str, int]], reps: int, warm: bool, raw: dict, clients: dict | None = None
) -> dict:
    """cases: (model, kind, count). Runs interleave the clients within each repetition."""
    clients = CLIENTS if clients is None else clients
    out: dict = {}
    for model, kind, count in cases:
        case = f"{model} {kind} x{count}"
        runs: dict[str, list[dict]] = {name: [] for name in clients}
        t0 = time.perf_counter()
        for rep in range(reps + (1 if warm else 0)):
            for name, (py, base) in clients.items():
                cfg = {**base, "model": model, "base_url": url, "kind": kind, "count": count}
                r = run_worker(py, "embed_worker.py", cfg)
                if warm and rep == 0:
                    continue  # the replay server records its answers on this pass
                runs[name].append(r)
        summary = {}
        for name, rows in runs.items():
            ok = [r for r in rows if "error" not in r]
            summary[name] = {
                "texts_per_s": med(ok, "texts_per_s"),
                "cpu_s_per_1k": med(ok, "cpu_s_per_1k"),
                "peak_rss_mb": med(ok, "peak_rss_mb"),
                "rss_growth_mb": med(ok, "rss_growth_mb"),
                "runs": len(ok),
                "errors": [r["error"] for r in rows if "error" in r],
            }
        raw[f"{url} {case}"] = runs
        out[case] = summary
        log(
            f"  {case}: {time.perf_counter() - t0:.0f}s  "
            + ", ".join(f"{n.split(' (')[0][:22]}={s['texts_per_s'] or 0:.0f}/s" for n, s in summary.items())
        )
    return out


class Cluster:
    """``cluster_server.py`` with ``slots`` slots (and ``extra`` arguments), in its own process."""

    def __init__(self, slots: int, extra: tuple[str, ...] = ()) -> None:
        command = [OURS, str(HERE / "cluster_server.py"), "--port", str(CLUSTER_PORT), "--slots", str(slots), *extra]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY"):
            raise SystemExit(f"simulated cluster did not start: {line!r}")
        self.url = f"http://127.0.0.1:{CLUSTER_PORT}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def cluster_runs(
    slots: int,
    extra: tuple[str, ...],
    clients: dict[str, tuple[Path | str, dict]],
    job: dict,
    reps: int,
    resize: tuple[float, int] | None = None,
) -> dict[str, list[dict]]:
    """Each client ``reps`` times, a fresh process each, against ``cluster_server.py`` with ``slots`` slots and
    ``extra`` arguments, on ``job`` (the worker's kind, count, ...); each run with the refusals the server sent.
    ``resize``: ``(seconds, slots)``, the cluster's new size that long after each client process starts."""
    cluster = Cluster(slots, extra)
    try:
        runs: dict[str, list[dict]] = {name: [] for name in clients}
        for _ in range(reps):
            for name, (py, base) in clients.items():
                cfg = {**base, **job, "model": "simulated", "base_url": cluster.url}
                timer = None
                if resize:
                    timer = threading.Timer(resize[0], urllib.request.urlopen, [f"{cluster.url}/slots?n={resize[1]}"])
                    timer.start()
                result = run_worker(py, "embed_worker.py", cfg)
                if timer:
                    timer.cancel()
                    urllib.request.urlopen(f"{cluster.url}/slots?n={slots}").read()
                with urllib.request.urlopen(cluster.url + "/stats") as answer:
                    result["refusals"] = json.loads(answer.read())["refusals"]
                runs[name].append(result)
    finally:
        cluster.close()
    return runs


HEADERLESS = ("--no-timing", "--base", "0.05", "--per-item", "0.0002", "--per-char", "0", "--queue-per-slot", "2")
"""A cluster behind a gateway that drops the timing headers: 50 ms + 0.2 ms an item, refusals past 2 x N waiting."""
HEADERLESS_SLOTS = (1, 4, 16, 64)
HEADERLESS_FIXED = (1, 2, 4, 8, 16, 32, 64, 128)
HEADERLESS_RESIZES = ((4, 16, 5.0), (16, 4, 2.0))
"""(slots before, slots after, seconds after the client process starts): the cluster that grows, and shrinks."""


def headerless_clients(fixed: Iterable[int]) -> dict[str, tuple[Path | str, dict]]:
    return {
        ADAPTIVE: (OURS, {"client": "ours_lc"}),
        **{
            f"ours embed_documents, max_concurrency={n}": (OURS, {"client": "ours_lc", "max_concurrency": n})
            for n in fixed
        },
        "sie-langchain SIEEmbeddings (512 per call)": (SIE312_PY, {"client": "sie_langchain"}),
    }


def near(slots: int) -> list[int]:
    """The fixed settings worth timing on a long job: from half the slots to four times (the best is among them)."""
    return [n for n in HEADERLESS_FIXED if slots / 2 <= n <= 4 * slots]


def headerless_cell(rows: list[dict]) -> dict:
    ok = [r for r in rows if "error" not in r]
    return {
        "wall_s": med(ok, "wall_s"),
        "refusals": med(ok, "refusals"),
        "errors": [r["error"] for r in rows if "error" in r],
    }


def headerless_suite(requests: int, long_requests: int, reps: int, raw: dict) -> dict:
    """Each client, a fresh process each, against a cluster that sends no timing headers: a job of ``requests``
    batches of 256 short texts at 1, 4, 16 and 64 slots (every fixed setting); one of ``long_requests`` (the fixed
    settings ``near`` the slot count); and the long job on a cluster that grows and one that shrinks mid-job."""
    out: dict = {}
    for count, fixed_for in ((requests, lambda _: HEADERLESS_FIXED), (long_requests, near)):
        job = {"kind": "short", "count": count * 256, "batch_size": 256}
        table = out[f"{count:,} requests of 256 short texts"] = {}
        for slots in HEADERLESS_SLOTS:
            runs = cluster_runs(slots, HEADERLESS, headerless_clients(fixed_for(slots)), job, reps)
            raw[f"headerless {slots} slots x{count}"] = runs
            table[f"{slots} slot{'s' if slots > 1 else ''}"] = {
                name: headerless_cell(rows) for name, rows in runs.items()
            }
            log(
                f"  {count} x {slots} slots: "
                + ", ".join(
                    f"{n[-18:]}={c['wall_s'] or 0:.2f}s"
                    for n, c in table[f"{slots} slot{'s' if slots > 1 else ''}"].items()
                )
            )
    job = {"kind": "short", "count": long_requests * 256, "batch_size": 256}
    table = out[f"{long_requests:,} requests of 256 short texts, the cluster resized mid-job"] = {}
    for before, after, at in HEADERLESS_RESIZES:
        fixed = [n for n in HEADERLESS_FIXED if min(before, after) <= n <= 4 * max(before, after)]
        runs = cluster_runs(before, HEADERLESS, headerless_clients(fixed), job, reps, (at, after))
        column = f"{before} -> {after} slots at {at:g} s"
        raw[f"headerless {column} x{long_requests}"] = runs
        table[column] = {name: headerless_cell(rows) for name, rows in runs.items()}
        log(f"  {column}: " + ", ".join(f"{n[-18:]}={c['wall_s'] or 0:.2f}s" for n, c in table[column].items()))
    return out


def cluster_suite(count: int, reps: int, raw: dict) -> dict:
    """Each client against the simulated cluster at 1, 4 and 16 slots; refusals counted per run."""
    out: dict = {}
    for slots in CLUSTER_SLOTS:
        runs = cluster_runs(slots, (), CLUSTER_CLIENTS, {"kind": "mixed", "count": count}, reps)
        raw[f"cluster {slots} slots x{count}"] = runs
        out[str(slots)] = {
            name: {
                "texts_per_s": med([r for r in rows if "error" not in r], "texts_per_s"),
                "refusals": med([r for r in rows if "error" not in r], "refusals"),
                "runs": len([r for r in rows if "error" not in r]),
                "errors": [r["error"] for r in rows if "error" in r],
            }
            for name, rows in runs.items()
        }
        log(
            f"  {slots} slots: "
            + ", ".join(f"{n[-22:]}={s['texts_per_s'] or 0:.0f}/s" for n, s in out[str(slots)].items())
        )
    return out


# --- 3: decode path ---------------------------------------------------------------------------


def build_encode_body(n: int, dims: int) -> bytes:
    """An /v1/encode msgpack answer: items[].dense.values as numpy-map arrays (msgpack-numpy layout)."""
    import msgpack
    import numpy as np

    rng = np.random.default_rng(0)
    block = rng.standard_normal((min(n, 1000), dims), dtype=np.float32)
    items = []
    for i in range(n):
        data = block[i % len(block)].tobytes()
        arr = {b"nd": True, b"type": "<f4", b"kind": b"", b"shape": [dims], b"data": data}
        items.append({"dense": {"dims": dims, "dtype": "float32", "values": arr}})
    return msgpack.packb({"model": "bench", "items": items}, use_bin_type=True)


def decode_suite(n_full: int, n_list: int, dims: int, reps: int) -> dict:
    from sie_integrations._adapters.batching import _Matrix
    from sie_integrations._core.encode import parse_encode, parse_encode_dense

    ctype = "application/msgpack"

    def measure(fn, body: bytes, n: int, traced: bool) -> tuple[float, float | None]:
        gc.collect()
        if traced:
            tracemalloc.start()
        t0 = time.perf_counter()
        result = fn(body, n)
        dt = time.perf_counter() - t0
        peak = None
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        del result
        gc.collect()
        return dt, peak

    def matrix_path(body: bytes, n: int):  # what encode_dense / embed_documents_array return
        return parse_encode_dense(body, ctype, n)

    def views_path(body: bytes, n: int):  # what SIEClient.encode returns: one EncodeResult per item
        return parse_encode(body, ctype, n)

    def batched_matrix(body: bytes, n: int):  # what embed_documents_array does: one body per batch of 256
        out = _Matrix(n)
        for start in range(0, n, 256):
            out.put(start, parse_encode_dense(body, ctype, 256)[: min(256, n - start)])
        return out.result()

    def list_path(body: bytes, n: int):  # what our embed_documents returns
        return parse_encode_dense(body, ctype, n).tolist()

    def plain_lists(body: bytes, n: int):  # a decoder that hands out lists per vector (sie-sdk style)
        import msgpack
        import numpy as np

        obj = msgpack.unpackb(body, raw=False)
        return [np.frombuffer(it["dense"]["values"][b"data"], dtype="<f4").tolist() for it in obj["items"]]

    out: dict = {"dims": dims}
    big = build_encode_body(n_full, dims)
    small = build_encode_body(n_list, dims)
    out["body_mb_full"] = len(big) / 2**20
    for name, fn in [("numpy_matrix", matrix_path), ("numpy_views", views_path)]:
        out[name] = {
            "vectors": n_full,
            "time_s": statistics.median([measure(fn, big, n_full, False)[0] for _ in range(reps)]),
            "tracemalloc_peak_mb": measure(fn, big, n_full, True)[1],
        }
    for name, fn in [("lists_via_matrix", list_path), ("lists_per_vector_tolist", plain_lists)]:
        times = [measure(fn, small, n_list, False)[0] for _ in range(reps)]
        peak = measure(fn, small, n_list, True)[1]
        out[name] = {
            "vectors_measured": n_list,
            "time_s": statistics.median(times),
            "tracemalloc_peak_mb": peak,
            "extrapolated_to": n_full,
            "time_s_extrapolated": statistics.median(times) * n_full / n_list,
            "tracemalloc_peak_mb_extrapolated": peak * n_full / n_list,
        }
    batch = build_encode_body(256, dims)
    out["numpy_batched"] = {
        "vectors": n_full,
        "time_s": statistics.median([measure(batched_matrix, batch, n_full, False)[0] for _ in range(reps)]),
        "tracemalloc_peak_mb": measure(batched_matrix, batch, n_full, True)[1],
    }
    del big, small, batch
    gc.collect()
    return out


# --- 5: import time ----------------------------------------------------------------------------


def import_time(py: Path | str, stmt: str, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([str(py), "-c", stmt], check=True, capture_output=True, cwd=str(HERE.parent))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def import_suite(reps: int) -> dict:
    lc_base = "import langchain_core.language_models, langchain_core.embeddings"
    li_base = "import llama_index.core"
    out = {}
    for label, py, base, stmt in [
        ("ours: SIEEmbeddings (LangChain)", OURS, lc_base, "from sie_integrations.langchain import SIEEmbeddings"),
        (
            "ours: every LangChain adapter",
            OURS,
            lc_base,
            "from sie_integrations.langchain import SIEChatModel, SIEEmbeddings, SIEExtractor, SIEReranker",
        ),
        ("sie-langchain: SIEEmbeddings", SIE312_PY, lc_base, "from sie_langchain import SIEEmbeddings"),
        (
            "sie-langchain: every adapter",
            SIE312_PY,
            lc_base,
            "from sie_langchain import SIEEmbeddings, SIEExtractor, SIEReranker",
        ),
        ("ours: sie_integrations.llama_index", OURS, li_base, "import sie_integrations.llama_index"),
        ("sie-llamaindex: sie_llamaindex", SIE312_PY, li_base, "import sie_llamaindex"),
    ]:
        import_time(py, base, 1)  # warm the bytecode caches
        import_time(py, f"{base}; {stmt}", 1)
        b = import_time(py, base, reps)
        full = import_time(py, f"{base}; {stmt}", reps)
        out[label] = {"framework_ms": b, "with_package_ms": full, "net_ms": full - b, "reps": reps}
    return out


# --- report ------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def fmt(v: float | None, digits: int = 0) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def slot_columns(table: dict) -> list[str]:
    """The header rows of a table with a column per slot count."""
    names = " | ".join(f"{s} slot{'s' if s != '1' else ''}" for s in table)
    return [f"| client | {names} |", "|---|" + "---:|" * len(table)]


def render(results: dict) -> str:
    lines: list[str] = []
    for target, title in [
        ("peer", "against the real SIE server"),
        ("replay", "against the zero-latency replay server"),
    ]:
        suite = results.get("embeddings", {}).get(target)
        if not suite:
            continue
        lines += [f"### Embedding throughput {title}", ""]
        lines += [
            "| case | client | texts/s | client CPU s / 1k vectors | peak RSS MB (growth) | runs |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for case, summary in suite.items():
            for name, s in summary.items():
                err = f" (errors: {len(s['errors'])})" if s["errors"] else ""
                lines.append(
                    f"| {case} | {name} | {fmt(s['texts_per_s'])} | {fmt(s['cpu_s_per_1k'], 4)} | "
                    f"{fmt(s['peak_rss_mb'])} ({fmt(s['rss_growth_mb'])}) | {s['runs']}{err} |"
                )
        lines += [
            "",
            "Ours against each alternative: throughput ratio (higher is better), CPU-per-vector ratio (lower is "
            "better). *Lists* is the best of our list-returning clients (the frameworks' `list[list[float]]`); "
            "*numpy* is `embed_documents_array`:",
            "",
            "| case | alternative | throughput ours/alt: lists | CPU per vector ours/alt: lists | "
            "throughput ours/alt: numpy | CPU per vector ours/alt: numpy |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for case, summary in suite.items():
            ours = {k: summary[k] for k in OURS_KEYS if summary[k]["texts_per_s"]}
            if not ours:
                continue
            best = max(ours, key=lambda k: ours[k]["texts_per_s"])
            npy = summary[OURS_NUMPY]
            for alt in ALT_KEYS:
                a = summary[alt]
                lines.append(
                    f"| {case} | {alt} | {ratio(ours[best]['texts_per_s'], a['texts_per_s'])} | "
                    f"{ratio(ours[best]['cpu_s_per_1k'], a['cpu_s_per_1k'])} | "
                    f"{ratio(npy['texts_per_s'], a['texts_per_s'])} | {ratio(npy['cpu_s_per_1k'], a['cpu_s_per_1k'])} |"
                )
        lines.append("")
    floor = results.get("floor")
    if floor:
        lines += [
            "### The real model on a mixed-length corpus, against the server's best and the in-process floor",
            "",
            "75% of the texts have 6-16 words, 25% have 90-180; `sentence-transformers/all-MiniLM-L6-v2` on the CPU "
            "test server, sharing its 2 cores with the client. The ratio is the wall time over the server's best "
            "(lower is better; the target for ours is at most 1.1).",
            "",
            "| corpus | client | wall s | texts/s | x the server's best | runs |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for case, summary in floor.items():
            count = int(case.rsplit("x", 1)[1])
            best = summary.get(SERVER_BEST, {}).get("texts_per_s")
            for name, s in summary.items():
                rate = s["texts_per_s"]
                err = f" (errors: {len(s['errors'])})" if s["errors"] else ""
                wall = count / rate if rate else None
                times = f"{best / rate:.2f}" if rate and best else "n/a"
                row = f"| {count:,} texts | {name} | {fmt(wall, 1)} | {fmt(rate)} | {times} | {s['runs']}{err} |"
                lines.append(row)
        lines.append("")
    cluster = results.get("cluster")
    if cluster:
        count = results["meta"].get("cluster_count", 0)
        lines += [
            f"### A simulated cluster: {count:,} mixed-length texts against 1, 4 and 16 parallel slots",
            "",
            "`cluster_server.py`: a batch waits for a free slot, then takes `0.005 + 1e-5 x items x longest text` "
            "seconds; a batch that would take the pending items past 512 per slot is refused (503 `QUEUE_FULL`, "
            "`Retry-After: 1`). Each cell: texts/s, then the share of the best fixed `max_concurrency` for that "
            "slot count (the target for adaptive is at least 0.90), then the refusals the server sent (median).",
            "",
            *slot_columns(cluster),
        ]
        bests = {
            slots: max(
                (v["texts_per_s"] or 0 for k, v in rows.items() if "max_concurrency=" in k),
                default=0,
            )
            for slots, rows in cluster.items()
        }
        for name in next(iter(cluster.values())):
            cells = []
            for slots, rows in cluster.items():
                s = rows[name]
                rate, best = s["texts_per_s"], bests[slots]
                share = f"{rate / best:.2f}" if rate and best else "n/a"
                cells.append(f"{fmt(rate)} / {share} / {fmt(s['refusals'])}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    headerless = results.get("headerless") or {}
    for job, table in headerless.items():
        lines += [
            f"### A cluster that sends no timing headers: {job}",
            "",
            "| client | " + " | ".join(table) + " |",
            "|---|" + "---:|" * len(table),
        ]
        fastest = {
            column: min((v["wall_s"] for k, v in rows.items() if "max_concurrency=" in k and v["wall_s"]), default=0)
            for column, rows in table.items()
        }
        names = list(dict.fromkeys(name for rows in table.values() for name in rows))
        for name in sorted(
            names, key=lambda n: (n != ADAPTIVE, "sie-langchain" in n, int(n.split("=")[-1]) if "=" in n else 0)
        ):
            cells = []
            for column, rows in table.items():
                wall = rows.get(name, {}).get("wall_s")
                share = f"{fastest[column] / wall:.2f}" if wall and fastest[column] else "n/a"
                cells.append(f"{fmt(wall, 2)} s / {share} / {fmt(rows[name]['refusals'])}" if wall else "—")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if headerless:
        lines += [
            "`cluster_server.py " + " ".join(HEADERLESS) + "`: N slots serving one request each, 50 ms + 0.2 ms an "
            "item, `QUEUE_FULL` with `Retry-After: 1` past 2 x N waiting requests, and no `X-Queue-Time` / "
            "`X-Total-Time`, as a gateway, an ingress or a proxy may send. Each cell: seconds (median), the share of "
            "the best fixed `max_concurrency` in that column (best time / this time; the target for adaptive is at "
            "least 0.90), and the refusals the server sent; — where a fixed setting far from the slot count was not "
            "timed on the long jobs.",
            "",
        ]
    dec = results.get("decode")
    if dec:
        n = dec["numpy_matrix"]["vectors"]
        lines += [
            f"### Decode path: msgpack answer of {n:,} x {dec['dims']} float32 ({dec['body_mb_full']:.0f} MB body)",
            "",
            f"| path | vectors measured | time s | tracemalloc peak MB | extrapolated to {n:,}: time s / peak MB |",
            "|---|---:|---:|---:|---|",
        ]
        for key, label in [
            ("numpy_matrix", "`parse_encode_dense` -> one numpy matrix (`encode_dense`, `embed_documents_array`)"),
            ("numpy_views", "`parse_encode` -> numpy views, one `EncodeResult` per item (`encode`)"),
            ("numpy_batched", "the same vectors in bodies of 256, copied into one matrix (`embed_documents_array`)"),
        ]:
            d = dec[key]
            lines.append(
                f"| {label} | {d['vectors']:,} | {d['time_s']:.3f} | {d['tracemalloc_peak_mb']:.1f} | measured |"
            )
        for key, label in [
            ("lists_via_matrix", "`parse_encode_dense(...).tolist()` -> list[list[float]] (`embed_documents`)"),
            ("lists_per_vector_tolist", "plain msgpack + per-vector `.tolist()`"),
        ]:
            d = dec[key]
            lines.append(
                f"| {label} | {d['vectors_measured']:,} | {d['time_s']:.3f} | "
                f"{d['tracemalloc_peak_mb']:.1f} | {d['time_s_extrapolated']:.2f} / "
                f"{d['tracemalloc_peak_mb_extrapolated']:,.0f} (x{n // d['vectors_measured']}) |"
            )
        lines.append("")
    st = results.get("streaming")
    if st:
        lines += [
            f"### Streaming: {st.get('chunks_in_stream')} content chunks replayed at zero latency",
            "",
            "| client | us per chunk (wall) | CPU us per chunk | time to first chunk us | "
            "TTFT added over raw httpx us |",
            "|---|---:|---:|---:|---:|",
        ]
        floor = st.get("raw httpx SSE lines (floor)", {}).get("ttft_us")
        for name, s in st.items():
            if not isinstance(s, dict):
                continue
            if "error" in s:
                lines.append(f"| {name} | error: {s['error'][:80]} | | | |")
                continue
            added = s["ttft_us"] - floor if floor is not None else None
            lines.append(
                f"| {name} | {s['us_per_chunk']:.1f} | {s['cpu_us_per_chunk']:.1f} | "
                f"{s['ttft_us']:.0f} | {fmt(added)} |"
            )
        lines.append("")
    imp = results.get("imports")
    if imp:
        lines += [
            "### Import time (median of fresh subprocesses, wall ms)",
            "",
            "| import | framework alone ms | framework + package ms | net ms |",
            "|---|---:|---:|---:|",
        ]
        for name, d in imp.items():
            lines.append(f"| {name} | {d['framework_ms']:.0f} | {d['with_package_ms']:.0f} | {d['net_ms']:.0f} |")
        lines.append("")
    meta = results["meta"]
    lines += [
        f"Run: `{meta['command']}` on {meta['date']}, total {meta['total_s']:.0f} s, "
        f"{meta['reps']} repetitions (medians), server {meta['base_url']}."
    ]
    if len(set(meta.get("parts", {}).values())) > 1:
        lines += ["", "Parts from different runs: " + ", ".join(f"{p} {d}" for p, d in meta["parts"].items()) + "."]
    return "\n".join(lines)


def update_readme(table: str) -> None:
    readme = HERE / "README.md"
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")


# --- main --------------------------------------------------------------------------------------

PART_KEYS = {
    "floor": "floor",
    "cluster": "cluster",
    "headerless": "headerless",
    "stream": "streaming",
    "decode": "decode",
    "imports": "imports",
}


def keep_previous_parts(results: dict, previous: dict, ran: dict[str, bool], dates: dict[str, str]) -> None:
    """A partial run (--only) keeps the other parts of the last full results, with their dates."""
    old_dates = previous.get("meta", {}).get("parts") or {}
    old_date = previous.get("meta", {}).get("date")
    for part, done in ran.items():
        if done:
            continue
        if part in ("embed", "replay"):
            sub = "peer" if part == "embed" else "replay"
            if sub in previous.get("embeddings", {}):
                results["embeddings"][sub] = previous["embeddings"][sub]
                dates[part] = old_dates.get(part, old_date)
        elif PART_KEYS[part] in previous:
            results[PART_KEYS[part]] = previous[PART_KEYS[part]]
            dates[part] = old_dates.get(part, old_date)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repetition, smaller inputs")
    ap.add_argument("--only", default="embed,floor,cluster,headerless,replay,decode,stream,imports")
    ap.add_argument("--cluster-count", type=int, default=5000, help="texts per call in the cluster part")
    ap.add_argument("--headerless-requests", type=int, default=64, help="requests of 256 texts, headerless part")
    ap.add_argument("--headerless-long", type=int, default=1000, help="requests of the headerless part's long job")
    ap.add_argument("--floor-counts", default="512,5000", help="corpus sizes of the floor part (comma-separated)")
    ap.add_argument("--reps", type=int, help="repetitions (default 3, or 1 with --quick)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    t_start = time.perf_counter()
    url = os.environ.get("SIE_BASE_URL", "http://127.0.0.1:18080").rstrip("/")
    reps = args.reps or (1 if args.quick else 3)
    scale = 10 if args.quick else 1
    ensure_venvs()
    ensure_server(url)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "raw").mkdir(exist_ok=True)
    raw: dict = {}
    results: dict = {"meta": {}, "machine": machine(), "versions": versions()}

    # Counts: sie-fake at the requested sizes; MiniLM reduced (its server cost, ~360 short / ~16 long
    # texts per second on this 2-core machine, would make the requested sizes take minutes per run).
    peer_cases = [
        (FAKE, "short", 20000 // scale),
        (FAKE, "long", 2000 // scale),
        (MINILM, "short", 2000 // scale),
        (MINILM, "long", 128 // max(1, scale // 2)),
    ]
    results["embeddings"] = {}
    if "embed" in only:
        log(f"embeddings against {url}")
        results["embeddings"]["peer"] = embedding_suite(url, peer_cases, reps, False, raw)

    if "floor" in only:
        log(f"the mixed-length corpus on {MINILM}, against the server's best and the floor")
        counts = [int(c) // scale for c in args.floor_counts.split(",")]
        cases = [(MINILM, "mixed", count) for count in counts]
        results["floor"] = embedding_suite(url, cases, reps, False, raw, FLOOR_CLIENTS)

    if "cluster" in only:
        log("the simulated cluster")
        results["cluster"] = cluster_suite(args.cluster_count // scale, reps, raw)

    if "headerless" in only:
        log("the simulated cluster without timing headers")
        results["headerless"] = headerless_suite(args.headerless_requests, args.headerless_long, reps, raw)

    replay = None
    try:
        if only & {"replay", "stream"}:
            sse_file = RESULTS / "raw" / "chat_stream.sse"
            sse_file.write_bytes(build_chat_sse(url, 500))
            replay = Replay(url, sse_file)
        if "replay" in only and replay:
            log(f"embeddings against the replay server {replay.url}")
            cases = [(FAKE, "short", 20000 // scale), (FAKE, "long", 2000 // scale)]
            results["embeddings"]["replay"] = embedding_suite(replay.url, cases, reps, True, raw)
        if "stream" in only and replay:
            log("streaming")
            sreps = 5 if args.quick else 21
            st: dict = {"chunks_in_stream": 500}
            for name, py, client in [
                ("ours SIEChatModel.stream", OURS, "ours"),
                ("langchain-openai ChatOpenAI.stream", OPENAI_PY, "openai"),
                ("raw httpx SSE lines (floor)", OURS, "raw_httpx"),
            ]:
                st[name] = run_worker(
                    py,
                    "stream_worker.py",
                    {"client": client, "base_url": replay.url, "model": CHAT_MODEL, "reps": sreps},
                )
            results["streaming"] = st
    finally:
        if replay:
            replay.close()

    if "decode" in only:
        log("decode path")
        results["decode"] = decode_suite(100_000 // scale, 10_000 // scale, 1024, reps)
    if "imports" in only:
        log("import times")
        results["imports"] = import_suite(5)

    results["meta"] = {
        "command": " ".join(["uv run --all-extras python benchmarks/run.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "total_s": time.perf_counter() - t_start,
        "reps": reps,
        "quick": args.quick,
        "base_url": url,
        "cluster_count": args.cluster_count // scale,
    }
    ran = {"embed": "peer" in results["embeddings"], "replay": "replay" in results["embeddings"]}
    ran |= {part: part_key in results for part, part_key in PART_KEYS.items() if part not in ran}
    dates = {part: results["meta"]["date"] for part, done in ran.items() if done}
    previous = RESULTS / "latest.json"
    if not args.quick and not all(ran.values()) and previous.exists():
        keep_previous_parts(results, json.loads(previous.read_text()), ran, dates)
    results["meta"]["parts"] = dates
    name = "latest-quick.json" if args.quick else "latest.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))
    (RESULTS / "raw" / f"runs{'-quick' if args.quick else ''}.json").write_text(json.dumps(raw, indent=1))
    table = render(results)
    if not args.quick:
        update_readme(table)
    print(table)
    log(f"done in {results['meta']['total_s']:.0f}s; results in {RESULTS / name}")


if __name__ == "__main__":
    main()
