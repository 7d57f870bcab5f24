"""Results and inputs of the native SIE endpoints (encode, score, extract, generate, models, pools)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .errors import SIEError

__all__ = [
    "Classification",
    "DetectedObject",
    "Document",
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
    "ParsedDocument",
    "PoolInfo",
    "Relation",
    "ScoreEntry",
    "ServerReport",
    "SparseVector",
    "Usage",
]


@dataclass(frozen=True)
class Image:
    """An image given as raw bytes, with its format (``"png"``, ``"jpeg"``, ...)."""

    data: bytes
    """The encoded image file, as read from disk."""
    format: str | None = None
    """The file format (``"png"``, ``"jpeg"``, ``"webp"``, ...), if known."""


@dataclass(frozen=True)
class Document:
    """A document file given as raw bytes (PDF, DOCX, PPTX, XLSX, HTML, Markdown, CSV, ...), for parsing."""

    data: bytes = field(repr=False)
    """The file's bytes, as read from disk (left out of ``repr``)."""
    format: str | None = None
    """``"pdf"``, ``"docx"``, ``"html"``, ``"md"``, ...; None: the server tells from the bytes."""
    name: str | None = None
    """Where it came from (a file's path), for errors and metadata; not sent."""


@dataclass(frozen=True)
class Item:
    """One input to encode, score or extract: text, images, or both (or a document), with an optional id."""

    text: str | None = None
    """The text; an item needs text, images or both."""
    images: tuple[Image, ...] = ()
    """The images, for multimodal models."""
    id: str | None = None
    """An id echoed back in the result (``EncodeResult.id``, ``ScoreEntry.item_id``, ``ExtractResult.id``)."""
    metadata: dict[str, Any] | None = None
    """Extra fields sent with the item, for models that read them."""
    document: Document | None = None
    """A document, for a parsing model (``docling``); one per item."""


ItemLike = str | Item
"""An input: a plain string is an item with only text."""


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector: token ids and their weights."""

    indices: npt.NDArray[np.integer[Any]]
    """The token (vocabulary) ids with a weight, as integers."""
    values: npt.NDArray[np.floating[Any]]
    """The weight of each id in ``indices``, in the same order."""
    dims: int | None = None
    """The size of the vocabulary the ids index, when the server says."""

    def to_dict(self) -> dict[str, list[Any]]:
        """The ``{"indices": [...], "values": [...]}`` shape used by vector stores."""
        return {"indices": self.indices.tolist(), "values": self.values.tolist()}


@dataclass(frozen=True)
class ServerReport:
    """What the server said about one request besides its results, where it said it; every result of the request
    shares it."""

    timing: dict[str, float] = field(default_factory=dict)
    """Milliseconds: ``queue_ms``, ``tokenization_ms``, ``inference_ms``, ``postprocessing_ms``, ``total_ms``;
    from the answer's ``timing``, else its ``X-Queue-Time``, ``X-Tokenization-Time``, ``X-Inference-Time``,
    ``X-Postprocessing-Time`` and ``X-Total-Time`` headers."""
    usage: dict[str, int] = field(default_factory=dict)
    """What the request used, as counted by the server: ``input_tokens`` (and ``images``, ...)."""


@dataclass(frozen=True, slots=True)
class EncodeResult:
    """The vectors of one encoded item."""

    dense: npt.NDArray[Any] | None = None
    """The dense vector, shape ``(dims,)``, float32 unless ``output_dtype`` asked otherwise; None unless asked."""
    sparse: SparseVector | None = None
    """The sparse vector; None unless ``"sparse"`` was among the output types."""
    multivector: npt.NDArray[Any] | None = None
    """One vector per token, shape ``(tokens, dims)`` (late interaction, ColBERT-style); None unless asked."""
    id: str | None = None
    """The ``Item.id`` of the input, if it had one."""
    report: ServerReport | None = field(default=None, compare=False, hash=False, repr=False)
    """The request's timing and usage, as the server reported them (not part of the result's equality)."""


@dataclass(frozen=True, slots=True)
class ScoreEntry:
    """The score of one item against the query; ``index`` is its position in the input."""

    index: int
    """The position of the item in the input list."""
    score: float
    """The relevance score; higher is more relevant (the scale depends on the model)."""
    rank: int
    """The position in the ranking; 0 is the best."""
    item_id: str
    """The item's ``Item.id``, or ``"item-<index>"`` when it had none."""
    report: ServerReport | None = field(default=None, compare=False, hash=False, repr=False)
    """The request's timing and usage, as the server reported them (not part of the result's equality)."""


@dataclass(frozen=True, slots=True)
class Entity:
    """A span of the item found for one of the labels (named-entity recognition)."""

    text: str
    """The text of the span."""
    label: str
    """The label it was found for."""
    score: float
    """The model's confidence; higher is surer."""
    start: int | None = None
    """The character offset where the span starts in the item's text; None for an image region."""
    end: int | None = None
    """The character offset just after the span."""
    bbox: list[float] | None = None
    """For an image region: its box ``[x, y, width, height]``, in pixels."""


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation found between two entities, from ``head`` to ``tail``."""

    head: str
    """The text of the entity the relation starts from."""
    tail: str
    """The text of the entity it points to."""
    relation: str
    """The relation's label."""
    score: float
    """The model's confidence; higher is surer."""


@dataclass(frozen=True, slots=True)
class Classification:
    """A label for the whole item, with its score."""

    label: str
    """The label."""
    score: float
    """The model's confidence; higher is surer."""


@dataclass(frozen=True, slots=True)
class DetectedObject:
    """An object found in an image."""

    label: str
    """The label it was found for."""
    score: float
    """The model's confidence; higher is surer."""
    bbox: list[float] | None = None
    """Its box ``[x, y, width, height]``, in pixels."""


@dataclass(frozen=True)
class ExtractResult:
    """What was extracted from one item."""

    id: str
    """The item's ``Item.id``, or ``"item-<position>"`` when it had none."""
    entities: list[Entity] = field(default_factory=list)
    """The entities found."""
    relations: list[Relation] = field(default_factory=list)
    """The relations between entities."""
    classifications: list[Classification] = field(default_factory=list)
    """The labels of the whole item."""
    objects: list[DetectedObject] = field(default_factory=list)
    """The objects found in the item's images."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured output, for a call with an ``output_schema``."""
    report: ServerReport | None = field(default=None, compare=False, hash=False, repr=False)
    """The request's timing and usage, as the server reported them (not part of the result's equality)."""


@dataclass(frozen=True)
class ParsedDocument:
    """One document as a parsing model read it, or the server's reason it could not."""

    name: str | None
    """The document's ``Document.name`` (its path, for a file)."""
    format: str | None
    """The format it was sent as (None: the server told it from the bytes)."""
    markdown: str = ""
    """The document as Markdown: headings, lists, and tables as pipe tables."""
    text: str = ""
    """The document as plain text."""
    document: dict[str, Any] = field(default_factory=dict)
    """The parser's own structured document (Docling's ``DoclingDocument`` JSON), for node parsers that read it."""
    error: SIEError | OSError | ValueError | None = None
    """Why it could not be parsed, or None: the server's reason (a typed ``SIEError`` naming the document), or,
    for a file that could not be read when its request was sent, the ``OSError`` or ``ValueError``."""

    @property
    def pages(self) -> int | None:
        """The number of pages, where the format has pages and the server says."""
        pages = self.document.get("pages")
        return len(pages) if isinstance(pages, dict | list) and pages else None


@dataclass(frozen=True)
class Usage:
    """Token counts of a generation."""

    prompt_tokens: int = 0
    """Tokens of the prompt."""
    completion_tokens: int = 0
    """Tokens generated."""
    total_tokens: int = 0
    """Both together."""
    cached_tokens: int | None = None
    """Prompt tokens served from the prefix cache, when the server says."""


@dataclass(frozen=True)
class GenerateResult:
    """A finished ``/v1/generate`` call."""

    model: str
    """The model that answered."""
    text: str
    """The generated text (the prompt not included)."""
    finish_reason: str | None
    """Why generation stopped: ``"stop"`` (a stop sequence or the natural end) or ``"length"`` (``max_new_tokens``)."""
    usage: Usage
    """Token counts."""
    timings: dict[str, float] = field(default_factory=dict)
    """Server timings in milliseconds, when sent: ``ttft_ms`` (to the first token), ``tpot_ms`` (per token)."""
    attempt_id: str | None = None
    """The gateway's id of the worker attempt that answered (to correlate logs), when sent."""


@dataclass(frozen=True)
class GenerateChunk:
    """One event of a ``/v1/generate`` stream; the last one has ``done=True`` and the usage."""

    text_delta: str
    """The text added since the previous chunk (may be empty)."""
    seq: int
    """The chunk's number in the stream."""
    done: bool
    """True on the last chunk."""
    request_id: str | None = None
    """The server's id of the request, when sent."""
    finish_reason: str | None = None
    """On the last chunk: why generation stopped (see ``GenerateResult.finish_reason``)."""
    usage: Usage | None = None
    """On the last chunk: token counts."""
    timings: dict[str, float] = field(default_factory=dict)
    """Server timings in milliseconds, when sent (see ``GenerateResult.timings``)."""
    logprobs: list[dict[str, Any]] | None = None
    """With ``logprobs=True``: each new token's ``token``, ``logprob`` (and ``top_logprobs`` when asked), as sent."""


@dataclass(frozen=True)
class ModelInfo:
    """A model as ``/v1/models`` describes it; ``raw`` keeps every field the server sent."""

    name: str
    """The model id to pass as ``model``."""
    inputs: list[str]
    """The kinds of input it takes (``"text"``, ``"image"``, ...)."""
    outputs: list[str]
    """What it produces (``"dense"``, ``"sparse"``, ``"multivector"``, ``"score"``, ``"json"``; ``"tokens"`` for
    generation)."""
    dims: dict[str, int]
    """The vector size of each output kind, such as ``{"dense": 384}``."""
    state: str | None
    """``"available"``, ``"loading"``, ``"loaded"``, ``"unloading"`` or ``"failed"``, when the server says."""
    max_sequence_length: int | None
    """The longest input it takes, in tokens, when the server says."""
    capabilities: dict[str, Any] | None
    """What a chat model supports (``tools``, ``grammar``, ``streaming``), when the server says."""
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    """The model's description as the server sent it."""


@dataclass(frozen=True)
class Health:
    """Whether the server is ready, and which kind of deployment answered."""

    ok: bool
    """Whether it is ready to serve."""
    kind: Literal["gateway", "server"]
    """``"gateway"`` (a cluster or SIE Cloud, ``/health``) or ``"server"`` (a standalone server, ``/readyz``)."""
    status: str
    """What it reported: a gateway's ``"healthy"``, ``"degraded"`` or ``"no_workers"``, a server's ``"ok"`` or
    the reason it is not ready."""
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    """The gateway's answer as sent; empty for a standalone server."""


@dataclass(frozen=True)
class PoolInfo:
    """A pool of reserved capacity on an SIE gateway."""

    name: str
    """The pool's name (pass it as ``pool``)."""
    state: str | None
    """``"pending"``, ``"active"`` or ``"expired"`` (the gateway's ``status.state``), if given."""
    spec: dict[str, Any]
    """What was asked for, such as ``gpus`` and ``gpu_caps`` (workers per machine profile)."""
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    """The pool as the gateway sent it."""
