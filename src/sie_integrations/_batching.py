"""Splitting large encode calls into batches sent with bounded concurrency, results in input order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._async_client import AsyncSIEClient
from ._client import SIEClient
from .types import EncodeResult, ItemLike

Progress = Callable[[int], None]


def dense_rows(results: list[EncodeResult]) -> list[list[float]]:
    """Dense vectors as lists of floats (one numpy conversion for the whole batch)."""
    if any(r.dense is None for r in results):
        raise ValueError("the server returned no dense vector for some inputs")
    if not results:
        return []
    rows: list[list[float]] = np.stack([r.dense for r in results]).tolist()
    return rows


def batches(items: Sequence[ItemLike], batch_size: int) -> list[Sequence[ItemLike]]:
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]


def encode_batched(
    client: SIEClient,
    model: str,
    items: Sequence[ItemLike],
    *,
    batch_size: int,
    max_concurrency: int,
    progress: Progress | None = None,
    **encode_args: Any,
) -> list[EncodeResult]:
    """Encode in batches on up to ``max_concurrency`` threads; results in input order."""
    parts = batches(items, batch_size)

    def run(part: Sequence[ItemLike]) -> list[EncodeResult]:
        result = client.encode(model, part, **encode_args)
        if progress is not None:
            progress(len(part))
        return result

    if len(parts) <= 1 or max_concurrency <= 1:
        return [r for part in parts for r in run(part)]
    with ThreadPoolExecutor(max_workers=min(max_concurrency, len(parts))) as pool:
        return [r for chunk in pool.map(run, parts) for r in chunk]


async def aencode_batched(
    client: AsyncSIEClient,
    model: str,
    items: Sequence[ItemLike],
    *,
    batch_size: int,
    max_concurrency: int,
    progress: Progress | None = None,
    **encode_args: Any,
) -> list[EncodeResult]:
    """Encode in batches with at most ``max_concurrency`` requests in flight; results in input order."""
    parts = batches(items, batch_size)
    gate = asyncio.Semaphore(max(1, max_concurrency))

    async def run(part: Sequence[ItemLike]) -> list[EncodeResult]:
        async with gate:
            result = await client.encode(model, part, **encode_args)
        if progress is not None:
            progress(len(part))
        return result

    chunks = await asyncio.gather(*(run(part) for part in parts))
    return [r for chunk in chunks for r in chunk]
