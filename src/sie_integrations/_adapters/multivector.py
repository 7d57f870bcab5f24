"""Late interaction: one vector per token, and MaxSim between a query's and a document's token vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from ..errors import RequestError
from ..types import EncodeResult
from .batching import Batching, aencode_batched, encode_batched
from .rerank import Ranked, best_first

MULTIVECTOR = ("multivector",)
Matrix = np.ndarray[Any, Any]


def multivectors(results: list[EncodeResult]) -> list[Matrix]:
    """The ``(tokens, dims)`` matrix of each result; a result without one is a malformed answer."""
    out = []
    for i, result in enumerate(results):
        if result.multivector is None:
            raise RequestError(f"malformed encode response: item {i} has no multivector", code="MALFORMED_RESPONSE")
        out.append(result.multivector)
    return out


def encode_multivectors(
    client: SIEClient,
    model: str,
    texts: Sequence[str],
    batching: Batching,
    *,
    is_query: bool,
    instruction: str | None,
    **args: Any,
) -> list[Matrix]:
    """The token vectors of each text, batched; in input order (``args``: more of ``client.encode``'s, such as
    ``options``)."""
    args = {"output_types": MULTIVECTOR, "is_query": is_query, "instruction": instruction, **args}
    return multivectors(encode_batched(client, model, texts, batching, **args))


async def aencode_multivectors(
    client: AsyncSIEClient,
    model: str,
    texts: Sequence[str],
    batching: Batching,
    *,
    is_query: bool,
    instruction: str | None,
    **args: Any,
) -> list[Matrix]:
    """Async ``encode_multivectors``."""
    args = {"output_types": MULTIVECTOR, "is_query": is_query, "instruction": instruction, **args}
    return multivectors(await aencode_batched(client, model, texts, batching, **args))


def maxsim(query: Matrix, documents: Sequence[Matrix]) -> list[float]:
    """Each document's MaxSim score: for every query token, its best dot product with a document token, summed.

    Computed in float32 on the vectors as the model gave them (ColBERT-style models normalise them, so each
    term is a cosine similarity).
    """
    q = np.asarray(query, dtype=np.float32)
    if q.ndim != 2:
        raise ValueError(f"the query must be a (tokens, dims) matrix, not shape {q.shape}")
    scores = []
    for i, document in enumerate(documents):
        d = np.asarray(document, dtype=np.float32)
        if d.ndim != 2 or d.shape[1] != q.shape[1]:
            raise ValueError(f"document {i} has shape {d.shape}; the query's token vectors have {q.shape[1]} dims")
        scores.append(float((q @ d.T).max(axis=1).sum()) if len(d) else 0.0)
    return scores


def maxsim_ranking(query: Matrix, documents: Sequence[Matrix], top_n: int | None) -> list[Ranked]:
    """The documents' ``maxsim`` scores, ``best_first``."""
    return best_first([Ranked(i, score) for i, score in enumerate(maxsim(query, documents))], top_n)
