"""``/v1/encode``: dense, sparse and multivector embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..types import EncodeResult, ItemLike, ServerReport, SparseVector
from .answers import count_check, decode_object, malformed
from .call import Call, WireFormat, check_finite, check_opt_str, model_path, native_post
from .codec import WireFormatError, stack_vector_maps
from .items import items_wire
from .reports import heard

OUTPUT_TYPES = ("dense", "sparse", "multivector")
_JSON_DTYPES = {"float32": np.float32, "float16": np.float16, "int8": np.int8, "uint8": np.uint8, "binary": np.uint8}


_ARGUMENTS = frozenset({"is_query", "output_types", "output_dtype", "instruction"})
"""What ``options`` may not set on encode: the server would take it over the call's own argument."""


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
    check_opt_str(instruction, "instruction")
    check_opt_str(output_dtype, "output_dtype")
    wire_items = items_wire(items, wire)
    merged: dict[str, Any] = dict(options or {})
    taken = sorted(set(merged) & _ARGUMENTS)
    if taken:
        raise ValueError(
            f"options may not set {', '.join(taken)}: the call's own arguments do (is_query=, output_types=, "
            "output_dtype=, instruction=; an adapter's embed_query and fields)"
        )
    if is_query:
        merged["is_query"] = True
    check_finite(merged, "options")
    params: dict[str, Any] = {"output_types": kinds}
    if instruction is not None:
        params["instruction"] = instruction
    if output_dtype is not None:
        params["output_dtype"] = output_dtype
    if merged:
        params["options"] = merged
    count, report = len(wire_items), ServerReport()
    return native_post(
        f"/v1/encode/{model_path(model)}",
        {"items": wire_items, "params": params},
        wire,
        lambda content, ctype: parse_encode(content, ctype, count, report),
        report,
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
            raise malformed("encode", f"{what} values are not numbers") from exc
        target = np.dtype(_JSON_DTYPES.get(str(dtype_label), np.float32))
        if target.kind in "iu" and array.size and not _fits(array, target):
            raise malformed("encode", f"{what} values do not fit {target}")
        array = array.astype(target, copy=False)
    else:
        raise malformed("encode", f"{what} values missing")
    if array.ndim != ndim:
        raise malformed("encode", f"{what} has {array.ndim} dimensions, expected {ndim}")
    return array


def parse_encode(
    content: bytes, content_type: str | None, expected: int, report: ServerReport | None = None
) -> list[EncodeResult]:
    """The results of an encode answer, each with the request's ``report`` (filled from the answer)."""
    body = decode_object(content, content_type, "encode")
    shared = heard(report if report is not None else ServerReport(), body)
    return [_encode_result(raw, shared) for raw in count_check("encode", body.get("items"), expected)]


def _encode_result(raw: Any, report: ServerReport) -> EncodeResult:
    if not isinstance(raw, Mapping):
        raise malformed("encode", "an item is not an object")
    dense, sparse, multi = raw.get("dense"), raw.get("sparse"), raw.get("multivector")
    item_id = raw.get("id")
    return EncodeResult(
        dense=_array(dense.get("values"), dense.get("dtype"), "dense", 1) if isinstance(dense, Mapping) else None,
        sparse=_sparse(sparse) if isinstance(sparse, Mapping) else None,
        multivector=_array(multi.get("values"), multi.get("dtype"), "multivector", 2)
        if isinstance(multi, Mapping)
        else None,
        id=item_id if isinstance(item_id, str) else None,
        report=report,
    )


def _sparse(raw: Mapping[str, Any]) -> SparseVector:
    indices = raw.get("indices")
    if isinstance(indices, list):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
            raise malformed("encode", "sparse indices are not a list of integers")  # int64 would truncate 1.5
        try:
            indices = np.asarray(indices, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise malformed("encode", "sparse indices are not integers") from exc
    if not isinstance(indices, np.ndarray) or indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise malformed("encode", "sparse indices are not a list of integers")
    values = _array(raw.get("values"), raw.get("dtype"), "sparse", 1)
    if len(values) != len(indices):
        raise malformed("encode", f"sparse vector has {len(indices)} indices and {len(values)} values")
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
    body = decode_object(content, content_type, "encode", arrays=False)
    items = count_check("encode", body.get("items"), expected)
    try:
        denses = [raw["dense"] for raw in items]
        values = [dense["values"] for dense in denses]
    except (KeyError, TypeError) as exc:
        raise malformed("encode", "an item has no dense vector") from exc
    if not values:
        return np.empty((0, 0), dtype=np.float32)
    if isinstance(values[0], dict):  # msgpack-numpy maps
        try:
            return stack_vector_maps(values)
        except WireFormatError as exc:
            raise malformed("encode", str(exc)) from exc
    labels = {str(dense.get("dtype")) for dense in denses}
    if len(labels) != 1:
        raise malformed("encode", "dense vectors of different dtypes")
    return _array(values, labels.pop(), "dense", 2)
