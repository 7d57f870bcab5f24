"""Client overhead per streamed chat chunk, in a fresh process; prints one JSON line.

argv[1]: {"client": "ours"|"openai"|"raw_httpx", "base_url", "model", "reps"}. The server is the
replay server, which answers a streamed chat with a fixed SSE body at zero latency, so the time
between chunks is the client's own parsing and message-building cost.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time


def make_stream(cfg: dict):
    client, url, model = cfg["client"], cfg["base_url"], cfg["model"]
    if client == "ours":
        from sie_integrations.langchain import SIEChatModel

        llm = SIEChatModel(model=model, base_url=url)
        return lambda: llm.stream("Tell me a story")
    if client == "openai":
        from langchain_openai import ChatOpenAI

        llm = ChatOpenAI(base_url=url + "/v1", api_key="x", model=model)
        return lambda: llm.stream("Tell me a story")
    if client == "raw_httpx":  # the floor: an HTTP client reading SSE lines, no parsing
        import httpx

        http = httpx.Client(base_url=url)
        body = {"model": model, "messages": [{"role": "user", "content": "Tell me a story"}], "stream": True}

        def gen():
            with http.stream("POST", "/v1/chat/completions", json=body) as resp:
                for line in resp.iter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        yield line

        return gen
    raise SystemExit(f"unknown client {client!r}")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    stream = make_stream(cfg)
    for _ in stream():  # warm-up
        pass
    per_chunk, ttft, cpu_per_chunk, counts = [], [], [], []
    for _ in range(cfg["reps"]):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        first = last = None
        n = 0
        for _chunk in stream():
            now = time.perf_counter()
            if first is None:
                first = now
            last = now
            n += 1
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        ttft.append((first - t0) * 1e6)
        per_chunk.append((last - first) / max(1, n - 1) * 1e6)
        cpu_per_chunk.append(((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / n * 1e6)
        counts.append(n)
    print(
        json.dumps(
            {
                "us_per_chunk": statistics.median(per_chunk),
                "ttft_us": statistics.median(ttft),
                "cpu_us_per_chunk": statistics.median(cpu_per_chunk),
                "chunks": statistics.median(counts),
                "reps": cfg["reps"],
                "python": sys.version.split()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
