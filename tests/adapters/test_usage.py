"""Sparse vectors and token counts, read the same way by both frameworks (``_adapters/sparse.py``, ``usage.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from sie_integrations._adapters.sparse import sparse_vectors
from sie_integrations._adapters.usage import cached_tokens, reasoning_tokens, total_tokens
from sie_integrations.chat import ChatUsage
from sie_integrations.types import (
    EncodeResult,
    SparseVector,
)


def test_sparse_vectors_refuse_a_result_without_one() -> None:
    vector = SparseVector(indices=np.array([3]), values=np.array([0.5]))
    assert sparse_vectors([EncodeResult(sparse=vector)]) == [vector]
    with pytest.raises(ValueError, match="no sparse vector"):
        sparse_vectors([EncodeResult(sparse=vector), EncodeResult()])


def test_total_tokens_falls_back_to_prompt_plus_completion() -> None:
    assert total_tokens(ChatUsage(prompt_tokens=7, completion_tokens=3, total_tokens=12)) == 12
    assert total_tokens(ChatUsage(prompt_tokens=7, completion_tokens=3)) == 10


def test_cached_and_reasoning_tokens_only_when_counted() -> None:
    usage = ChatUsage(prompt_tokens_details={"cached_tokens": 4}, completion_tokens_details={"reasoning_tokens": 2})
    assert (cached_tokens(usage), reasoning_tokens(usage)) == (4, 2)
    assert (cached_tokens(ChatUsage()), reasoning_tokens(ChatUsage())) == (None, None)
    odd = ChatUsage(prompt_tokens_details={"cached_tokens": "4"}, completion_tokens_details={"other": 1})
    assert (cached_tokens(odd), reasoning_tokens(odd)) == (None, None)
