"""Results and inputs of the native SIE endpoints (encode, score, extract, generate, models, pools)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "Classification",
    "DetectedObject",
    "EncodeResult",
    "Entity",
    "ExtractResult",
    "GenerateChunk",
    "GenerateResult",
    "Health",
    "Image",
    "Item",
    "ItemLike",
    "ModelInfo",
    "OutputType",
    "PoolInfo",
    "Relation",
    "ScoreEntry",
    "SparseVector",
    "Usage",
]

OutputType = Literal["dense", "sparse", "multivector"]


@dataclass(frozen=True)
class Image:
    """An image given as raw bytes, with its format (``"png"``, ``"jpeg"``, ...)."""

    data: bytes
    format: str | None = None


@dataclass(frozen=True)
class Item:
    """One input to encode, score or extract: text, images, or both, with an optional id."""

    text: str | None = None
    images: tuple[Image, ...] = ()
    id: str | None = None
    metadata: dict[str, Any] | None = None


ItemLike = str | Item


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector: token ids and their weights."""

    indices: npt.NDArray[np.integer[Any]]
    values: npt.NDArray[np.floating[Any]]
    dims: int | None = None

    def to_dict(self) -> dict[str, list[Any]]:
        """The ``{"indices": [...], "values": [...]}`` shape used by vector stores."""
        return {"indices": self.indices.tolist(), "values": self.values.tolist()}


@dataclass(frozen=True, slots=True)
class EncodeResult:
    """The vectors of one encoded item."""

    dense: npt.NDArray[Any] | None = None
    sparse: SparseVector | None = None
    multivector: npt.NDArray[Any] | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ScoreEntry:
    """The score of one item against the query; ``index`` is its position in the input."""

    index: int
    score: float
    rank: int
    item_id: str


@dataclass(frozen=True, slots=True)
class Entity:
    text: str
    label: str
    score: float
    start: int | None = None
    end: int | None = None
    bbox: list[float] | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    head: str
    tail: str
    relation: str
    score: float


@dataclass(frozen=True, slots=True)
class Classification:
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class DetectedObject:
    label: str
    score: float
    bbox: list[float] | None = None


@dataclass(frozen=True)
class ExtractResult:
    """What was extracted from one item."""

    id: str
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    classifications: list[Classification] = field(default_factory=list)
    objects: list[DetectedObject] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Token counts of a generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None


@dataclass(frozen=True)
class GenerateResult:
    """A finished ``/v1/generate`` call."""

    model: str
    text: str
    finish_reason: str | None
    usage: Usage
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerateChunk:
    """One event of a ``/v1/generate`` stream; the last one has ``done=True`` and the usage."""

    text_delta: str
    seq: int
    done: bool
    request_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    """A model as ``/v1/models`` describes it; ``raw`` keeps every field the server sent."""

    name: str
    inputs: list[str]
    outputs: list[str]
    dims: dict[str, int]
    state: str | None
    max_sequence_length: int | None
    capabilities: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Health:
    """Whether the server is ready, and which kind of deployment answered."""

    ok: bool
    kind: Literal["gateway", "server"]
    status: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class PoolInfo:
    """A pool of reserved capacity on an SIE gateway."""

    name: str
    state: str | None
    spec: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
