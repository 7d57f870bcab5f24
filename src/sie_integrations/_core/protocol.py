"""Request builders and response parsers for every SIE endpoint; pure, shared by sync and async."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, NoReturn, TypeVar
from urllib.parse import quote

import numpy as np
from pydantic import ValidationError

from ..chat import ChatCompletion, ChatCompletionRequest
from ..errors import PoolError, RequestError, SIEError
from ..types import (
    Classification,
    DetectedObject,
    EncodeResult,
    Entity,
    ExtractResult,
    GenerateChunk,
    GenerateResult,
    Health,
    Item,
    ItemLike,
    ModelInfo,
    PoolInfo,
    Relation,
    ScoreEntry,
    SparseVector,
    Usage,
)
from .codec import JSON, MSGPACK, WireFormatError, decode_body, dumps_json, pack_msgpack, stack_vector_maps
from .error_mapping import ErrorInfo, error_class, to_error

T = TypeVar("T")
WireFormat = Literal["msgpack", "json"]
OUTPUT_TYPES = ("dense", "sparse", "multivector")
_JSON_DTYPES = {"float32": np.float32, "float16": np.float16, "int8": np.int8, "uint8": np.uint8, "binary": np.uint8}
_SEGMENT = re.compile(r"[^\x00-\x1f\x7f]+")  # used with fullmatch: "$" would let a trailing "\n" through


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange: what to send, whether re-sending is safe, and how to read the answer."""

    method: str
    path: str
    parse: Callable[[bytes, str | None], T]
    body: bytes | None = None
    content_type: str | None = None
    accept: str = JSON
    idempotent: bool = True
    on_error: Callable[[ErrorInfo], T] | None = None
    timeout: float | None = None  # seconds per attempt, instead of the client's

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Accept": self.accept}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        return headers


# --- paths and validation ----------------------------------------------------------------


def model_path(model: str) -> str:
    """A model id for the native routes: slashes kept, each segment percent-encoded."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string")
    segments = model.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
            raise ValueError(f"invalid model id {model!r}")
    return "/".join(quote(s, safe=":@+-_.~") for s in segments)


def generate_path(model: str) -> str:
    """A model id for ``/v1/generate``: every ``/`` becomes ``__``."""
    model_path(model)  # same validation
    return quote(model.replace("/", "__"), safe=":@+-_.~")


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} contains a non-finite number ({value!r})")
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _check_finite(inner, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            _check_finite(inner, f"{where}[{i}]")


def _item_wire(item: ItemLike, position: int, wire: WireFormat, what: str | None = None) -> dict[str, Any]:
    what = what or f"item {position}"
    if isinstance(item, str):
        return {"text": item}
    if not isinstance(item, Item):
        raise TypeError(f"{what} must be a str or an Item, not {type(item).__name__}")
    out: dict[str, Any] = {}
    if item.id is not None:
        out["id"] = item.id
    if item.text is not None:
        if not isinstance(item.text, str):
            raise TypeError(f"{what} text must be a str, not {type(item.text).__name__}")
        out["text"] = item.text
    if item.images:
        out["images"] = [
            {
                "data": image.data if wire == "msgpack" else base64.b64encode(image.data).decode("ascii"),
                "format": image.format,
            }
            for image in item.images
        ]
    if item.metadata:
        out["metadata"] = item.metadata
    if "text" not in out and "images" not in out:
        raise ValueError(f"{what} has neither text nor images")
    return out


def _opt_str(value: Any, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")


def no_items(items: Sequence[ItemLike]) -> bool:
    """True for an empty list; a clear TypeError for anything that is not a list of items."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a list of str or Item, not {type(items).__name__}")
    return len(items) == 0


def check_items(items: Sequence[ItemLike]) -> bool:
    """``no_items`` plus every item checked, so a batched call fails before its first batch is sent."""
    if no_items(items):
        return True
    for i, item in enumerate(items):
        if not isinstance(item, str):
            _item_wire(item, i, "msgpack")
    return False


def _items_wire(items: Sequence[ItemLike], wire: WireFormat) -> list[dict[str, Any]]:
    no_items(items)
    return [_item_wire(item, i, wire) for i, item in enumerate(items)]


def _body(obj: Any, wire: WireFormat) -> tuple[bytes, str]:
    return (pack_msgpack(obj), MSGPACK) if wire == "msgpack" else (dumps_json(obj), JSON)


def _decode_object(content: bytes, content_type: str | None, what: str, *, arrays: bool = True) -> Mapping[str, Any]:
    try:
        body = decode_body(content, content_type, arrays=arrays)
    except WireFormatError as exc:
        raise RequestError(f"malformed {what} response: {exc}", code="MALFORMED_RESPONSE") from exc
    if not isinstance(body, Mapping):
        raise RequestError(f"malformed {what} response: not an object", code="MALFORMED_RESPONSE")
    error = body.get("error")
    if isinstance(error, (Mapping, str)) and error:  # an error envelope sent with HTTP 200: never a result
        fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": error}
        code, message = fields.get("code"), fields.get("message")
        raise RequestError(
            f"malformed {what} response: HTTP 200 carrying an error (code {code!r}): {message}",
            code="MALFORMED_RESPONSE",
            details={"error": dict(fields)},
        )
    return body


def _malformed(what: str, detail: str) -> RequestError:
    return RequestError(f"malformed {what} response: {detail}", code="MALFORMED_RESPONSE")


def _count_check(what: str, got: Any, expected: int) -> list[Any]:
    if not isinstance(got, list):
        raise _malformed(what, "no item list")
    if len(got) != expected:
        raise RequestError(
            f"the server returned {len(got)} {what} results for {expected} inputs",
            code=f"{what.upper()}_RESULT_COUNT_MISMATCH",
        )
    return got


# --- encode ------------------------------------------------------------------------------


def encode_call(
    model: str,
    items: Sequence[ItemLike],
    *,
    output_types: Sequence[str],
    is_query: bool,
    instruction: str | None,
    output_dtype: str | None,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
) -> Call[list[EncodeResult]]:
    kinds = list(output_types)
    if not kinds or any(k not in OUTPUT_TYPES for k in kinds):
        raise ValueError(f"output_types must be a non-empty subset of {OUTPUT_TYPES}, got {kinds!r}")
    _opt_str(instruction, "instruction")
    _opt_str(output_dtype, "output_dtype")
    wire_items = _items_wire(items, wire)
    merged: dict[str, Any] = dict(options or {})
    if is_query:
        merged["is_query"] = True
    _check_finite(merged, "options")
    params: dict[str, Any] = {"output_types": kinds}
    if instruction is not None:
        params["instruction"] = instruction
    if output_dtype is not None:
        params["output_dtype"] = output_dtype
    if merged:
        params["options"] = merged
    body, content_type = _body({"items": wire_items, "params": params}, wire)
    count = len(wire_items)
    return Call(
        "POST",
        f"/v1/encode/{model_path(model)}",
        lambda content, ctype: parse_encode(content, ctype, count),
        body=body,
        content_type=content_type,
        accept=content_type,
    )


def _fits(array: np.ndarray[Any, Any], target: np.dtype[Any]) -> bool:
    info = np.iinfo(target)
    return bool(array.dtype.kind != "f" and info.min <= array.min() and array.max() <= info.max)


def _array(values: Any, dtype_label: Any, what: str, ndim: int) -> np.ndarray[Any, Any]:
    if isinstance(values, np.ndarray):
        array = values
    elif isinstance(values, list):
        try:
            array = np.asarray(values)
            if array.dtype.kind not in "iuf":  # strings, objects, booleans: numpy would coerce "0.5"
                raise TypeError(array.dtype)
        except (TypeError, ValueError) as exc:  # ragged rows, or not numbers
            raise _malformed("encode", f"{what} values are not numbers") from exc
        target = np.dtype(_JSON_DTYPES.get(str(dtype_label), np.float32))
        if target.kind in "iu" and array.size and not _fits(array, target):
            raise _malformed("encode", f"{what} values do not fit {target}")
        array = array.astype(target, copy=False)
    else:
        raise _malformed("encode", f"{what} values missing")
    if array.ndim != ndim:
        raise _malformed("encode", f"{what} has {array.ndim} dimensions, expected {ndim}")
    return array


def parse_encode(content: bytes, content_type: str | None, expected: int) -> list[EncodeResult]:
    body = _decode_object(content, content_type, "encode")
    return [_encode_result(raw) for raw in _count_check("encode", body.get("items"), expected)]


def _encode_result(raw: Any) -> EncodeResult:
    if not isinstance(raw, Mapping):
        raise _malformed("encode", "an item is not an object")
    dense, sparse, multi = raw.get("dense"), raw.get("sparse"), raw.get("multivector")
    item_id = raw.get("id")
    return EncodeResult(
        dense=_array(dense.get("values"), dense.get("dtype"), "dense", 1) if isinstance(dense, Mapping) else None,
        sparse=_sparse(sparse) if isinstance(sparse, Mapping) else None,
        multivector=_array(multi.get("values"), multi.get("dtype"), "multivector", 2)
        if isinstance(multi, Mapping)
        else None,
        id=item_id if isinstance(item_id, str) else None,
    )


def _sparse(raw: Mapping[str, Any]) -> SparseVector:
    indices = raw.get("indices")
    if isinstance(indices, list):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
            raise _malformed("encode", "sparse indices are not a list of integers")  # int64 would truncate 1.5
        try:
            indices = np.asarray(indices, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise _malformed("encode", "sparse indices are not integers") from exc
    if not isinstance(indices, np.ndarray) or indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise _malformed("encode", "sparse indices are not a list of integers")
    values = _array(raw.get("values"), raw.get("dtype"), "sparse", 1)
    if len(values) != len(indices):
        raise _malformed("encode", f"sparse vector has {len(indices)} indices and {len(values)} values")
    dims = raw.get("dims")
    return SparseVector(indices=indices, values=values, dims=dims if isinstance(dims, int) else None)


def encode_dense_call(
    model: str,
    items: Sequence[ItemLike],
    *,
    is_query: bool,
    instruction: str | None,
    output_dtype: str | None,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
) -> Call[np.ndarray[Any, Any]]:
    """``encode_call`` for dense vectors only, answered as one ``(len(items), dims)`` matrix."""
    call = encode_call(
        model,
        items,
        output_types=("dense",),
        is_query=is_query,
        instruction=instruction,
        output_dtype=output_dtype,
        options=options,
        wire=wire,
    )
    count = len(items)
    return Call(
        call.method,
        call.path,
        lambda content, ctype: parse_encode_dense(content, ctype, count),
        body=call.body,
        content_type=call.content_type,
        accept=call.accept,
    )


def parse_encode_dense(content: bytes, content_type: str | None, expected: int) -> np.ndarray[Any, Any]:
    """The dense vectors of an encode answer as one matrix; no per-item objects."""
    body = _decode_object(content, content_type, "encode", arrays=False)
    items = _count_check("encode", body.get("items"), expected)
    try:
        denses = [raw["dense"] for raw in items]
        values = [dense["values"] for dense in denses]
    except (KeyError, TypeError) as exc:
        raise _malformed("encode", "an item has no dense vector") from exc
    if not values:
        return np.empty((0, 0), dtype=np.float32)
    if isinstance(values[0], dict):  # msgpack-numpy maps
        try:
            return stack_vector_maps(values)
        except WireFormatError as exc:
            raise _malformed("encode", str(exc)) from exc
    labels = {str(dense.get("dtype")) for dense in denses}
    if len(labels) != 1:
        raise _malformed("encode", "dense vectors of different dtypes")
    return _array(values, labels.pop(), "dense", 2)


# --- score -------------------------------------------------------------------------------


def score_call(
    model: str,
    query: ItemLike,
    items: Sequence[ItemLike],
    *,
    instruction: str | None,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
) -> Call[list[ScoreEntry]]:
    _opt_str(instruction, "instruction")
    wire_items = _items_wire(items, wire)
    body: dict[str, Any] = {"query": _item_wire(query, 0, wire, "query")}
    body["items"] = wire_items
    if instruction is not None:
        body["instruction"] = instruction
    if options:
        _check_finite(dict(options), "options")
        body["options"] = dict(options)
    positions: dict[str, int] = {}
    for i, item in enumerate(wire_items):
        item_id = item.get("id", f"item-{i}")
        if item_id in positions:
            raise ValueError(f"items {positions[item_id]} and {i} share the id {item_id!r}")
        positions[item_id] = i
    content, content_type = _body(body, wire)
    return Call(
        "POST",
        f"/v1/score/{model_path(model)}",
        lambda raw, ctype: parse_score(raw, ctype, positions),
        body=content,
        content_type=content_type,
        accept=content_type,
    )


def parse_score(content: bytes, content_type: str | None, positions: Mapping[str, int]) -> list[ScoreEntry]:
    body = _decode_object(content, content_type, "score")
    entries: list[ScoreEntry] = []
    seen: set[int] = set()
    for rank, raw in enumerate(_count_check("score", body.get("scores"), len(positions))):
        if not isinstance(raw, Mapping):
            raise _malformed("score", "an entry is not an object")
        item_id, score = raw.get("item_id"), raw.get("score")
        index = positions.get(item_id) if isinstance(item_id, str) else None
        if index is None or index in seen:
            raise _malformed("score", f"unknown or repeated item_id {item_id!r}")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise _malformed("score", f"score of {item_id!r} is not a number")
        if not math.isfinite(score):
            raise _malformed("score", f"score of {item_id!r} is not finite ({score!r})")
        seen.add(index)
        server_rank = raw.get("rank")
        entries.append(
            ScoreEntry(
                index=index,
                score=float(score),
                rank=server_rank if isinstance(server_rank, int) else rank,
                item_id=item_id,  # type: ignore[arg-type]  # checked through positions
            )
        )
    entries.sort(key=lambda e: (e.rank, -e.score))
    return entries


# --- extract -----------------------------------------------------------------------------


def extract_call(
    model: str,
    items: Sequence[ItemLike],
    *,
    labels: Sequence[str] | None,
    output_schema: Mapping[str, Any] | None,
    instruction: str | None,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
) -> Call[list[ExtractResult]]:
    _opt_str(instruction, "instruction")
    wire_items = _items_wire(items, wire)
    params: dict[str, Any] = {}
    if labels is not None:
        if isinstance(labels, str) or not all(isinstance(label, str) and label for label in labels):
            raise TypeError("labels must be a list of non-empty strings")
        params["labels"] = list(labels)
    if output_schema is not None:
        _check_finite(dict(output_schema), "output_schema")
        params["output_schema"] = dict(output_schema)
    if instruction is not None:
        params["instruction"] = instruction
    if options:
        _check_finite(dict(options), "options")
        params["options"] = dict(options)
    content, content_type = _body({"items": wire_items, "params": params} if params else {"items": wire_items}, wire)
    count = len(wire_items)
    return Call(
        "POST",
        f"/v1/extract/{model_path(model)}",
        lambda raw, ctype: parse_extract(raw, ctype, count),
        body=content,
        content_type=content_type,
        accept=content_type,
    )


def _records(raw: Any, build: Callable[[Mapping[str, Any]], T], what: str) -> list[T]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise _malformed("extract", f"{what} is not a list of objects")
    try:
        return [build(r) for r in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed("extract", f"bad {what} entry: {exc}") from exc


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else None


def _bbox(value: Any) -> list[float] | None:
    return [float(v) for v in value] if isinstance(value, (list, np.ndarray)) else None


def parse_extract(content: bytes, content_type: str | None, expected: int) -> list[ExtractResult]:
    body = _decode_object(content, content_type, "extract")
    results = []
    for position, raw in enumerate(_count_check("extract", body.get("items"), expected)):
        if not isinstance(raw, Mapping):
            raise _malformed("extract", "an item is not an object")
        item_id = str(raw.get("id") or f"item-{position}")
        error = raw.get("error")
        if error is not None:
            raise item_error(error, position, item_id)
        data = raw.get("data")
        results.append(
            ExtractResult(
                id=item_id,
                entities=_records(
                    raw.get("entities"),
                    lambda r: Entity(
                        text=str(r["text"]),
                        label=str(r["label"]),
                        score=_num(r["score"]),
                        start=_opt_int(r.get("start")),
                        end=_opt_int(r.get("end")),
                        bbox=_bbox(r.get("bbox")),
                    ),
                    "entities",
                ),
                relations=_records(
                    raw.get("relations"),
                    lambda r: Relation(
                        head=str(r["head"]), tail=str(r["tail"]), relation=str(r["relation"]), score=_num(r["score"])
                    ),
                    "relations",
                ),
                classifications=_records(
                    raw.get("classifications"),
                    lambda r: Classification(label=str(r["label"]), score=_num(r["score"])),
                    "classifications",
                ),
                objects=_records(
                    raw.get("objects"),
                    lambda r: DetectedObject(label=str(r["label"]), score=_num(r["score"]), bbox=_bbox(r.get("bbox"))),
                    "objects",
                ),
                data=dict(data) if isinstance(data, Mapping) else {},
            )
        )
    return results


def item_error(error: Any, position: int, item_id: str) -> SIEError:
    """The typed error of one failed extraction item, naming the item."""
    fields = error if isinstance(error, Mapping) else {}
    raw_code, raw_message = fields.get("code"), fields.get("message")
    code = raw_code if isinstance(raw_code, str) and raw_code else "INTERNAL_ERROR"
    message = raw_message if isinstance(raw_message, str) and raw_message else "malformed extraction item error"
    status = 500 if code.upper() in ("INFERENCE_ERROR", "INTERNAL_ERROR") else 400
    cls = error_class(ErrorInfo(status=status, code=code, message=message))
    exc = cls(f"item {position} (id {item_id!r}) failed: {message}", code=code, details={"item_id": item_id})
    exc.item_index = position
    return exc


# --- generate ----------------------------------------------------------------------------


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, Mapping):
        return Usage()

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return Usage(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        total_tokens=count("total_tokens"),
        cached_tokens=cached if isinstance(cached, int) else None,
    )


def _timings(raw: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: float(raw[key])
        for key in ("ttft_ms", "tpot_ms")
        if isinstance(raw.get(key), (int, float)) and not isinstance(raw.get(key), bool)
    }


def generate_call(
    model: str,
    prompt: str,
    *,
    max_new_tokens: int,
    temperature: float | None,
    top_p: float | None,
    stop: Sequence[str] | None,
    stream: bool,
) -> Call[GenerateResult]:
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError("max_new_tokens must be an int >= 1")
    body: dict[str, Any] = {"prompt": prompt, "max_new_tokens": max_new_tokens}
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if temperature is not None:
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError("temperature must be a finite number >= 0")
        body["temperature"] = temperature
    if top_p is not None:
        if not (0 < top_p <= 1):
            raise ValueError("top_p must be in (0, 1]")
        body["top_p"] = top_p
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else list(stop)
        if not all(isinstance(s, str) and s for s in stops):
            raise ValueError("stop must be non-empty strings")
        body["stop"] = stops
    if stream:
        body["stream"] = True
    return Call(
        "POST",
        f"/v1/generate/{generate_path(model)}",
        parse_generate,
        body=dumps_json(body),
        content_type=JSON,
        accept="text/event-stream" if stream else JSON,
        idempotent=False,
    )


def parse_generate(content: bytes, content_type: str | None) -> GenerateResult:
    body = _decode_object(content, content_type, "generate")
    model, text = body.get("model"), body.get("text")
    if not isinstance(model, str) or not isinstance(text, str):
        raise _malformed("generate", "missing model or text")
    finish = body.get("finish_reason")
    return GenerateResult(
        model=model,
        text=text,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(body.get("usage")),
        timings=_timings(body),
    )


def parse_generate_chunk(payload: Mapping[str, Any]) -> GenerateChunk:
    text, done, seq = payload.get("text_delta", ""), payload.get("done"), payload.get("seq", 0)
    if not isinstance(text, str) or not isinstance(done, bool) or not isinstance(seq, int):
        raise _malformed("generate stream", "chunk without text_delta/done/seq")
    finish = payload.get("finish_reason")
    request_id = payload.get("request_id")
    return GenerateChunk(
        text_delta=text,
        seq=seq,
        done=done,
        request_id=request_id if isinstance(request_id, str) else None,
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(payload["usage"]) if "usage" in payload else None,
        timings=_timings(payload),
    )


# --- chat --------------------------------------------------------------------------------


def chat_request(request: ChatCompletionRequest | Mapping[str, Any]) -> ChatCompletionRequest:
    """Validate a request (a model or a dict); unknown or invalid fields raise ``ValueError``."""
    if isinstance(request, ChatCompletionRequest):
        return request
    try:
        return ChatCompletionRequest.model_validate(request)
    except ValidationError as exc:
        raise ValueError(f"invalid chat completion request: {exc}") from exc


def chat_call(request: ChatCompletionRequest | Mapping[str, Any], *, stream: bool) -> Call[ChatCompletion]:
    checked = chat_request(request)
    # JSON has no NaN: pydantic would quietly send null for one inside a free-form field (a tool's schema).
    _check_finite(checked.model_dump(exclude_none=True), "request")
    try:
        body = checked.to_wire()
    except ValueError as exc:  # PydanticSerializationError: a value (a tool default, say) JSON cannot carry
        raise ValueError(f"invalid chat completion request: not JSON-serialisable: {exc}") from exc
    if stream:
        body["stream"] = True
    else:
        if checked.stream:
            raise ValueError("stream=True: use stream_chat_completions() for a streamed answer")
        body.pop("stream", None)
    return Call(
        "POST",
        "/v1/chat/completions",
        parse_chat,
        body=dumps_json(body),
        content_type=JSON,
        accept="text/event-stream" if stream else JSON,
        idempotent=False,
    )


def parse_chat(content: bytes, content_type: str | None) -> ChatCompletion:
    body = _decode_object(content, content_type, "chat")
    try:
        completion = ChatCompletion.model_validate(body)
    except ValidationError as exc:
        raise _malformed("chat", str(exc)) from exc
    if not completion.choices:  # only a streamed usage chunk has no choices
        raise _malformed("chat", "a completion without choices")
    return completion


# --- models and health -------------------------------------------------------------------


def model_info(raw: Any) -> ModelInfo:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise _malformed("models", "a model without a name")
    dims = raw.get("dims")
    max_len = raw.get("max_sequence_length")
    caps = raw.get("capabilities")
    return ModelInfo(
        name=raw["name"],
        inputs=[str(x) for x in raw.get("inputs") or []],
        outputs=[str(x) for x in raw.get("outputs") or []],
        dims={str(k): int(v) for k, v in dims.items() if isinstance(v, int)} if isinstance(dims, Mapping) else {},
        state=raw.get("state") if isinstance(raw.get("state"), str) else None,
        max_sequence_length=max_len if isinstance(max_len, int) else None,
        capabilities=dict(caps) if isinstance(caps, Mapping) else None,
        raw=dict(raw),
    )


def list_models_call() -> Call[list[ModelInfo]]:
    def parse(content: bytes, content_type: str | None) -> list[ModelInfo]:
        body = _decode_object(content, content_type, "models")
        models = body.get("models", body.get("data"))
        if not isinstance(models, list):
            raise _malformed("models", "no model list")
        return [model_info(m) for m in models]

    return Call("GET", "/v1/models", parse)


def get_model_call(name: str, timeout: float | None = None) -> Call[ModelInfo]:
    return Call(
        "GET",
        f"/v1/models/{model_path(name)}",
        lambda content, ctype: model_info(_decode_object(content, ctype, "model")),
        timeout=timeout,
    )


def gateway_health_call() -> Call[Health | None]:
    def parse(content: bytes, content_type: str | None) -> Health:
        body = _decode_object(content, content_type, "health")
        status = str(body.get("status", "unknown"))
        return Health(ok=status == "healthy", kind="gateway", status=status, raw=dict(body))

    def on_error(info: ErrorInfo) -> Health | None:
        if info.status == 404:
            return None  # a standalone server: no /health
        raise_for(info)

    return Call("GET", "/health", parse, on_error=on_error)


def server_health_call() -> Call[Health]:
    def parse(content: bytes, content_type: str | None) -> Health:
        return Health(ok=True, kind="server", status=content.decode("utf-8", "replace").strip() or "ok")

    def on_error(info: ErrorInfo) -> Health:
        if info.status == 503:
            return Health(ok=False, kind="server", status=info.message)
        raise_for(info)

    return Call("GET", "/readyz", parse, accept="text/plain", on_error=on_error)


def raise_for(info: ErrorInfo) -> NoReturn:
    raise to_error(info)


# --- pools (gateway only) ----------------------------------------------------------------

_STANDALONE_POOLS = (
    "pools need an SIE gateway (cluster or SIE Cloud); this server answered 404 on /v1/pools, "
    "so it is a standalone sie-server, which has no pools"
)


def _is_route_missing(info: ErrorInfo) -> bool:
    """A FastAPI 404 for an unknown route, as a standalone server sends it."""
    return info.status in (404, 405) and info.code is None and info.message in ("Not Found", "Method Not Allowed")


def _pool_error(info: ErrorInfo, name: str) -> PoolError:
    message = _STANDALONE_POOLS if _is_route_missing(info) else f"pool {name!r}: {info.message}"
    exc = PoolError(message, status_code=info.status, code=info.code, request_id=info.request_id)
    exc.pool_name = name
    return exc


def pool_info(raw: Any) -> PoolInfo:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise _malformed("pool", "a pool without a name")
    status = raw.get("status")
    state = status.get("state") if isinstance(status, Mapping) else None
    spec = raw.get("spec")
    return PoolInfo(
        name=raw["name"],
        state=state if isinstance(state, str) else None,
        spec=dict(spec) if isinstance(spec, Mapping) else {},
        raw=dict(raw),
    )


def _pool_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", name):
        raise ValueError(f"invalid pool name {name!r}: use letters, digits, '_' and '-' (at most 128)")
    return name


def create_pool_call(name: str, gpus: Mapping[str, int] | None, gpu_caps: Mapping[str, int] | None) -> Call[PoolInfo]:
    body: dict[str, Any] = {"name": _pool_name(name)}
    if gpus is not None:
        body["gpus"] = dict(gpus)
    if gpu_caps is not None:
        body["gpu_caps"] = dict(gpu_caps)

    def on_error(info: ErrorInfo) -> PoolInfo:
        raise _pool_error(info, name)

    return Call(
        "POST",
        "/v1/pools",
        lambda content, ctype: pool_info(_decode_object(content, ctype, "pool")),
        body=dumps_json(body),
        content_type=JSON,
        on_error=on_error,
    )


def get_pool_call(name: str) -> Call[PoolInfo | None]:
    def on_error(info: ErrorInfo) -> PoolInfo | None:
        if info.status == 404 and not _is_route_missing(info):
            return None
        raise _pool_error(info, name)

    return Call(
        "GET",
        f"/v1/pools/{_pool_name(name)}",
        lambda content, ctype: pool_info(_decode_object(content, ctype, "pool")),
        on_error=on_error,
    )


def delete_pool_call(name: str) -> Call[bool]:
    def on_error(info: ErrorInfo) -> bool:
        if info.status == 404 and not _is_route_missing(info):
            return False
        raise _pool_error(info, name)

    return Call("DELETE", f"/v1/pools/{_pool_name(name)}", lambda content, ctype: True, on_error=on_error)
