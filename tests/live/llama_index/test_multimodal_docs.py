"""The code path of docs/llama-index/multimodal.md's example against the real peer (sie-fake-full takes images),
replayed from cassettes by default: image documents with metadata are sent as images and found; without text or
metadata, llama-index-core drops them before anything is sent, which is why the example gives them metadata.
The committed test images stand in for the example's drawn ones, whose PNG bytes change with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core import Document
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.schema import ImageDocument, ImageNode, TextNode

from sie_integrations.llama_index import SIEMultiModalEmbedding
from tests.support.images import BLUE, RED
from tests.support.live import LIVE_API_KEY
from tests.support.sent import Sent

pytestmark = [pytest.mark.live, pytest.mark.vcr]

TEXTS = ["A red square on white.", "Notes on colour theory."]


def index_of(images: list[ImageDocument], embedding: SIEMultiModalEmbedding) -> MultiModalVectorStoreIndex:
    """As the docs build it: images and texts, SIE as both the text and the image model."""
    return MultiModalVectorStoreIndex.from_documents(
        images + [Document(text=text) for text in TEXTS], embed_model=embedding, image_embed_model=embedding
    )


def test_the_docs_example_finds_an_image(sie_url: str) -> None:
    sent = Sent()
    embedding = SIEMultiModalEmbedding(
        model="sie-fake-full", base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection()
    )
    images = [ImageDocument(image_path=str(p), metadata={"file_name": p.name}) for p in (RED, BLUE)]
    index = index_of(images, embedding)
    assert sorted(text for texts in sent.encoded() for text in texts) == sorted([*TEXTS, "<1 images>", "<1 images>"])
    retriever = index.as_retriever(similarity_top_k=1, image_similarity_top_k=1)
    found = retriever.retrieve("a red square")
    (image,) = [hit for hit in found if isinstance(hit.node, ImageNode)]
    (text,) = [hit for hit in found if not isinstance(hit.node, ImageNode) and isinstance(hit.node, TextNode)]
    assert text.node.get_content() in TEXTS
    vectors = np.array(embedding.get_image_embedding_batch([str(RED), str(BLUE)]))
    query = np.array(embedding.get_query_embedding("a red square"))
    cosine = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    best = int(np.argmax(cosine))
    assert image.node.image_path == str((RED, BLUE)[best])  # type: ignore[attr-defined]
    assert image.score == pytest.approx(float(cosine[best]), rel=1e-5)


def test_image_documents_without_metadata_are_dropped_before_sending(
    sie_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = Sent()
    embedding = SIEMultiModalEmbedding(
        model="sie-fake-full", base_url=sie_url, api_key=LIVE_API_KEY, **sent.connection()
    )
    index = index_of([ImageDocument(image_path=str(p)) for p in (RED, BLUE)], embedding)
    assert "Some nodes are missing content, skipping them" in capsys.readouterr().out
    assert sorted(text for texts in sent.encoded() for text in texts) == sorted(TEXTS)  # no image sent
    found = index.as_retriever(similarity_top_k=1, image_similarity_top_k=1).retrieve("a red square")
    assert [type(hit.node).__name__ for hit in found] == ["TextNode"]
