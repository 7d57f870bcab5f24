"""The sparse vectors of encode results, for the sparse encoders of both frameworks."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import EncodeResult, SparseVector

SPARSE = ("sparse",)
"""The ``output_types`` that ask for sparse vectors only."""


def sparse_vectors(results: Sequence[EncodeResult]) -> list[SparseVector]:
    """The sparse vector of each result, in order; ``ValueError`` when one has none."""
    vectors = []
    for result in results:
        if result.sparse is None:
            raise ValueError("the server returned no sparse vector for some inputs")
        vectors.append(result.sparse)
    return vectors
