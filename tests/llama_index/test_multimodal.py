"""SIEMultiModalEmbedding: every image is read and checked before sending; a PIL image goes as PNG."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image as PILImage

from sie_integrations.llama_index import SIEMultiModalEmbedding
from tests.fakes.scripted import MockServer
from tests.fakes.sie import FakeSIE, vector_of
from tests.support.images import BLUE, GREEN, RED


def test_bad_images_fail_before_anything_is_sent() -> None:
    server = MockServer()
    embedding = SIEMultiModalEmbedding(model="m", **server.connection())
    with pytest.raises(ValueError, match="image 2: no image file at"):
        embedding.get_image_embedding_batch([str(RED), str(GREEN), "nope.png"])
    with pytest.raises(ValueError, match="is not a PNG, JPEG, GIF, WebP, BMP or TIFF image"):
        embedding.get_image_embedding(io.BytesIO(b"%PDF-1.7"))
    assert server.requests == []


def test_a_pil_image_is_sent_as_png_of_the_same_pixels() -> None:
    """Pillow's PNG bytes differ between its versions, so this one is checked on ``FakeSIE``, not recorded."""
    server = FakeSIE()
    embedding = SIEMultiModalEmbedding(model="m", wire_format="json", **server.connection())
    with PILImage.open(BLUE) as blue:
        assert embedding.get_image_embedding(blue) == vector_of("<1 images>")
        pixels = blue.convert("RGB").tobytes()
    (sent,) = [base64.b64decode(image["data"]) for item in server.bodies[0]["items"] for image in item["images"]]
    assert sent.startswith(b"\x89PNG")
    with PILImage.open(io.BytesIO(sent)) as received:
        assert received.convert("RGB").tobytes() == pixels
