"""Items on the wire: validation, images, and the empty-list rule."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from ..types import Item, ItemLike
from .call import WireFormat


def item_wire(item: ItemLike, position: int, wire: WireFormat, what: str | None = None) -> dict[str, Any]:
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
    if item.document is not None:
        data = item.document.data
        out["document"] = {
            "data": data if wire == "msgpack" else base64.b64encode(data).decode("ascii"),
            "format": item.document.format,
        }
    if item.metadata:
        out["metadata"] = item.metadata
    if "text" not in out and "images" not in out and "document" not in out:
        raise ValueError(f"{what} has neither text, images nor a document")
    return out


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
            item_wire(item, i, "msgpack")
    return False


def items_wire(items: Sequence[ItemLike], wire: WireFormat) -> list[dict[str, Any]]:
    no_items(items)
    return [item_wire(item, i, wire) for i, item in enumerate(items)]
