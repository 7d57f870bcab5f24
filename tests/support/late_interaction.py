"""What the late-interaction tests compare against: the token vectors the client gets, and MaxSim by hand."""

from __future__ import annotations

import numpy as np

from sie_integrations import SIEClient

MODEL = "sie-fake-full"
QUERY = "how do late interaction models score documents?"
TEXTS = [
    "ColBERT keeps one vector per token and scores with MaxSim.",
    "A bi-encoder pools each text into a single vector.",
    "Cross-encoders read the query and the document together.",
    "Qdrant stores multivectors and compares them with MaxSim.",
    "Paris is the capital of France.",
]


def token_vectors(url: str, texts: list[str], *, is_query: bool = False) -> list[np.ndarray]:
    """The multivectors the client itself gets for ``texts``: what every adapter must match."""
    with SIEClient(base_url=url) as client:
        results = client.encode(MODEL, texts, output_types=("multivector",), is_query=is_query)
    vectors = [r.multivector for r in results]
    assert all(v is not None for v in vectors)
    return vectors  # type: ignore[return-value]


def reference_scores(url: str, query: str, texts: list[str]) -> list[float]:
    """MaxSim, one query token at a time, on ``token_vectors``."""
    q = token_vectors(url, [query], is_query=True)[0]
    return [sum(max(float(np.dot(token, other)) for other in d) for token in q) for d in token_vectors(url, texts)]
