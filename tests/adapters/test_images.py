"""Image inputs: read from paths, bytes, file objects and PIL images; the format told by the bytes; clear errors."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image as PILImage

from sie_integrations._adapters.images import MAX_IMAGE_BYTES, image_format, image_items, image_label, load_image
from sie_integrations.types import Image, Item
from tests.support.images import RED

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF"}


def encoded(fmt: str, size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (200, 30, 30)).save(buffer, format=PIL_FORMATS[fmt])
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", sorted(PIL_FORMATS))
def test_each_format_is_told_by_its_bytes(fmt: str) -> None:
    assert image_format(encoded(fmt)) == fmt
    assert load_image(encoded(fmt)) == Image(encoded(fmt), fmt)


def test_a_file_name_never_decides_the_format(tmp_path: Path) -> None:
    misnamed = tmp_path / "photo.jpg"
    misnamed.write_bytes(encoded("png"))
    assert load_image(misnamed).format == "png"
    assert load_image(str(misnamed)).format == "png"
    assert load_image(misnamed.as_uri()).format == "png"


def test_file_objects_data_uris_and_pil_images() -> None:
    png = encoded("png")
    assert load_image(io.BytesIO(png)).data == png
    assert load_image(memoryview(png)).data == png
    assert load_image("data:image/png;base64," + base64.b64encode(png).decode()).data == png
    from_pil = load_image(PILImage.open(io.BytesIO(encoded("jpeg"))))
    assert from_pil.format == "png"  # re-encoded losslessly
    assert PILImage.open(io.BytesIO(from_pil.data)).size == (4, 4)
    for mode in ("CMYK", "I", "F", "I;16", "YCbCr"):
        converted = load_image(PILImage.new(mode, (2, 2)))
        assert converted.format == "png", mode
        assert PILImage.open(io.BytesIO(converted.data)).size == (2, 2)
    with pytest.raises(ValueError, match="image: this PIL image \\(mode 'La'\\) cannot be sent as PNG"):
        load_image(PILImage.new("La", (2, 2)))


def test_what_cannot_be_an_image_fails_before_sending(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"image 1 is not a PNG, JPEG, GIF, WebP, BMP or TIFF image.*b'not an i'"):
        image_items([encoded("png"), text])
    with pytest.raises(ValueError, match=r"no image file at .*missing\.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="no image file at"):
        load_image(tmp_path)
    with pytest.raises(ValueError, match="is empty"):
        load_image(b"")
    with pytest.raises(ValueError, match="web address; images are not downloaded"):
        load_image("https://example.com/cat.png")
    with pytest.raises(ValueError, match="must be base64"):
        load_image("data:image/png,rawbytes")
    with pytest.raises(ValueError, match="not valid base64"):
        load_image("data:image/png;base64,@@@")
    with pytest.raises(TypeError, match="must be a path, bytes, a binary file or a PIL image, not int"):
        load_image(3)
    with pytest.raises(TypeError, match="gave str, not bytes"):
        load_image(io.StringIO("text"))
    red = RED
    with open(red, encoding="utf-8") as text_mode, pytest.raises(TypeError, match="open it with 'rb'"):
        load_image(text_mode)
    with pytest.raises(TypeError, match="a list of paths"):
        image_items("cat.png")  # type: ignore[arg-type]


def test_an_image_over_the_server_limit_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:
        f.write(encoded("png"))
        f.truncate(MAX_IMAGE_BYTES + 1)  # sparse: nothing this size is written or read
    with pytest.raises(ValueError, match="is 16,777,217 bytes; the server takes images up to 16,777,216"):
        load_image(huge)
    with pytest.raises(ValueError, match="is 16,777,217 bytes"):
        load_image(encoded("png") + b"\0" * (MAX_IMAGE_BYTES + 1 - len(encoded("png"))))


def test_items_and_labels() -> None:
    items = image_items([encoded("gif"), Image(encoded("bmp"))])
    assert items == [Item(images=(Image(encoded("gif"), "gif"),)), Item(images=(Image(encoded("bmp"), "bmp"),))]
    assert image_label("cats/1.png") == "cats/1.png"
    assert image_label(io.BytesIO(b"x")) == "<BytesIO>"
    assert image_label("data:image/png;base64,AAAA") == "data URI (26 characters)"
