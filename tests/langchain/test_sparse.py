"""SIESparseEncoder against FakeSIE: Pinecone's ``{"indices", "values"}`` dicts, and langchain-qdrant's
``SparseEmbeddings`` (``SIEQdrantSparseEmbeddings``), sync and native async, in a hybrid ``QdrantVectorStore``."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zlib

import httpx
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings, SparseVector

from sie_integrations.langchain import SIEEmbeddings, SIEQdrantSparseEmbeddings, SIESparseEncoder
from tests.fakes.sie import FakeSIE

TEXTS = ["Paris has mild summers.", "Bananas are rich in potassium.", "The Eiffel Tower is in Paris."]


def word_ids(text: str) -> tuple[list[int], list[float]]:
    """A text's sparse vector: one id per word (its crc32 in a 30,522-word vocabulary), each weighing 1."""
    ids = sorted({zlib.crc32(word.strip(".?").lower().encode()) % 30522 for word in text.split()})
    return ids, [1.0] * len(ids)


def topic(text: str) -> list[float]:
    """A text's dense vector: does it speak of Paris, of bananas."""
    return [float("paris" in text.lower()), float("banana" in text.lower()), 0.1]


def refused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the sync client was used: {request.url}")


def test_sparse_encoder_returns_pinecone_shape() -> None:
    recorder = FakeSIE(sparse=lambda text: ([1, 5], [0.5, 0.25]))
    enc = SIESparseEncoder(model="m", base_url="http://sie.test", http_client=recorder.client())
    assert enc.encode_documents("x") == {"indices": [1, 5], "values": [0.5, 0.25]}
    assert enc.encode_queries(["x", "y"]) == [{"indices": [1, 5], "values": [0.5, 0.25]}] * 2
    assert recorder.bodies[1]["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}


def test_qdrant_class_is_langchain_qdrant_sparse_embeddings() -> None:
    recorder = FakeSIE(sparse=word_ids)
    sparse = SIEQdrantSparseEmbeddings(model="m", batch_size=2, max_concurrency=2, **recorder.connection())
    assert isinstance(sparse, SparseEmbeddings) and isinstance(sparse, SIESparseEncoder)
    vectors = sparse.embed_documents(TEXTS)
    assert all(isinstance(v, SparseVector) for v in vectors)
    assert [(v.indices, v.values) for v in vectors] == [word_ids(t) for t in TEXTS]
    assert all(isinstance(i, int) for v in vectors for i in v.indices)
    assert sorted(map(len, recorder.encode_batches)) == [1, 2]
    assert all(b["params"] == {"output_types": ["sparse"]} for b in recorder.bodies)
    query = sparse.embed_query("Paris?")
    assert (query.indices, query.values) == word_ids("Paris?")
    assert recorder.bodies[-1]["params"] == {"output_types": ["sparse"], "options": {"is_query": True}}
    assert sparse.embed_documents([]) == []
    assert len(recorder.bodies) == 3
    assert sparse.encode_documents("Paris?") == dict(zip(("indices", "values"), word_ids("Paris?"), strict=True))


async def test_async_methods_are_native() -> None:
    """``aembed_*`` send on the event loop: not langchain-qdrant's default, ``embed_*`` in a thread."""
    recorder = FakeSIE(sparse=word_ids)
    sparse = SIEQdrantSparseEmbeddings(
        model="m",
        base_url="http://sie.test",
        http_client=httpx.Client(transport=httpx.MockTransport(refused)),
        http_async_client=recorder.async_client(),
    )
    vectors = await sparse.aembed_documents(TEXTS)
    assert [(v.indices, v.values) for v in vectors] == [word_ids(t) for t in TEXTS]
    query = await sparse.aembed_query("bananas")
    assert isinstance(query, SparseVector) and query.indices == word_ids("bananas")[0]
    assert recorder.bodies[-1]["params"]["options"] == {"is_query": True}


def test_the_sparse_encoder_fills_a_hybrid_qdrant_store() -> None:
    """The reported failure: ``'SIESparseEncoder' object has no attribute 'embed_documents'``."""
    recorder = FakeSIE(vector=topic, sparse=word_ids)
    for sparse in (
        SIEQdrantSparseEmbeddings(model="splade", **recorder.connection()),
        SIESparseEncoder(model="splade", **recorder.connection()),  # langchain-qdrant only calls its methods
    ):
        store = QdrantVectorStore.from_texts(
            TEXTS,
            embedding=SIEEmbeddings(model="dense", **recorder.connection()),
            sparse_embedding=sparse,
            retrieval_mode=RetrievalMode.HYBRID,
            location=":memory:",
            collection_name="sie",
        )
        hits = store.similarity_search("bananas", k=1)
        assert [h.page_content for h in hits] == ["Bananas are rich in potassium."]
    assert {r.url.path for r in recorder.requests} == {"/v1/encode/dense", "/v1/encode/splade"}


def test_qdrant_class_pickles() -> None:
    sparse = SIEQdrantSparseEmbeddings(model="m", base_url="http://sie.test", batch_size=7)
    copy = pickle.loads(pickle.dumps(sparse))
    assert type(copy) is SIEQdrantSparseEmbeddings and copy.batch_size == 7


def test_without_langchain_qdrant_only_its_methods_fail_naming_the_extra() -> None:
    """langchain-qdrant is the optional ``[qdrant]`` extra: the encoder imports and sends dicts without it."""
    code = (
        "import sys\n"
        "import sie_integrations.langchain.sparse as sparse\n"
        "print('langchain_qdrant' in sys.modules)\n"
        "sys.modules['langchain_qdrant'] = None\n"
        "from sie_integrations.langchain import SIESparseEncoder\n"
        "encoder = SIESparseEncoder(model='m', base_url='http://127.0.0.1:9')\n"
        "import sie_integrations.langchain as lc\n"
        "for call in (lambda: encoder.embed_query('x'), lambda: lc.SIEQdrantSparseEmbeddings):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "False"
    assert len(lines) == 3
    assert all("pip install 'sie-integrations[qdrant]'" in line for line in lines[1:])
