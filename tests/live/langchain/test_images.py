"""SIEEmbeddings.embed_image against the real peer: every image source, and a model without image input."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sie_integrations import Image, Item, SIEClient
from sie_integrations import errors as sie
from sie_integrations.langchain import SIEEmbeddings
from tests.support.images import ALL, BLUE, GREEN, RED, YELLOW


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


@pytest.mark.live
@pytest.mark.vcr
def test_a_model_without_image_input_answers_with_its_error_typed(sie_url: str) -> None:
    embeddings = SIEEmbeddings(model="sentence-transformers/all-MiniLM-L6-v2", base_url=sie_url)
    with pytest.raises(sie.RequestError, match="requires text input") as error:
        embeddings.embed_image([str(RED)])
    assert (error.value.status_code, error.value.code) == (400, "INVALID_INPUT")
