"""``FakeSIE``: an ``httpx.MockTransport`` handler that computes SIE's answers from each request.

Each answer is a function of what was sent (a text's vector depends on the text alone), so a result in the wrong
place shows. It answers every route an SIE server has (health, models, encode, score, extract, generate, chat),
records what it was sent, counts the requests in flight, and can refuse, slow down or interrupt any of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

import httpx
import msgpack
import numpy as np

BASE_URL = "https://sie.test"

Refusal = Callable[[str, int, Any], httpx.Response | None]
"""``(route, number, body)``: the answer to give instead, for the ``number``-th request (from 1) to ``route``
(``"encode"``, ``"score"``, ``"extract"``, ``"generate"``, ``"chat"``, ``"models"``); None answers as usual.
It may also sleep, or raise (``KeyboardInterrupt``: a Ctrl-C while the request is in flight)."""


def vector_of(text: str) -> list[float]:
    """The fake's dense vector of a text: three numbers that depend on the text alone, exact in float32."""
    return [float(len(text)), float(sum(map(ord, text)) % 9973), 1.0]


def numbered_vector(text: str) -> list[float]:
    """For texts like ``"t7"``: ``[7.0, 1.0]``, the number after the first character."""
    return [float(text[1:]), 1.0]


def numbered_sparse(text: str) -> tuple[list[int], list[float]]:
    """For texts like ``"t7"``: indices ``[7, 50]``, values ``[0.5, 0.25]``."""
    return [int(text[1:]), 50], [0.5, 0.25]


def hashed_vector(text: str, dims: int = 4) -> list[float]:
    """A vector of ``dims`` numbers from the text's sha256, exact in float32 (it looks like an embedding)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 8 - 16 for b in digest[:dims]]


def trailing_numbers(query: str, texts: Sequence[str]) -> list[float]:
    """Each text's score: the number it ends with (``"doc 3"`` scores 3.0), else 0."""
    scores = []
    for text in texts:
        last = text.rsplit(" ", 1)[-1]
        scores.append(float(last) if last.lstrip("-").replace(".", "", 1).isdigit() else 0.0)
    return scores


def decoded(request: httpx.Request) -> Any:
    """The body of a request, msgpack or JSON; None when it has none."""
    if not request.content:
        return None
    if "msgpack" in request.headers.get("content-type", ""):
        return msgpack.unpackb(request.content, raw=False)
    return json.loads(request.content)


def array_map(array: np.ndarray[Any, Any]) -> dict[bytes, Any]:
    """A numpy array as the server packs it in msgpack (msgpack-numpy's map)."""
    return {b"nd": True, b"type": array.dtype.str, b"kind": b"", b"shape": list(array.shape), b"data": array.tobytes()}


def model_entry(name: str, outputs: list[str], *, loaded: bool = True, dims: int = 3, **more: Any) -> dict[str, Any]:
    """One model of ``GET /v1/models``; ``dims``: its dense vectors' size."""
    return {
        "name": name,
        "inputs": ["text"],
        "outputs": outputs,
        "dims": {"dense": dims} if "dense" in outputs else {},
        "loaded": loaded,
        "state": "loaded" if loaded else "available",
        **more,
    }


def _text_of(item: dict[str, Any]) -> str:
    """An item's text; a document's bytes as text; ``"<n images>"`` for images alone."""
    text = item.get("text")
    if isinstance(text, str):
        return text
    document = item.get("document")
    if isinstance(document, dict):
        data = document["data"]
        return (data if isinstance(data, bytes) else base64.b64decode(data)).decode("utf-8", "replace")
    return f"<{len(item.get('images') or [])} images>"


def parsed(text: str) -> dict[str, Any]:
    """A Docling-like ``extract`` answer for a document whose bytes are ``text``: a per-item error when it starts
    with ``%PDF`` (as the CPU peer answers), else its Markdown, text and a small document with one page."""
    if text.startswith("%PDF"):
        return {"error": {"code": "INFERENCE_ERROR", "message": "Document conversion failed"}}
    document = {"schema_name": "DoclingDocument", "pages": {"1": {"page_no": 1}}, "texts": [{"text": text}]}
    return {"data": {"markdown": f"# {text}", "text": text, "document": document}}


class FakeSIE:
    """An SIE server behind ``httpx.MockTransport``, for sync and async clients; thread-safe.

    Args:
        vector: A text's dense vector (an item with images only counts as the text ``"<n images>"``).
        sparse: A text's sparse vector ``(indices, values)``; None: encode answers dense vectors only.
        score: The scores of a query's candidates, in their order (default: ``trailing_numbers``).
        extract: One text's extraction (``entities``, ``relations``, ... as the server sends them); default: none.
        chat: The assistant message for a chat request's body; default: ``"<n> messages"``.
        models: What ``GET /v1/models`` lists (``GET /v1/models/{id}`` answers the one named, else a plain one).
        key: Requests without ``Authorization: Bearer <key>`` get 401 (health routes excepted).
        version: The ``x-sie-server-version`` header of native answers; None sends none.
        refuse: See ``Refusal``.
        delay: Seconds a successful answer is held (async: on the event loop), so requests overlap; a refusal is
            at once, as a server refuses before any work.
        msgpack_vectors: Answer a msgpack encode request in msgpack, vectors as numpy arrays (as the server does).
        timing: ``(queue, total)`` milliseconds, sent as ``X-Queue-Time`` and ``X-Total-Time`` on native answers
            (as a standalone server sends them); None sends none, as a gateway or a proxy may not.
        prompt_tokens: The prompt tokens chat and generate answers report, from the text sent (a chat's
            messages' text joined); None: 7 (chat) and 1 (generate).
    """

    def __init__(
        self,
        *,
        vector: Callable[[str], list[float]] = vector_of,
        sparse: Callable[[str], tuple[list[int], list[float]]] | None = None,
        score: Callable[[str, Sequence[str]], list[float]] = trailing_numbers,
        extract: Callable[[str], dict[str, Any]] | None = None,
        chat: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        models: list[dict[str, Any]] | None = None,
        key: str | None = None,
        version: str | None = "0.10.1",
        refuse: Refusal | None = None,
        delay: float = 0.0,
        msgpack_vectors: bool = False,
        timing: tuple[float, float] | None = None,
        prompt_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.vector = vector
        self.sparse = sparse
        self.score = score
        self.extract = extract
        self.chat = chat
        self.models = models or []
        self.key = key
        self.version = version
        self.refuse = refuse
        self.delay = delay
        self.msgpack_vectors = msgpack_vectors
        self.timing = timing
        self.prompt_tokens = prompt_tokens
        self.requests: list[httpx.Request] = []
        self.bodies: list[Any] = []
        self.counts: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.completed = 0
        self._lock = threading.Lock()

    # --- what it was sent ---------------------------------------------------------------------

    def sent(self, route: str) -> list[Any]:
        """The bodies sent to ``route`` (``"encode"``, ``"score"``, ...), in order."""
        return [body for request, body in zip(self.requests, self.bodies, strict=True) if _route(request) == route]

    @property
    def encode_batches(self) -> list[list[str]]:
        """The texts of each encode request, in the order they arrived."""
        return [[_text_of(item) for item in body["items"]] for body in self.sent("encode")]

    @property
    def encoded(self) -> list[str]:
        """Every text encoded, in the order they arrived."""
        return [text for batch in self.encode_batches for text in batch]

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    # --- wiring ------------------------------------------------------------------------------

    def client(self, **options: Any) -> httpx.Client:
        """An ``httpx.Client`` whose requests this server answers (``options``: more ``httpx.Client`` arguments)."""
        return httpx.Client(transport=httpx.MockTransport(self), **options)

    def async_client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose requests this server answers."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle_async), **options)

    def connection(self, base_url: str = BASE_URL) -> dict[str, Any]:
        """The arguments that connect an adapter (sync and async) to this server."""
        return {"base_url": base_url, "http_client": self.client(), "http_async_client": self.async_client()}

    # --- answering ---------------------------------------------------------------------------

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        """The async transport's handler: as ``__call__``, the wait of a successful answer on the event loop."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = self._answer(request)
            if self.delay and response.status_code == 200:
                await asyncio.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        self.completed += 1
        return response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = self._answer(request)
            if self.delay and response.status_code == 200:
                time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        with self._lock:
            self.completed += 1
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        body = decoded(request)
        route = _route(request)
        with self._lock:
            self.requests.append(request)
            self.bodies.append(body)
            number = self.counts[route] = self.counts.get(route, 0) + 1
        if route == "health":
            return httpx.Response(404, json={"detail": "Not Found"})
        if route == "readyz":
            return httpx.Response(200, text="ok")
        if self.key is not None and request.headers.get("authorization") != f"Bearer {self.key}":
            return httpx.Response(401, json={"detail": {"code": "UNAUTHORIZED", "message": "invalid or missing key"}})
        refused = self.refuse(route, number, body) if self.refuse is not None else None
        if refused is not None:
            return refused
        name = unquote(request.url.raw_path.decode("ascii").split("?")[0].rsplit("/", 1)[-1])
        answer = {
            "models": self._models,
            "encode": self._encode,
            "score": self._score,
            "extract": self._extract,
            "generate": self._generate,
            "chat": self._chat,
        }.get(route)
        return answer(request, body, name) if answer else httpx.Response(404, json={"detail": "Not Found"})

    def _score(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        values = self.score(_text_of(body["query"]), [_text_of(item) for item in body["items"]])
        order = sorted(range(len(values)), key=lambda i: -values[i])
        scores = [{"item_id": f"item-{i}", "score": values[i], "rank": rank} for rank, i in enumerate(order)]
        return httpx.Response(200, json={"model": name, "query_id": None, "scores": scores}, headers=self._headers())

    def _extract(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        empty: dict[str, Any] = {"entities": [], "relations": [], "classifications": [], "objects": [], "data": {}}
        items = [
            {"id": f"item-{i}", **empty, **(self.extract(_text_of(item)) if self.extract else {})}
            for i, item in enumerate(body["items"])
        ]
        return httpx.Response(200, json={"model": name, "items": items}, headers=self._headers())

    def _generate(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        prompt = self.prompt_tokens(body["prompt"]) if self.prompt_tokens else 1
        usage = {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1}
        return httpx.Response(200, json={"model": name, "text": "ok", "finish_reason": "stop", "usage": usage})

    def _chat(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        message = self.chat(body) if self.chat else {"content": f"{len(body['messages'])} messages"}
        choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
        text = "".join(str(m.get("content") or "") for m in body["messages"])
        prompt = self.prompt_tokens(text) if self.prompt_tokens else 7
        usage = {"prompt_tokens": prompt, "completion_tokens": 3, "total_tokens": prompt + 3}
        return httpx.Response(200, json={"id": "c1", "model": body["model"], "choices": [choice], "usage": usage})

    def _headers(self) -> dict[str, str]:
        headers = {"x-sie-server-version": self.version} if self.version else {}
        if self.timing is not None:
            headers.update({"x-queue-time": f"{self.timing[0]:.2f}", "x-total-time": f"{self.timing[1]:.2f}"})
        return headers

    def _models(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"models": self.models})
        raw = request.url.raw_path.decode("ascii").split("?")[0]
        wanted = unquote(raw[len("/v1/models/") :])
        found = next((m for m in self.models if m["name"] == wanted), None)
        return httpx.Response(200, json=found or {"name": wanted, "max_sequence_length": 512})

    def _encode(self, request: httpx.Request, body: Any, name: str) -> httpx.Response:
        texts = [_text_of(item) for item in body["items"]]
        vectors = [self.vector(text) for text in texts]
        packed = self.msgpack_vectors and "msgpack" in request.headers.get("content-type", "")
        items = []
        for text, values in zip(texts, vectors, strict=True):
            dense = array_map(np.asarray(values, "<f4")) if packed else values
            item: dict[str, Any] = {"dense": {"dims": len(values), "dtype": "float32", "values": dense}}
            if self.sparse is not None:
                indices, weights = self.sparse(text)
                item["sparse"] = {"dims": 0, "dtype": "float32", "indices": indices, "values": weights}
            items.append(item)
        if packed:
            content = msgpack.packb({"model": name, "items": items}, use_bin_type=True)
            return httpx.Response(
                200, content=content, headers={"content-type": "application/msgpack", **self._headers()}
            )
        return httpx.Response(200, json={"model": name, "items": items}, headers=self._headers())


def _route(request: httpx.Request) -> str:
    path = request.url.path
    if path in ("/health", "/readyz"):
        return path[1:]
    if path == "/v1/chat/completions":
        return "chat"
    for route in ("encode", "score", "extract", "generate", "models"):
        if path == f"/v1/{route}" or path.startswith(f"/v1/{route}/"):
            return route
    return path
