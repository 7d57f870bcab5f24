"""Images as encode inputs: read from a path, bytes or a PIL image, the format told by the bytes themselves."""

from __future__ import annotations

import base64
import binascii
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..types import Image, Item

MAX_IMAGE_BYTES = 16 * 1024 * 1024
"""The largest image the server takes (16 MiB decoded)."""

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview | Any
"""A path (or ``file://`` or ``data:`` URI), the file's bytes, a binary file object (``BytesIO``), or a PIL
image."""


def image_format(data: bytes) -> str | None:
    """The format the bytes start with (``"png"``, ``"jpeg"``, ``"gif"``, ``"webp"``, ``"bmp"``, ``"tiff"``: those
    the server reads), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _is_pil(source: Any) -> bool:
    return type(source).__module__.startswith("PIL.") and callable(getattr(source, "save", None))


def _pil_bytes(source: Any, what: str) -> bytes:
    """A PIL image as PNG (lossless, whatever it was loaded from); other modes as RGB or RGBA."""
    buffer = io.BytesIO()
    try:
        image = source
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image.save(buffer, format="PNG")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}: this PIL image (mode {source.mode!r}) cannot be sent as PNG: {exc}") from exc
    return buffer.getvalue()


def _data_uri(uri: str, what: str) -> bytes:
    header, _, payload = uri.partition(",")
    if not header.endswith(";base64"):
        raise ValueError(f"{what}: a data: URI must be base64 (data:image/png;base64,...)")
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{what}: the data: URI is not valid base64") from exc


def _read(source: str | os.PathLike[str], what: str) -> bytes:
    text = os.fspath(source)
    if text.startswith("data:"):
        return _data_uri(text, what)
    parsed = urlparse(text)
    if parsed.scheme in ("http", "https"):
        raise ValueError(f"{what}: {text!r} is a web address; images are not downloaded, pass a path or bytes")
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(text)
    size = _size(path, what)
    if size > MAX_IMAGE_BYTES:
        raise ValueError(f"{what}: {path} is {size:,} bytes; the server takes images up to {MAX_IMAGE_BYTES:,}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc


def _size(path: Path, what: str) -> int:
    try:
        if not path.is_file():
            raise ValueError(f"{what}: no image file at {path}")
        return path.stat().st_size
    except OSError as exc:
        raise ValueError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc


def load_image(source: ImageSource, what: str = "image") -> Image:
    """``source`` as an ``Image`` of checked bytes, its format detected from them, never from a file name.

    Raises ``ValueError`` for an unreadable, empty, unknown or oversized image, ``TypeError`` for
    anything that is not an image source.
    """
    if isinstance(source, Image):
        data = source.data
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read(source, what)
    elif _is_pil(source):
        data = _pil_bytes(source, what)
    elif isinstance(source, io.BytesIO):
        data = source.getvalue()
    elif callable(getattr(source, "read", None)):
        try:
            data = source.read()
        except UnicodeDecodeError:
            data = None
        if not isinstance(data, bytes):
            raise TypeError(f"{what}: the file object gave {type(data).__name__}, not bytes (open it with 'rb')")
    else:
        raise TypeError(f"{what} must be a path, bytes, a binary file or a PIL image, not {type(source).__name__}")
    if not data:
        raise ValueError(f"{what} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{what} is {len(data):,} bytes; the server takes images up to {MAX_IMAGE_BYTES:,}")
    found = image_format(data)
    if found is None:
        raise ValueError(f"{what} is not a PNG, JPEG, GIF, WebP, BMP or TIFF image (its first bytes are {data[:8]!r})")
    return Image(data=data, format=found)


def image_items(sources: Sequence[ImageSource]) -> list[Item]:
    """One item per image, every one loaded and checked before anything is sent."""
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError(f"images must be a list of paths, bytes or PIL images, not {type(sources).__name__}")
    return [Item(images=(load_image(source, f"image {i}"),)) for i, source in enumerate(sources)]


def image_label(source: ImageSource) -> str:
    """How an image is named in events and logs: its path, never its bytes."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        return text if not text.startswith("data:") else f"data URI ({len(text):,} characters)"
    return f"<{type(source).__name__}>"
