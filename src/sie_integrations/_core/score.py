"""``/v1/score``: reranking items against a query."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import ItemLike, ScoreEntry, ServerReport
from .answers import count_check, decode_object, malformed
from .call import Call, WireFormat, check_finite, check_opt_str, model_path, native_post
from .items import item_wire, items_wire
from .reports import heard


def score_call(
    model: str,
    query: ItemLike,
    items: Sequence[ItemLike],
    *,
    instruction: str | None,
    options: Mapping[str, Any] | None,
    wire: WireFormat,
) -> Call[list[ScoreEntry]]:
    check_opt_str(instruction, "instruction")
    wire_items = items_wire(items, wire)
    body: dict[str, Any] = {"query": item_wire(query, 0, wire, "query")}
    body["items"] = wire_items
    if instruction is not None:
        body["instruction"] = instruction
    if options:
        check_finite(dict(options), "options")
        body["options"] = dict(options)
    positions: dict[str, int] = {}
    for i, item in enumerate(wire_items):
        item_id = item.get("id", f"item-{i}")
        if item_id in positions:
            raise ValueError(f"items {positions[item_id]} and {i} share the id {item_id!r}")
        positions[item_id] = i
    path = f"/v1/score/{model_path(model)}"
    report = ServerReport()
    return native_post(path, body, wire, lambda raw, ctype: parse_score(raw, ctype, positions, report), report)


def parse_score(
    content: bytes, content_type: str | None, positions: Mapping[str, int], report: ServerReport | None = None
) -> list[ScoreEntry]:
    """The entries of a score answer, best first, each with the request's ``report`` (filled from the answer)."""
    body = decode_object(content, content_type, "score")
    shared = heard(report if report is not None else ServerReport(), body)
    entries: list[ScoreEntry] = []
    seen: set[int] = set()
    for rank, raw in enumerate(count_check("score", body.get("scores"), len(positions))):
        if not isinstance(raw, Mapping):
            raise malformed("score", "an entry is not an object")
        item_id, score = raw.get("item_id"), raw.get("score")
        index = positions.get(item_id) if isinstance(item_id, str) else None
        if index is None or index in seen:
            raise malformed("score", f"unknown or repeated item_id {item_id!r}")
        if not isinstance(score, (int, float)) or isinstance(score, bool):
            raise malformed("score", f"score of {item_id!r} is not a number")
        if not math.isfinite(score):
            raise malformed("score", f"score of {item_id!r} is not finite ({score!r})")
        seen.add(index)
        server_rank = raw.get("rank")
        entries.append(
            ScoreEntry(
                index=index,
                score=float(score),
                rank=server_rank if isinstance(server_rank, int) else rank,
                item_id=item_id,  # type: ignore[arg-type]  # checked through positions
                report=shared,
            )
        )
    entries.sort(key=lambda e: (e.rank, -e.score))
    return entries
