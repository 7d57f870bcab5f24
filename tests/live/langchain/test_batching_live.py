"""Length-aware batching on the real server: the same vectors as batches sent in input order."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sie_integrations import SIEClient
from sie_integrations.langchain import SIEEmbeddings
from tests.support.live import LIVE_API_KEY, MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

LENGTHS = random.Random(3).choices((4, 8, 60, 120), k=40)
TEXTS = [" ".join(f"token{(i + j) % 50}" for j in range(n)) for i, n in enumerate(LENGTHS)]


def in_input_order(client: SIEClient, model: str, size: int) -> np.ndarray:
    return np.concatenate([client.encode_dense(model, TEXTS[i : i + size]) for i in range(0, len(TEXTS), size)])


def test_a_fake_model_gives_the_same_vectors_bit_for_bit(client: SIEClient, sie_url: str) -> None:
    embeddings = SIEEmbeddings(model="sie-fake", base_url=sie_url, api_key=LIVE_API_KEY, batch_size=8)
    assert np.array_equal(embeddings.embed_documents_array(TEXTS), in_input_order(client, "sie-fake", 8))


def test_the_real_model_gives_the_same_vectors_up_to_padding_noise(client: SIEClient, sie_url: str) -> None:
    """A padded model's numbers move in the last bits with a batch's padded length, grouped by length or not."""
    embeddings = SIEEmbeddings(model=MINILM, base_url=sie_url, api_key=LIVE_API_KEY, batch_size=8)
    ours, theirs = embeddings.embed_documents_array(TEXTS), in_input_order(client, MINILM, 8)
    assert np.abs(ours - theirs).max() < 1e-6
    assert np.allclose(np.sum(ours * theirs, axis=1), 1.0, atol=1e-6)


SHORT = [f"short text number {i}" for i in range(512)]


def test_the_adaptive_default_returns_every_vector_as_a_pinned_limit_does(
    client: SIEClient, sie_url: str, sleeps: list[float]
) -> None:
    """32 batches with the default limit, which changes while they are in flight: nothing lost, nothing out of
    place, and the limit stays within its bounds (refusals and their waits are tested on MockTransport)."""
    adaptive = SIEEmbeddings(model="sie-fake", base_url=sie_url, api_key=LIVE_API_KEY, batch_size=16)
    pinned = SIEEmbeddings(model="sie-fake", base_url=sie_url, api_key=LIVE_API_KEY, batch_size=16, max_concurrency=1)
    assert adaptive.max_concurrency is None
    assert np.array_equal(adaptive.embed_documents_array(SHORT), pinned.embed_documents_array(SHORT))
    assert 1 <= adaptive._adaptive.value <= adaptive._adaptive.cap
