"""``/v1/extract``: entities, relations, classifications and objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ..errors import SIEError
from ..types import Classification, DetectedObject, Entity, ExtractResult, ItemLike, Relation, ServerReport
from .answers import count_check, decode_object, malformed
from .call import Call, WireFormat, check_finite, check_opt_str, model_path, native_post
from .error_mapping import ErrorInfo, error_class
from .items import items_wire
from .reports import heard

T = TypeVar("T")


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
    check_opt_str(instruction, "instruction")
    wire_items = items_wire(items, wire)
    params: dict[str, Any] = {}
    if labels is not None:
        if isinstance(labels, str) or not all(isinstance(label, str) and label for label in labels):
            raise TypeError("labels must be a list of non-empty strings")
        params["labels"] = list(labels)
    if output_schema is not None:
        check_finite(dict(output_schema), "output_schema")
        params["output_schema"] = dict(output_schema)
    if instruction is not None:
        params["instruction"] = instruction
    if options:
        check_finite(dict(options), "options")
        params["options"] = dict(options)
    body = {"items": wire_items, "params": params} if params else {"items": wire_items}
    count = len(wire_items)
    path = f"/v1/extract/{model_path(model)}"
    report = ServerReport()
    return native_post(path, body, wire, lambda raw, ctype: parse_extract(raw, ctype, count, report), report)


def _records(raw: Any, build: Callable[[Mapping[str, Any]], T], what: str) -> list[T]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise malformed("extract", f"{what} is not a list of objects")
    try:
        return [build(r) for r in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise malformed("extract", f"bad {what} entry: {exc}") from exc


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else None


def _bbox(value: Any) -> list[float] | None:
    return [float(v) for v in value] if isinstance(value, (list, np.ndarray)) else None


def parse_extract(
    content: bytes, content_type: str | None, expected: int, report: ServerReport | None = None
) -> list[ExtractResult]:
    """The results of an extract answer, each with the request's ``report`` (filled from the answer)."""
    body = decode_object(content, content_type, "extract")
    shared = heard(report if report is not None else ServerReport(), body)
    results = []
    for position, raw in enumerate(count_check("extract", body.get("items"), expected)):
        if not isinstance(raw, Mapping):
            raise malformed("extract", "an item is not an object")
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
                report=shared,
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


def located(error: SIEError, position: int) -> SIEError:
    """An ``item_error`` of one request, naming the item at ``position`` in the input the request came from."""
    old = f"item {error.item_index} "
    if error.message.startswith(old):
        error.message = f"item {position} " + error.message[len(old) :]
        error.args = (error.message,)
    error.item_index = position
    return error
