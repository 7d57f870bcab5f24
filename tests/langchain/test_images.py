"""SIEEmbeddings.embed_image: images into the model's vector space, live on sie-fake-full (text + image input)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from sie_integrations import Image, Item, SIEClient
from sie_integrations import errors as sie
from sie_integrations.langchain import SIEEmbeddings
from tests.images import ALL, BLUE, GREEN, RED, YELLOW


@pytest.mark.live
@pytest.mark.vcr
async def test_images_from_paths_uris_and_bytes_embed_as_the_client_sends_them(sie_url: str) -> None:
    """The fake's vectors mean nothing; each must equal the one the client gets for the same bytes, in order."""
    embeddings = SIEEmbeddings(model="sie-fake-full", base_url=sie_url, batch_size=3)
    vectors = embeddings.embed_image([str(RED), GREEN.as_uri(), BLUE.read_bytes(), io.BytesIO(YELLOW.read_bytes())])
    assert [len(v) for v in vectors] == [384] * 4
    with SIEClient(base_url=sie_url) as client:
        direct = client.encode(
            "sie-fake-full",
            [
                Item(images=(Image(p.read_bytes(), fmt),))
                for p, fmt in zip(ALL, ["png", "png", "jpeg", "webp"], strict=True)
            ],
        )
    np.testing.assert_allclose(np.array(vectors), np.stack([r.dense for r in direct]), rtol=1e-6)
    assert len({tuple(v) for v in vectors}) == 4  # four images, four vectors
    assert await embeddings.aembed_image([str(p) for p in ALL]) == vectors
    text = embeddings.embed_documents(["a red square"])[0]
    assert text != vectors[0]  # texts and images land in one space, as different inputs


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


@pytest.mark.live
@pytest.mark.vcr
def test_a_model_without_image_input_answers_with_its_error_typed(sie_url: str) -> None:
    embeddings = SIEEmbeddings(model="sentence-transformers/all-MiniLM-L6-v2", base_url=sie_url)
    with pytest.raises(sie.RequestError, match="requires text input") as error:
        embeddings.embed_image([str(RED)])
    assert (error.value.status_code, error.value.code) == (400, "INVALID_INPUT")
