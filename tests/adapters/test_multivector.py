"""MaxSim on the client: equal to a plain reference on the same vectors; rankings and malformed answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sie_integrations._adapters.multivector import maxsim, maxsim_ranking, multivectors
from sie_integrations.errors import RequestError
from sie_integrations.types import EncodeResult


def reference(query: np.ndarray, document: np.ndarray) -> float:
    """MaxSim as the ColBERT paper writes it, one token at a time."""
    total = 0.0
    for q in query:
        total += max(float(np.dot(q, d)) for d in document)
    return total


@given(
    st.integers(1, 6),
    st.lists(st.integers(1, 9), min_size=1, max_size=5),
    st.integers(1, 16),
    st.integers(0, 2**32 - 1),
)
def test_maxsim_equals_the_reference(query_tokens: int, doc_tokens: list[int], dims: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((query_tokens, dims)).astype(np.float32)
    documents = [rng.standard_normal((n, dims)).astype(np.float32) for n in doc_tokens]
    got = maxsim(query, documents)
    assert got == pytest.approx([reference(query, d) for d in documents], rel=1e-5, abs=1e-5)


def test_maxsim_reads_float16_and_orders_best_first() -> None:
    query = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float16)
    documents = [
        np.array([[1.0, 0.0]], dtype=np.float16),  # matches one query token: 1 + 0
        np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float16),  # matches both: 2
        np.array([[-1.0, -1.0]], dtype=np.float16),  # matches neither: -2
    ]
    assert maxsim(query, documents) == [1.0, 2.0, -2.0]
    assert [(r.index, r.score) for r in maxsim_ranking(query, documents, None)] == [(1, 2.0), (0, 1.0), (2, -2.0)]
    assert [r.index for r in maxsim_ranking(query, documents, 2)] == [1, 0]
    tied = [np.array([[0.5, 0.0]]), np.array([[0.5, 0.0]]), np.array([[0.9, 0.0]])]
    assert [r.index for r in maxsim_ranking(np.array([[1.0, 0.0]]), tied, -1)] == [2, 0, 1]  # ties keep their order


def test_maxsim_refuses_vectors_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="document 1 has shape \\(2, 3\\); the query's token vectors have 2 dims"):
        maxsim(np.ones((1, 2)), [np.ones((1, 2)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="the query must be a \\(tokens, dims\\) matrix"):
        maxsim(np.ones(2), [np.ones((1, 2))])
    assert maxsim(np.ones((1, 2)), [np.ones((0, 2))]) == [0.0]


def test_an_answer_without_multivectors_is_malformed() -> None:
    good = EncodeResult(multivector=np.ones((3, 4), dtype=np.float32))
    assert multivectors([good])[0].shape == (3, 4)
    with pytest.raises(RequestError, match="item 1 has no multivector") as error:
        multivectors([good, EncodeResult(dense=np.ones(4))])
    assert error.value.code == "MALFORMED_RESPONSE"
