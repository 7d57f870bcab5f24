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


def reference_scores(url: str, query: str, texts: list[str]) -> list[float]:
    """MaxSim, one query token at a time, on the vectors the client itself gets: what every adapter must match."""
    with SIEClient(base_url=url) as client:
        q = client.encode(MODEL, [query], output_types=("multivector",), is_query=True)[0].multivector
        docs = [r.multivector for r in client.encode(MODEL, texts, output_types=("multivector",))]
    assert q is not None
    scores = []
    for d in docs:
        assert d is not None
        scores.append(sum(max(float(np.dot(token, other)) for other in d) for token in q))
    return scores
