"""SIEMultiModalEmbedding against the real peer: image sources, a MultiModalVectorStoreIndex, a typed error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from llama_index.core import Document
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.indices import MultiModalVectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index.core.schema import ImageDocument, ImageNode

from sie_integrations import Image, Item, SIEClient
from sie_integrations import errors as sie
from sie_integrations.llama_index import SIEMultiModalEmbedding
from tests.support.events import Dispatched
from tests.support.images import ALL, BLUE, GREEN, RED, YELLOW


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__([], [])
        self.chunks: list[list[str]] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: object,
    ) -> str:  # type: ignore[type-arg]
        return event_id

    def on_event_end(
        self, event_type: CBEventType, payload: dict | None = None, event_id: str = "", **kwargs: object
    ) -> None:  # type: ignore[type-arg]
        if event_type == CBEventType.EMBEDDING and payload and EventPayload.CHUNKS in payload:
            self.chunks.append(list(payload[EventPayload.CHUNKS]))

    def start_trace(self, trace_id: str | None = None) -> None:
        pass

    def end_trace(self, trace_id: str | None = None, trace_map: dict | None = None) -> None:  # type: ignore[type-arg]
        pass


def direct(url: str, texts: list[str] = ()) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[assignment]
    """What the client itself gets for the four images (and texts): the vectors every adapter result must equal."""
    formats = ["png", "png", "jpeg", "webp"]
    with SIEClient(base_url=url) as client:
        images = client.encode(
            "sie-fake-full", [Item(images=(Image(p.read_bytes(), f),)) for p, f in zip(ALL, formats, strict=True)]
        )
        words = client.encode("sie-fake-full", list(texts), is_query=True) if texts else []
    return np.stack([r.dense for r in images]), np.stack([r.dense for r in words]) if texts else np.empty((0, 384))


@pytest.mark.live
@pytest.mark.vcr
async def test_image_embeddings_from_paths_bytes_and_files(sie_url: str) -> None:
    events = Events()
    embedding = SIEMultiModalEmbedding(
        model="sie-fake-full", base_url=sie_url, embed_batch_size=3, callback_manager=CallbackManager([events])
    )
    assert isinstance(embedding, MultiModalEmbedding)
    images, _ = direct(sie_url)
    batch = embedding.get_image_embedding_batch([str(RED), GREEN, io.BytesIO(BLUE.read_bytes()), YELLOW.read_bytes()])
    np.testing.assert_allclose(np.array(batch), images, rtol=1e-6)
    assert events.chunks == [[str(RED), str(GREEN), "<BytesIO>"], ["<bytes>"]]  # paths named, bytes never logged
    one = embedding.get_image_embedding(YELLOW.read_bytes())
    np.testing.assert_allclose(one, images[3], rtol=1e-6)
    assert events.chunks[-1] == ["<bytes>"]
    np.testing.assert_allclose(embedding.get_image_embedding(str(GREEN)), images[1], rtol=1e-6)
    np.testing.assert_allclose(await embedding.aget_image_embedding(BLUE.read_bytes()), images[2], rtol=1e-6)
    events.chunks.clear()
    dispatched = Dispatched()
    get_dispatcher().add_event_handler(dispatched)
    try:
        batch = await embedding.aget_image_embedding_batch(
            [str(RED), GREEN, io.BytesIO(BLUE.read_bytes()), YELLOW.read_bytes()]
        )
    finally:
        get_dispatcher().event_handlers.remove(dispatched)
    np.testing.assert_allclose(np.array(batch), images, rtol=1e-6)
    assert sorted(e.chunks for e in dispatched.events if isinstance(e, EmbeddingEndEvent)) == sorted(events.chunks)
    assert sum(isinstance(e, EmbeddingStartEvent) for e in dispatched.events) == 2
    assert sorted(events.chunks) == sorted([[str(RED), str(GREEN), "<BytesIO>"], ["<bytes>"]])  # async: as sync


@pytest.mark.live
@pytest.mark.vcr
def test_index_images_and_texts_and_retrieve_by_text(sie_url: str) -> None:
    """MultiModalVectorStoreIndex with SIE as both models: each score is the cosine of the vectors SIE gives."""
    embedding = SIEMultiModalEmbedding(model="sie-fake-full", base_url=sie_url)
    images = [ImageDocument(image_path=str(p), metadata={"file_name": p.name}) for p in ALL]
    texts = [Document(text=t) for t in ["a red square", "a green circle", "a note on shapes"]]
    index = MultiModalVectorStoreIndex.from_documents(
        images + texts, embed_model=embedding, image_embed_model=embedding
    )
    retriever = index.as_retriever(similarity_top_k=2, image_similarity_top_k=2)
    found = retriever.retrieve("a red square")
    image_vectors, query = direct(sie_url, ["a red square"])
    cosine = image_vectors @ query[0] / (np.linalg.norm(image_vectors, axis=1) * np.linalg.norm(query[0]))
    best = np.argsort(-cosine)[:2]
    got_images = [(n.node.image_path, n.score) for n in found if isinstance(n.node, ImageNode)]
    assert [p for p, _ in got_images] == [str(ALL[i]) for i in best]
    assert [s for _, s in got_images] == pytest.approx([float(cosine[i]) for i in best], rel=1e-5)
    texts_found = [n.node.get_content() for n in found if not isinstance(n.node, ImageNode)]
    assert texts_found[0] == "a red square"  # the same text embeds to the same vector
    same = retriever.image_to_image_retrieve(str(RED))
    assert (
        isinstance(same[0].node, ImageNode)
        and same[0].node.image_path == str(RED)
        and same[0].score == pytest.approx(1.0)
    )


@pytest.mark.live
@pytest.mark.vcr
def test_a_model_without_image_input_is_a_typed_error(sie_url: str) -> None:
    embedding = SIEMultiModalEmbedding(model="sentence-transformers/all-MiniLM-L6-v2", base_url=sie_url)
    with pytest.raises(sie.RequestError, match="requires text input") as error:
        embedding.get_image_embedding(str(RED))
    assert error.value.code == "INVALID_INPUT"
