"""SIEMultiModalEmbedding: images and texts in one space, live on sie-fake-full, and in MultiModalVectorStoreIndex."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image as PILImage

from sie_integrations.llama_index import SIEMultiModalEmbedding
from tests.support.images import BLUE, GREEN, RED


def test_bad_images_fail_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []
    embedding = SIEMultiModalEmbedding(
        model="m",
        base_url="https://sie.test",
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))),
    )
    with pytest.raises(ValueError, match="image 2: no image file at"):
        embedding.get_image_embedding_batch([str(RED), str(GREEN), "nope.png"])
    with pytest.raises(ValueError, match="is not a PNG, JPEG, GIF, WebP, BMP or TIFF image"):
        embedding.get_image_embedding(io.BytesIO(b"%PDF-1.7"))
    assert sent == []


def test_a_pil_image_is_sent_as_png_of_the_same_pixels() -> None:
    """Pillow's PNG bytes differ between its versions, so this one is checked on a MockTransport, not recorded."""
    sent: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        sent.extend(base64.b64decode(image["data"]) for item in items for image in item["images"])
        return httpx.Response(
            200, json={"items": [{"dense": {"dims": 2, "dtype": "float32", "values": [0, 1]}}] * len(items)}
        )

    embedding = SIEMultiModalEmbedding(
        model="m",
        base_url="https://sie.test",
        wire_format="json",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    with PILImage.open(BLUE) as blue:
        assert embedding.get_image_embedding(blue) == [0.0, 1.0]
        pixels = blue.convert("RGB").tobytes()
    assert sent[0].startswith(b"\x89PNG")
    with PILImage.open(io.BytesIO(sent[0])) as received:
        assert received.convert("RGB").tobytes() == pixels
