"""SIEEmbeddings.embed_image: every image is read and checked before sending, its format told by its bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sie_integrations.langchain import SIEEmbeddings
from tests.fakes.scripted import MockServer
from tests.fakes.sie import FakeSIE, vector_of
from tests.support.images import BLUE, RED


def test_the_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    """A JPEG named .png is sent as jpeg (the request is what is checked)."""
    server = FakeSIE()
    misnamed = tmp_path / "photo.png"
    misnamed.write_bytes(BLUE.read_bytes())
    embeddings = SIEEmbeddings(model="m", wire_format="json", **server.connection())
    assert embeddings.embed_image([str(misnamed)]) == [vector_of("<1 images>")]
    assert [image["format"] for body in server.bodies for item in body["items"] for image in item["images"]] == ["jpeg"]


def test_a_bad_image_fails_before_anything_is_sent() -> None:
    server = MockServer()
    embeddings = SIEEmbeddings(model="m", **server.connection())
    with pytest.raises(ValueError, match="image 1: no image file at"):
        embeddings.embed_image([str(RED), "missing.png"])
    with pytest.raises(ValueError, match="image 0 is not a PNG, JPEG"):
        embeddings.embed_image([b"GIF8 not really"])
    assert server.requests == []
