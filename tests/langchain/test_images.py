"""SIEEmbeddings.embed_image: images into the model's vector space, live on sie-fake-full (text + image input)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sie_integrations.langchain import SIEEmbeddings
from tests.support.images import BLUE, RED


def test_the_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    """A JPEG named .png is sent as jpeg (MockTransport: the request is what is checked)."""
    sent: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.extend(body["items"])
        return httpx.Response(
            200, json={"items": [{"dense": {"dims": 2, "dtype": "float32", "values": [1, 0]}}] * len(body["items"])}
        )

    misnamed = tmp_path / "photo.png"
    misnamed.write_bytes(BLUE.read_bytes())
    embeddings = SIEEmbeddings(
        model="m",
        base_url="https://sie.test",
        wire_format="json",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    assert embeddings.embed_image([str(misnamed)]) == [[1.0, 0.0]]
    assert [image["format"] for item in sent for image in item["images"]] == ["jpeg"]  # type: ignore[index, union-attr]


def test_a_bad_image_fails_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []
    embeddings = SIEEmbeddings(
        model="m",
        base_url="https://sie.test",
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))),
    )
    with pytest.raises(ValueError, match="image 1: no image file at"):
        embeddings.embed_image([str(RED), "missing.png"])
    with pytest.raises(ValueError, match="image 0 is not a PNG, JPEG"):
        embeddings.embed_image([b"GIF8 not really"])
    assert sent == []
