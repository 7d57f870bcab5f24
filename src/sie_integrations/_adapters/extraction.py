"""Extraction for the adapters: texts sent in planned batches, each result as plain JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Literal

from .._http.async_client import AsyncSIEClient
from .._http.client import SIEClient
from ..types import ExtractResult, ItemLike
from .batching import Batching, amap_batched, map_batched

Part = Literal["entities", "relations", "classifications", "objects"]
KEYS: Mapping[Part, str] = {part: part for part in ("entities", "relations", "classifications", "objects")}
"""Each part of an extraction under its own name."""


def extraction_dict(result: ExtractResult, keys: Mapping[Part, str] = KEYS) -> dict[str, Any]:
    """The parts of an extraction named in ``keys``, each under its key, as lists of plain dicts."""
    return {key: [asdict(found) for found in getattr(result, part)] for part, key in keys.items()}


def extract_one(client: SIEClient, model: str, text: str, *, labels: Sequence[str], **args: Any) -> ExtractResult:
    """The extraction of one text (``args``: more of ``client.extract``'s, such as ``options``)."""
    return client.extract(model, [text], labels=labels, **args)[0]


async def aextract_one(
    client: AsyncSIEClient, model: str, text: str, *, labels: Sequence[str], **args: Any
) -> ExtractResult:
    """Async ``extract_one``."""
    return (await client.extract(model, [text], labels=labels, **args))[0]


def extract_batched(
    client: SIEClient, model: str, texts: Sequence[str], batching: Batching, *, labels: Sequence[str], **args: Any
) -> list[ExtractResult]:
    """The extraction of each text, in planned batches, ``batching.limit`` at a time; in input order."""
    return map_batched(lambda part: client.extract(model, part, labels=labels, **args), texts, batching)


async def aextract_batched(
    client: AsyncSIEClient,
    model: str,
    texts: Sequence[str],
    batching: Batching,
    *,
    labels: Sequence[str],
    **args: Any,
) -> list[ExtractResult]:
    """Async ``extract_batched``."""

    async def run(part: Sequence[ItemLike]) -> list[ExtractResult]:
        return await client.extract(model, part, labels=labels, **args)

    return await amap_batched(run, texts, batching)
